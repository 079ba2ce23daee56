"""The course builder's rules: publishing, copies, the trash, stale edits, lessons and their health."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from chronos_data import courses, videos
from chronos_data.db import Database, Workspace
from chronos_data.errors import NotFound, StaleEdit, ValidationError
from tests.conftest import new_creator


def _video(t: Workspace, title: str = "Intro", *, status: str = "completed", minutes: int | None = 5) -> uuid.UUID:
    source_id = uuid.uuid4().hex[:11]
    video = videos.create_video(t, title=title, source_type="youtube", source_id=source_id,
                                duration_seconds=None if minutes is None else minutes * 60)
    if status == "failed":
        videos.set_status(t, video, "failed", "captions are disabled")
    elif status != "pending":
        videos.set_status(t, video, status)
    return video


def _course_with_lessons(t: Workspace, *lesson_counts: int) -> tuple[uuid.UUID, list[uuid.UUID], list[list[uuid.UUID]]]:
    course = courses.create_course(t, "Python basics", "Learn Python")
    modules, lessons = [], []
    for m, count in enumerate(lesson_counts, start=1):
        module = courses.create_module(t, course, f"Week {m}")
        modules.append(module)
        lessons.append([courses.add_lesson(t, module, _video(t, f"W{m} L{i}")) for i in range(1, count + 1)])
    return course, modules, lessons


def _titles(t: Workspace, module: uuid.UUID) -> list[str]:
    return [lesson.title for lesson in courses.list_lessons(t, module)]


def _orders(t: Workspace, module: uuid.UUID) -> list[int]:
    return [lesson.lesson_order for lesson in courses.list_lessons(t, module)]


# --- publishing --------------------------------------------------------------------------------


def test_a_course_without_lessons_cannot_be_published(t):
    course = courses.create_course(t, "Empty")
    courses.create_module(t, course, "Week 1")
    with pytest.raises(ValidationError) as refused:
        courses.publish_course(t, course)
    assert str(refused.value) == (
        "A course needs at least one lesson before it can be published; add a video to one of its modules.")
    assert courses.get_course(t, course).is_published is False


def test_the_checklist_names_each_problem_with_the_ids_to_fix_it(t):
    course = courses.create_course(t, "C")
    empty = courses.create_module(t, course, "Empty")
    assert [p.kind for p in courses.publish_checklist(t, course)] == ["no_lessons", "empty_module"]
    module = courses.create_module(t, course, "Basics")
    failed = _video(t, "Broken", status="failed")
    lesson = courses.add_lesson(t, module, failed)

    checklist = courses.publish_checklist(t, course)

    assert [(p.kind, p.module_id, p.lesson_id, p.video_id) for p in checklist] == [
        ("empty_module", empty, None, None), ("video_failed", module, lesson, failed)]
    assert not any(p.blocks for p in checklist)


def test_a_course_with_problems_publishes_only_when_they_were_accepted(t):
    course, modules, _ = _course_with_lessons(t, 1)
    busy = _video(t, "Busy", status="transcribing")
    courses.add_lesson(t, modules[0], busy)
    with pytest.raises(ValidationError, match="still processing"):
        courses.publish_course(t, course)
    seen = courses.publish_checklist(t, course)
    # A problem the creator never saw (a video failed after the page was drawn) refuses the publish.
    with pytest.raises(StaleEdit, match="changed since its checklist was drawn"):
        courses.publish_course(t, course, accepted=())
    assert not courses.get_course(t, course).is_published

    courses.publish_course(t, course, accepted=seen)

    assert courses.get_course(t, course).is_published


def test_publish_anyway_refuses_with_the_problems_listed_unless_anyway(t):
    course, modules, _ = _course_with_lessons(t, 1)
    courses.create_module(t, course, "Empty")
    courses.add_lesson(t, modules[0], _video(t, "Busy", status="transcribing"))
    with pytest.raises(ValidationError) as refused:
        courses.publish_anyway(t, course, anyway=False)
    assert str(refused.value).startswith("Before you publish: ")
    assert str(refused.value).endswith(". Fix them on the Courses page, or run again with --anyway.")
    assert "Empty" in str(refused.value) and "Busy" in str(refused.value)
    assert not courses.get_course(t, course).is_published

    accepted = courses.publish_anyway(t, course, anyway=True)

    assert accepted == courses.publish_checklist(t, course) and len(accepted) == 2
    assert courses.get_course(t, course).is_published


def test_publish_anyway_publishes_a_clean_course_and_never_one_without_lessons(t):
    clean, _, _ = _course_with_lessons(t, 1)
    assert courses.publish_anyway(t, clean, anyway=False) == []
    assert courses.get_course(t, clean).is_published
    empty = courses.create_course(t, "Nothing yet")
    with pytest.raises(ValidationError, match=r"^Before you publish: .* Add a lesson first\.$"):
        courses.publish_anyway(t, empty, anyway=True)
    assert not courses.get_course(t, empty).is_published


def test_publish_anyway_from_a_stale_tab_is_refused(t):
    course, _, _ = _course_with_lessons(t, 1)
    drawn = courses.get_course(t, course).revision
    courses.unpublish_course(t, course)  # another tab
    with pytest.raises(StaleEdit, match="changed in another tab"):
        courses.publish_anyway(t, course, anyway=True, expected_revision=drawn)
    assert not courses.get_course(t, course).is_published


def test_publish_and_unpublish_from_a_stale_tab_are_refused(t):
    course, _, _ = _course_with_lessons(t, 1)
    drawn = courses.get_course(t, course).revision
    courses.publish_course(t, course, expected_revision=drawn, accepted=())  # tab A
    with pytest.raises(StaleEdit, match="changed in another tab — here is the current version"):
        courses.unpublish_course(t, course, expected_revision=drawn)  # tab B drew the draft
    assert courses.get_course(t, course).is_published
    with pytest.raises(StaleEdit, match="changed in another tab"):
        courses.publish_course(t, course, expected_revision=drawn, accepted=())
    courses.unpublish_course(t, course, expected_revision=courses.get_course(t, course).revision)
    assert not courses.get_course(t, course).is_published


def test_a_course_move_drawn_from_an_old_list_is_refused(t):
    a, b, c = (courses.create_course(t, name) for name in "ABC")
    drawn = [a, b, c]
    courses.move_course(t, c, 1, expected_order=drawn)  # tab A: C first
    with pytest.raises(StaleEdit, match="course list was changed in another tab — here is the current version"):
        courses.move_course(t, a, 2, expected_order=drawn)  # tab B still shows A first
    assert [x.id for x in courses.list_courses(t)] == [c, a, b]
    courses.move_course(t, a, 2, expected_order=[c, a, b])
    assert [x.id for x in courses.list_courses(t)] == [c, a, b]


def test_published_at_is_the_first_publication_and_survives_unpublishing(t):
    course, _, _ = _course_with_lessons(t, 1)
    courses.publish_course(t, course)
    first = courses.get_course(t, course)
    assert first.is_published and first.published_at is not None
    t.conn.execute(sa.text("UPDATE courses SET published_at = published_at - interval '3 days' WHERE id = :c"),
                   {"c": course})
    three_days_ago = courses.get_course(t, course).published_at

    courses.unpublish_course(t, course)
    assert courses.get_course(t, course).is_published is False
    assert courses.get_course(t, course).published_at == three_days_ago
    courses.publish_course(t, course)
    assert courses.get_course(t, course).published_at == three_days_ago


def test_course_counts_and_minutes(t):
    course, modules, _ = _course_with_lessons(t, 2, 1)
    extra = courses.add_lesson(t, modules[1], _video(t, "No length", minutes=None))
    courses.update_lesson(t, extra, estimated_duration_minutes=10)
    found = courses.get_course(t, course)
    assert (found.module_count, found.lesson_count, found.total_minutes) == (2, 4, 5 + 5 + 5 + 10)
    assert courses.course_outline(t, course).total_minutes == 25
    assert [c.lesson_count for c in courses.list_courses(t)] == [4]


# --- copies, order, trash ----------------------------------------------------------------------


def test_duplicate_copies_modules_and_lessons_as_a_draft_right_after_the_original(t):
    first = courses.create_course(t, "First")
    course, modules, _ = _course_with_lessons(t, 2, 1)
    last = courses.create_course(t, "Last")
    courses.update_lesson(t, courses.list_lessons(t, modules[0])[1].id, title="Renamed", is_required=False)
    courses.publish_course(t, course)

    copy = courses.duplicate_course(t, course)

    assert [c.id for c in courses.list_courses(t)] == [first, course, copy, last]
    assert [c.display_order for c in courses.list_courses(t)] == [1, 2, 3, 4]
    duplicate = courses.course_outline(t, copy)
    original = courses.course_outline(t, course)
    assert duplicate.course.title == "Copy of Python basics" and duplicate.course.description == "Learn Python"
    assert duplicate.course.is_published is False and duplicate.course.published_at is None
    assert [m.module.title for m in duplicate.modules] == ["Week 1", "Week 2"]
    assert {m.module.id for m in duplicate.modules}.isdisjoint({m.module.id for m in original.modules})
    shape = [[(x.title, x.video_id, x.lesson_order, x.is_required) for x in m.lessons] for m in duplicate.modules]
    assert shape == [[(x.title, x.video_id, x.lesson_order, x.is_required) for x in m.lessons]
                     for m in original.modules]
    assert shape[0][1][0] == "Renamed" and shape[0][1][3] is False


def test_move_course_keeps_positions_1_to_n_and_clamps(t):
    a, b, c = (courses.create_course(t, name) for name in "ABC")
    courses.move_course(t, c, 1)
    assert [x.id for x in courses.list_courses(t)] == [c, a, b]
    courses.move_course(t, c, 99)
    assert [x.id for x in courses.list_courses(t)] == [a, b, c]
    courses.move_course(t, b, 0)
    assert [(x.id, x.display_order) for x in courses.list_courses(t)] == [(b, 1), (a, 2), (c, 3)]


def test_soft_delete_hides_a_course_and_restore_brings_it_back_last(t):
    a, b, c = (courses.create_course(t, name) for name in "ABC")
    module = courses.create_module(t, b, "M")
    video = _video(t)
    courses.add_lesson(t, module, video)
    courses.publish_course(t, b)

    courses.delete_course(t, b)

    assert [(x.id, x.display_order) for x in courses.list_courses(t)] == [(a, 1), (c, 2)]
    trash = courses.list_courses(t, only_deleted=True)
    assert [x.id for x in trash] == [b] and trash[0].is_deleted and trash[0].is_published
    assert {x.id for x in courses.list_courses(t, include_deleted=True)} == {a, b, c}
    with pytest.raises(ValidationError, match="in the trash"):
        courses.publish_course(t, b)
    d = courses.create_course(t, "D")
    assert [x.display_order for x in courses.list_courses(t)] == [1, 2, 3]

    courses.restore_course(t, b)

    assert [(x.id, x.display_order) for x in courses.list_courses(t)] == [(a, 1), (c, 2), (d, 3), (b, 4)]
    assert courses.list_courses(t, only_deleted=True) == []
    assert [lesson.video_id for lesson in courses.list_lessons(t, module)] == [video]


def test_update_course_changes_only_what_is_given_and_validates(t):
    course = courses.create_course(t, "Old", "Desc")
    courses.update_course(t, course, title="  New  ", thumbnail_url="https://example.com/t.png")
    found = courses.get_course(t, course)
    assert (found.title, found.description, found.thumbnail_url) == ("New", "Desc", "https://example.com/t.png")
    courses.update_course(t, course, description="")
    assert courses.get_course(t, course).description is None
    with pytest.raises(ValidationError, match="course title is empty"):
        courses.update_course(t, course, title="  ")
    with pytest.raises(ValidationError, match="https://"):
        courses.update_course(t, course, thumbnail_url="javascript:alert(1)")


# --- modules -----------------------------------------------------------------------------------


def test_modules_move_and_delete_keep_1_to_n_and_deleting_keeps_the_videos(t):
    course, modules, lessons = _course_with_lessons(t, 2, 1, 1)
    before = courses.get_course(t, course).revision
    courses.move_module(t, modules[2], 1)
    assert [m.id for m in courses.list_modules(t, course)] == [modules[2], modules[0], modules[1]]
    assert courses.get_course(t, course).revision == before + 1
    video_ids = [lesson.video_id for lesson in courses.list_lessons(t, modules[0])]

    courses.delete_module(t, modules[0])

    assert [(m.id, m.display_order) for m in courses.list_modules(t, course)] == [(modules[2], 1), (modules[1], 2)]
    assert courses.list_lessons(t, modules[0]) == []
    assert all(not videos.get_video(t, v).is_deleted for v in video_ids)
    with pytest.raises(NotFound):
        courses.delete_module(t, modules[0])


def test_update_module_renames_and_bumps_its_revision(t):
    _, modules, _ = _course_with_lessons(t, 0)
    courses.update_module(t, modules[0], title="Basics", description="Start here")
    [module] = courses.list_modules(t, courses.list_courses(t)[0].id)
    assert (module.title, module.description, module.revision) == ("Basics", "Start here", 1)
    with pytest.raises(ValidationError, match="module title is empty"):
        courses.update_module(t, modules[0], title="")


# --- lessons -----------------------------------------------------------------------------------


def test_the_unique_rule_message_for_a_video_already_in_the_module(t):
    _, modules, _ = _course_with_lessons(t, 0)
    video = _video(t)
    courses.add_lesson(t, modules[0], video)
    with pytest.raises(ValidationError) as refused:
        courses.add_lesson(t, modules[0], video)
    assert str(refused.value) == "This video is already a lesson in this module; a module holds each video once."


def test_add_lessons_appends_in_order_and_is_all_or_nothing(t):
    _, modules, _ = _course_with_lessons(t, 1)
    a, b, c = (_video(t, name) for name in ("Alpha", "Beta", "Gamma"))
    ids = courses.add_lessons(t, modules[0], [b, a])
    assert [x.id for x in courses.list_lessons(t, modules[0])][1:] == ids
    assert _titles(t, modules[0]) == ["W1 L1", "Beta", "Alpha"] and _orders(t, modules[0]) == [1, 2, 3]

    with pytest.raises(ValidationError, match="'Alpha' is already a lesson in this module"):
        courses.add_lessons(t, modules[0], [c, a])
    assert _titles(t, modules[0]) == ["W1 L1", "Beta", "Alpha"]
    assert courses.add_lessons(t, modules[0], []) == []


def test_add_lesson_records_video_added_to_course_with_course_and_module(t):
    course, modules, _ = _course_with_lessons(t, 0)
    video, second = _video(t), _video(t, "Second")
    courses.add_lesson(t, modules[0], video)
    courses.add_lessons(t, modules[0], [second])
    rows = t.conn.execute(sa.text(
        "SELECT video_id, course_id, module_id FROM video_analytics_events "
        "WHERE creator_id = :c AND event_type = 'video_added_to_course'"), {"c": t.creator_id}).all()
    assert sorted(rows) == sorted([(video, course, modules[0]), (second, course, modules[0])])


def test_update_lesson_validates_title_and_minutes(t):
    _, _, lessons = _course_with_lessons(t, 1)
    lesson = lessons[0][0]
    courses.update_lesson(t, lesson, title="Welcome", description="What you will learn", is_required=False,
                          estimated_duration_minutes=7)
    [found] = courses.list_lessons(t, courses.list_lessons(t, _module_of(t, lesson))[0].module_id)
    assert (found.title, found.description, found.is_required, found.estimated_duration_minutes) == (
        "Welcome", "What you will learn", False, 7)
    with pytest.raises(ValidationError, match="lesson title is empty"):
        courses.update_lesson(t, lesson, title=" ")
    for bad in (0, -5):
        with pytest.raises(ValidationError, match="whole number of minutes above 0"):
            courses.update_lesson(t, lesson, estimated_duration_minutes=bad)


def _module_of(t: Workspace, lesson_id: uuid.UUID) -> uuid.UUID:
    return t.conn.execute(sa.text("SELECT module_id FROM module_lessons WHERE id = :l"), {"l": lesson_id}).scalar_one()


def test_move_lesson_up_and_down_is_clamped_at_the_ends(t):
    _, modules, lessons = _course_with_lessons(t, 3)
    first, second, third = lessons[0]
    courses.move_lesson(t, first, -1)
    revision = courses.list_modules(t, courses.list_courses(t)[0].id)[0].revision
    courses.move_lesson(t, third, +1)
    assert courses.list_modules(t, courses.list_courses(t)[0].id)[0].revision == revision  # nothing changed
    courses.move_lesson(t, third, -1)
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [first, third, second]
    courses.move_lesson(t, first, +5)
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [third, second, first]
    assert _orders(t, modules[0]) == [1, 2, 3]


def test_reorder_lessons_needs_exactly_the_module_s_lessons(t):
    _, modules, lessons = _course_with_lessons(t, 3, 1)
    a, b, c = lessons[0]
    courses.reorder_lessons(t, modules[0], [c, a, b])
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [c, a, b] and _orders(t, modules[0]) == [1, 2, 3]
    for wrong in ([c, a], [c, a, b, b], [c, a, lessons[1][0]], [c, a, b, lessons[1][0]]):
        with pytest.raises(ValidationError, match="exactly this module's lessons"):
            courses.reorder_lessons(t, modules[0], wrong)
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [c, a, b]


def test_remove_lesson_renumbers(t):
    _, modules, lessons = _course_with_lessons(t, 3)
    courses.remove_lesson(t, lessons[0][1])
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [lessons[0][0], lessons[0][2]]
    assert _orders(t, modules[0]) == [1, 2]
    with pytest.raises(NotFound):
        courses.remove_lesson(t, lessons[0][1])


def test_move_a_lesson_to_another_course_s_module(t):
    _, modules, lessons = _course_with_lessons(t, 3)
    other_course = courses.create_course(t, "Other")
    target = courses.create_module(t, other_course, "Target")
    kept = courses.add_lesson(t, target, _video(t, "Already there"))
    revisions = {m: courses.list_modules(t, c)[0].revision
                 for m, c in ((modules[0], courses.list_courses(t)[0].id), (target, other_course))}

    courses.move_lesson_to_module(t, lessons[0][0], target, position=1)

    assert [x.id for x in courses.list_lessons(t, target)] == [lessons[0][0], kept] and _orders(t, target) == [1, 2]
    assert [x.id for x in courses.list_lessons(t, modules[0])] == lessons[0][1:] and _orders(t, modules[0]) == [1, 2]
    assert courses.list_modules(t, other_course)[0].revision == revisions[target] + 1
    assert courses.list_modules(t, courses.list_courses(t)[0].id)[0].revision == revisions[modules[0]] + 1
    courses.move_lesson_to_module(t, lessons[0][1], target)  # default: last
    assert _titles(t, target)[-1] == "W1 L2"


def test_moving_a_lesson_refuses_a_video_the_target_module_has(t):
    _, modules, lessons = _course_with_lessons(t, 1, 0)
    video = courses.list_lessons(t, modules[0])[0].video_id
    courses.add_lesson(t, modules[1], video)
    with pytest.raises(ValidationError) as refused:
        courses.move_lesson_to_module(t, lessons[0][0], modules[1])
    assert str(refused.value) == "This video is already a lesson in this module; a module holds each video once."
    assert [x.id for x in courses.list_lessons(t, modules[0])] == lessons[0]


# --- stale edits -------------------------------------------------------------------------------


def test_a_stale_tab_is_refused_and_changes_nothing(t):
    course, modules, lessons = _course_with_lessons(t, 3)
    a, b, c = lessons[0]
    tab_one = courses.list_modules(t, course)[0].revision
    tab_two = courses.list_modules(t, course)[0].revision

    courses.move_lesson(t, a, +1, expected_revision=tab_one)  # tab one saves: b, a, c
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [b, a, c]

    stale_calls = [
        lambda: courses.move_lesson(t, c, -1, expected_revision=tab_two),
        lambda: courses.reorder_lessons(t, modules[0], [c, b, a], expected_revision=tab_two),
        lambda: courses.remove_lesson(t, c, expected_revision=tab_two),
        lambda: courses.add_lesson(t, modules[0], _video(t, "Late"), expected_revision=tab_two),
    ]
    for call in stale_calls:
        with pytest.raises(StaleEdit) as stale:
            call()
        assert str(stale.value) == (
            "This module was changed in another tab — here is the current version; nothing of yours was saved, "
            "so make your change again if it is still needed.")
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [b, a, c]
    assert courses.list_modules(t, course)[0].revision == tab_one + 1

    fresh = courses.list_modules(t, course)[0].revision
    courses.move_lesson(t, c, -1, expected_revision=fresh)
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [b, c, a]


def test_a_stale_module_move_compares_the_course_revision(t):
    course, modules, _ = _course_with_lessons(t, 0, 0, 0)
    seen = courses.get_course(t, course).revision
    courses.move_module(t, modules[2], 1, expected_revision=seen)
    with pytest.raises(StaleEdit, match="This course was changed in another tab"):
        courses.move_module(t, modules[1], 1, expected_revision=seen)
    assert [m.id for m in courses.list_modules(t, course)] == [modules[2], modules[0], modules[1]]


def test_concurrent_edits_wait_for_the_module_lock(db: Database):
    """Two real transactions: the second blocks on the module row while the first is open, and
    once the first commits it sees the new revision and is refused as stale."""
    creator = new_creator(db, "locks")
    try:
        with db.workspace(creator) as t:
            course, modules, lessons = _course_with_lessons(t, 2)
        with db.workspace(creator) as t:
            seen = courses.list_modules(t, course)[0].revision
        with db.engine.connect() as other:
            other.execute(sa.text("SET lock_timeout = '300ms'"))
            other.commit()
            with db.workspace(creator) as t:
                courses.move_lesson(t, lessons[0][0], +1, expected_revision=seen)
                with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                    _in_transaction(other, creator, lambda o: courses.move_lesson(o, lessons[0][1], +1,
                                                                                  expected_revision=seen))
            with pytest.raises(StaleEdit):
                _in_transaction(other, creator, lambda o: courses.move_lesson(o, lessons[0][1], +1,
                                                                              expected_revision=seen))
        with db.workspace(creator) as t:
            assert [x.id for x in courses.list_lessons(t, modules[0])] == [lessons[0][1], lessons[0][0]]
    finally:
        _drop(db, creator)


def _in_transaction(conn, creator: uuid.UUID, action) -> None:
    try:
        with conn.begin():
            conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator)})
            action(Workspace(conn, creator))
    finally:
        if conn.in_transaction():
            conn.rollback()


def _drop(db: Database, *creators: uuid.UUID) -> None:
    with db.owner() as conn:
        conn.execute(sa.text("DELETE FROM chronos.creators WHERE id = ANY(:ids)"), {"ids": list(creators)})


# --- health ------------------------------------------------------------------------------------


def test_lesson_health_flags_deleted_failed_and_processing_videos(t):
    course = courses.create_course(t, "C")
    module = courses.create_module(t, course, "Basics")
    empty = courses.create_module(t, course, "Later")
    fine, deleted, failed, processing = (_video(t, name) for name in ("Fine", "Gone", "Broken", "Busy"))
    videos.set_status(t, failed, "failed", "captions are disabled")
    videos.set_status(t, processing, "transcribing")
    courses.add_lessons(t, module, [fine, deleted, failed, processing])
    videos.soft_delete_video(t, deleted)

    lessons = courses.list_lessons(t, module)

    assert [x.health for x in lessons] == [None, "video deleted", "video failed to import", "video still processing"]
    assert lessons[1].video_is_deleted and lessons[1].video_title == "Gone"
    outline = courses.course_outline(t, course)
    assert [(p.kind, p.message) for p in courses.publish_checklist(t, course)] == [
        ("video_deleted", "Lesson 'Gone' (Module 1): video deleted"),
        ("video_failed", "Lesson 'Broken' (Module 1): video failed to import"),
        ("video_processing", "Lesson 'Busy' (Module 1): video still processing"),
        ("empty_module", "Module 2 ('Later') has no lessons yet."),
    ]
    assert [m.module.id for m in outline.modules] == [module, empty] and outline.modules[1].lessons == []


def test_course_outline_reads_in_two_queries(db, t):
    course, _, _ = _course_with_lessons(t, 2, 2, 1, 0)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(t.conn, "before_cursor_execute", count)
    try:
        outline = courses.course_outline(t, course)
    finally:
        sa.event.remove(t.conn, "before_cursor_execute", count)
    assert len(statements) <= 2
    assert [len(m.lessons) for m in outline.modules] == [2, 2, 1, 0]


# --- workspaces -----------------------------------------------------------------------------------


def test_another_creator_s_ids_are_not_found(db):
    owner, intruder = new_creator(db, "owner"), new_creator(db, "intruder")
    try:
        with db.workspace(owner) as t:  # committed, so only the creator filter and RLS hide it
            course, modules, lessons = _course_with_lessons(t, 2)
            video = courses.list_lessons(t, modules[0])[0].video_id
        with db.workspace(intruder) as t:
            for call in (
                lambda: courses.get_course(t, course),
                lambda: courses.course_outline(t, course),
                lambda: courses.update_course(t, course, title="pwned"),
                lambda: courses.publish_course(t, course),
                lambda: courses.duplicate_course(t, course),
                lambda: courses.delete_course(t, course),
                lambda: courses.create_module(t, course, "intruder"),
                lambda: courses.move_module(t, modules[0], 2),
                lambda: courses.delete_module(t, modules[0]),
                lambda: courses.move_lesson(t, lessons[0][0], 1),
                lambda: courses.reorder_lessons(t, modules[0], lessons[0][::-1]),
                lambda: courses.remove_lesson(t, lessons[0][0]),
                lambda: courses.update_lesson(t, lessons[0][0], title="pwned"),
                lambda: courses.add_lessons(t, modules[0], []),
            ):
                with pytest.raises(NotFound):
                    call()
            own = courses.create_module(t, courses.create_course(t, "Mine"), "M")
            with pytest.raises(NotFound):
                courses.move_lesson_to_module(t, lessons[0][0], own)
            with pytest.raises(NotFound):
                courses.add_lessons(t, own, [video])
            assert courses.list_courses(t)[0].title == "Mine" and len(courses.list_courses(t)) == 1
        with db.workspace(owner) as t:
            assert [x.id for x in courses.list_lessons(t, modules[0])] == lessons[0]
            assert courses.get_course(t, course).title == "Python basics"
    finally:
        _drop(db, owner, intruder)


def test_every_edit_drawn_from_an_old_revision_is_refused_and_overwrites_nothing(t):
    course, modules, lessons = _course_with_lessons(t, 2, 1)
    first, second = lessons[0]
    seen_course = courses.get_course(t, course).revision
    seen_module = courses.list_modules(t, course)[0].revision

    courses.update_lesson(t, first, title="Renamed in tab A", expected_revision=seen_module)
    courses.update_course(t, course, title="Course renamed in tab A", expected_revision=seen_course)

    stale_calls = [
        lambda: courses.update_lesson(t, first, title="Old title from tab B", expected_revision=seen_module),
        lambda: courses.update_module(t, modules[0], title="Old module title", expected_revision=seen_module),
        lambda: courses.delete_module(t, modules[0], expected_revision=seen_module),
        lambda: courses.move_lesson_to_module(t, second, modules[1], expected_revision=seen_module),
        lambda: courses.update_course(t, course, title="Old course title", expected_revision=seen_course),
    ]
    for call in stale_calls:
        with pytest.raises(StaleEdit, match="changed in another tab — here is the current version"):
            call()
    assert _titles(t, modules[0]) == ["Renamed in tab A", "W1 L2"]
    assert [m.title for m in courses.list_modules(t, course)] == ["Week 1", "Week 2"]
    assert courses.get_course(t, course).title == "Course renamed in tab A"

    fresh = courses.list_modules(t, course)[0].revision
    courses.update_lesson(t, first, title="Renamed again", expected_revision=fresh)
    assert _titles(t, modules[0]) == ["Renamed again", "W1 L2"]


def test_arrange_lessons_saves_a_drag_in_one_call_and_refuses_a_stale_one(t):
    course, modules, lessons = _course_with_lessons(t, 2, 1)
    (a, b), (c,) = lessons
    shown = {m.id: m.revision for m in courses.list_modules(t, course)}

    outline = courses.arrange_lessons(t, course, {modules[0]: [b, c, a], modules[1]: []}, shown)
    assert [[x.id for x in m.lessons] for m in outline.modules] == [[b, c, a], []]
    assert [x.lesson_order for x in outline.modules[0].lessons] == [1, 2, 3]

    with pytest.raises(StaleEdit, match="changed in another tab — here is the current version"):
        courses.arrange_lessons(t, course, {modules[0]: [a, b, c]}, shown)  # drawn before the drag above
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [b, c, a]

    # A module the drag did not touch may have changed meanwhile.
    courses.update_module(t, modules[1], title="Week 2, renamed")
    fresh = {m.id: m.revision for m in courses.list_modules(t, course)}
    courses.update_module(t, modules[1], title="Week 2, renamed again")
    courses.arrange_lessons(t, course, {modules[0]: [a, b, c]}, fresh)
    assert [x.id for x in courses.list_lessons(t, modules[0])] == [a, b, c]


def test_a_tab_still_showing_a_trashed_course_cannot_change_it(t):
    """Another tab moved the course to the trash: every change from this one is refused, as
    publishing it is, and the trashed course keeps what it had."""
    course = courses.create_course(t, "Gone")
    module = courses.create_module(t, course, "Basics")
    first, second = _video(t, "One"), _video(t, "Two")
    [lesson] = courses.add_lessons(t, module, [first])
    courses.delete_course(t, course)
    changes = [
        lambda: courses.create_module(t, course, "Added later"),
        lambda: courses.add_lessons(t, module, [second]),
        lambda: courses.update_course(t, course, title="Renamed"),
        lambda: courses.update_module(t, module, title="Renamed"),
        lambda: courses.update_lesson(t, lesson, title="Renamed"),
        lambda: courses.remove_lesson(t, lesson),
        lambda: courses.delete_module(t, module),
    ]
    for change in changes:
        with pytest.raises(ValidationError, match="in the trash"):
            change()
    courses.restore_course(t, course)
    outline = courses.course_outline(t, course)
    assert outline.course.title == "Gone"
    assert [(m.module.title, [lesson.video_id for lesson in m.lessons]) for m in outline.modules] == [("Basics", [first])]


def test_merging_two_copies_of_a_video_reaches_lessons_in_the_trash(t):
    course = courses.create_course(t, "Gone")
    module = courses.create_module(t, course, "Basics")
    old, new = _video(t, "Copy 1"), _video(t, "Copy 2")
    courses.add_lessons(t, module, [old])
    courses.delete_course(t, course)
    assert courses.swap_lesson_video(t, old, new) == 1
    courses.restore_course(t, course)
    assert [lesson.video_id for lesson in courses.course_outline(t, course).modules[0].lessons] == [new]
