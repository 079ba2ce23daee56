"""Whop courses as Chronos courses: a sync makes each Whop course a draft (a module per chapter,
a lesson per matched video lesson, in Whop's order) once, leaves the creator's edits alone, and
its completions land in the course funnel."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import sqlalchemy as sa

from chronos_data import courses, videos, whop
from chronos_data.viewing import dashboards, rollups
from chronos_data.viewing.event_batch import EventRow, append_events
from chronos_data.whop import webhooks
from tests.whop.test_whop_sync import _library
from tests.whop.test_whop_webhooks import SECRET, _signed

NOVEMBER = dashboards.Filters(date(2026, 11, 1), date(2026, 11, 30))


def _outline(t) -> list[tuple[str, list[tuple[str, object]]]]:
    [course] = courses.list_courses(t)
    return [(m.title, [(lesson.title, lesson.video_id) for lesson in courses.list_lessons(t, m.id)])
            for m in courses.list_modules(t, course.id)]


def _counts(t) -> list[int]:
    return [t.conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE creator_id = :c"), {"c": t.creator_id})
            .scalar_one() for table in ("courses", "course_modules", "module_lessons", "video_analytics_events")]


def test_a_sync_makes_each_whop_course_a_draft_in_whop_s_order(t, synced):
    _, library = synced
    [course] = courses.list_courses(t)
    assert course.title == "Git from scratch" and not course.is_published
    # The text lesson and the lesson no library video plays are left out (and named in the summary).
    assert _outline(t) == [("Basics", [("Commits", library["yt"]), ("Branches", library["loom"])]),
                           ("Advanced", [("Rebase", library["mux"])])]
    summary = whop.status(t).last_summary
    assert summary["courses_made"] == 1 and summary["left_out"] == ["Not in the library"]
    assert "1 course made as a draft (left out until matched: Not in the library)" in summary["text"]


def test_a_second_sync_makes_nothing_and_keeps_the_creator_s_edits(t, fake, synced):
    s, library = synced
    [course] = courses.list_courses(t)
    basics, advanced = courses.list_modules(t, course.id)
    courses.update_course(t, course.id, title="My Git course")
    courses.move_module(t, advanced.id, 1)
    branches = courses.list_lessons(t, basics.id)[1]
    courses.remove_lesson(t, branches.id)
    before = _counts(t)

    again = whop.sync(t, settings=s)
    assert again.complete and again.courses_made == 0 and "made as a draft" not in again.text
    assert _counts(t) == before
    assert _outline(t) == [("Advanced", [("Rebase", library["mux"])]), ("Basics", [("Commits", library["yt"])])]
    assert courses.get_course(t, course.id).title == "My Git course"

    # A lesson matched since (its video now in the library) joins its chapter's module, at the end;
    # a chapter new in Whop becomes a new module.
    other = videos.create_video(t, title="Other", source_type="youtube", source_id="zzzzzzzzzzz")
    fake.courses[0].chapters.append(("chap_3", "Extras", []))
    third = whop.sync(t, settings=s)
    assert third.courses_made == 0 and third.left_out == ()
    assert _outline(t) == [("Advanced", [("Rebase", library["mux"]), ("Not in the library", other)]),
                           ("Basics", [("Commits", library["yt"])]), ("Extras", [])]


def test_a_deleted_course_is_not_made_again(t, fake, synced):
    s, _ = synced
    [course] = courses.list_courses(t)
    courses.delete_course(t, course.id)
    assert whop.sync(t, settings=s).courses_made == 0
    assert courses.list_courses(t) == []


def test_whop_completions_are_completed_lessons_in_the_course_funnel(t, synced):
    _, library = synced
    [course] = courses.list_courses(t)
    rollups.rollup(t)
    funnel = dashboards.course_funnel(t, course.id, NOVEMBER).set_index("lesson")
    assert funnel.loc["Commits", "completed"] == 1 and funnel.loc["Rebase", "completed"] == 1
    assert funnel.loc["Branches", "completed"] == 0
    [basics, advanced] = courses.list_modules(t, course.id)
    places = t.conn.execute(sa.text("SELECT video_id, course_id, module_id FROM video_analytics_events "
                                    "WHERE creator_id = :c AND event_type = 'video_completed' ORDER BY module_id = :m"),
                            {"c": t.creator_id, "m": advanced.id}).all()
    assert [tuple(p) for p in places] == [(library["yt"], course.id, basics.id),
                                          (library["mux"], course.id, advanced.id)]


def test_a_completion_webhook_lands_in_the_course_funnel(t, fake, synced):
    s, library = synced
    webhooks.set_webhook_secret(t, SECRET, settings=s)
    [course] = courses.list_courses(t)
    interaction = {"id": "crsli_hook", "completed": True, "created_at": "2026-11-20T10:00:00Z",
                   "course": {"id": "cors_1", "experience": {"id": "exp_1"}},
                   "lesson": {"id": "lesn_loom", "title": "Branches", "chapter": {"id": "chap_1"}},
                   "user": {"id": "user_1", "username": "member1", "name": None}}
    body, headers = _signed(SECRET, {"id": "evt_hook", "api_version": "v1",
                                     "type": "course_lesson_interaction.completed", "account_id": fake.company,
                                     "timestamp": datetime.now(UTC).isoformat(), "data": interaction})
    assert webhooks.receive_delivery(t, body, headers, settings=s).effect == "completion stored"
    rollups.rollup(t)
    funnel = dashboards.course_funnel(t, course.id, NOVEMBER).set_index("lesson")
    assert funnel.loc["Branches", "completed"] == 1


def test_completions_imported_before_the_course_existed_are_not_counted_twice(t, fake, settings):
    s = dataclasses.replace(settings, whop_base_url=fake.api_url)
    library = _library(t)
    # What a sync before Whop courses became Chronos courses stored: the completion, without a course.
    student = t.conn.execute(sa.text("INSERT INTO students (creator_id, whop_user_id) VALUES (:c, 'user_0') "
                                     "RETURNING id"), {"c": t.creator_id}).scalar_one()
    append_events(t, [EventRow("video_completed", library["yt"], timestamp=datetime(2026, 11, 15, 12, tzinfo=UTC),
                               student_id=student, metadata={"import_key": "whop:completion:crsli_1",
                                                             "source": "whop", "whop_lesson_id": "lesn_yt"})])
    whop.connect(t, fake.key, fake.company, settings=s)
    summary = whop.sync(t, settings=s)
    assert summary.completions == 1  # crsli_2 only
    rollups.rollup(t)
    assert t.conn.execute(sa.text("SELECT count(*) FROM video_analytics_events WHERE creator_id = :c "
                                  "AND video_id = :v AND event_type = 'video_completed'"),
                          {"c": t.creator_id, "v": library["yt"]}).scalar_one() == 1
    [course] = courses.list_courses(t)
    funnel = dashboards.course_funnel(t, course.id, NOVEMBER).set_index("lesson")
    assert (funnel.loc["Commits", "completed"], funnel.loc["Rebase", "completed"]) == (0, 1)


def test_a_lesson_matched_by_hand_to_another_video_joins_the_course_at_the_next_sync(t, synced):
    s, library = synced
    better = videos.create_video(t, title="Commits, redone", source_type="youtube", source_id="yyyyyyyyyyy")
    whop.set_lesson_video(t, "lesn_yt", better)
    whop.sync(t, settings=s)
    # The old lesson stays (the course is the creator's); the new match is added once.
    assert _outline(t)[0] == ("Basics", [("Commits", library["yt"]), ("Branches", library["loom"]),
                                         ("Commits", better)])
    before = _counts(t)
    whop.sync(t, settings=s)
    assert _counts(t) == before


def test_a_lesson_moved_to_another_whop_course_joins_that_course(t, fake, synced):
    s, library = synced
    from tests.fakes.whop import WhopCourse

    basics = fake.courses[0].chapters[0][2]
    branches = next(lesson for lesson in basics if lesson.id == "lesn_loom")
    basics.remove(branches)
    # Moved into a course Whop lists before the one it left.
    fake.courses.insert(0, WhopCourse("cors_0", "Branching", [("chap_0", "Intro", [branches])]))
    whop.sync(t, settings=s)
    mapping = {m.whop_lesson_id: m for m in whop.list_lessons(t)}
    assert (mapping["lesn_loom"].whop_course_id, mapping["lesn_loom"].chapter_title) == ("cors_0", "Intro")
    made = {c.title: c for c in courses.list_courses(t)}
    [intro] = courses.list_modules(t, made["Branching"].id)
    assert [(lesson.title, lesson.video_id) for lesson in courses.list_lessons(t, intro.id)] == [
        ("Branches", library["loom"])]


def test_a_lesson_matched_by_hand_keeps_its_video_when_it_moves_to_a_course_listed_later(t, fake, synced):
    s, _ = synced
    from tests.fakes.whop import WhopCourse

    better = videos.create_video(t, title="Branches, redone", source_type="youtube", source_id="zzzzzzzzzzz")
    whop.set_lesson_video(t, "lesn_loom", better)
    basics = fake.courses[0].chapters[0][2]
    branches = next(lesson for lesson in basics if lesson.id == "lesn_loom")
    basics.remove(branches)
    # Moved into a course Whop lists after the one it left: the sync reads the old course first.
    fake.courses.append(WhopCourse("cors_z", "Branching", [("chap_z", "Intro", [branches])]))
    whop.sync(t, settings=s)
    moved = {m.whop_lesson_id: m for m in whop.list_lessons(t)}["lesn_loom"]
    assert (moved.whop_course_id, moved.video_id, moved.chosen) == ("cors_z", better, True)
    [intro] = courses.list_modules(t, {c.title: c for c in courses.list_courses(t)}["Branching"].id)
    assert [lesson.video_id for lesson in courses.list_lessons(t, intro.id)] == [better]


def test_lessons_and_courses_gone_from_whop_leave_the_mapping_and_are_not_added(t, fake, synced):
    s, library = synced
    basics = fake.courses[0].chapters[0][2]
    branches = next(lesson for lesson in basics if lesson.id == "lesn_loom")
    basics.remove(branches)
    whop.sync(t, settings=s)
    assert "lesn_loom" not in {m.whop_lesson_id for m in whop.list_lessons(t)}
    fake.courses.clear()
    whop.sync(t, settings=s)
    assert whop.list_lessons(t) == []
    assert courses.list_courses(t)  # the drafts the sync made are the creator's now


def test_a_sync_stopped_in_the_courses_step_by_the_previous_version_keeps_the_courses_it_had_read(
        t, fake, synced, monkeypatch):
    """A sync of the version before ``lessons_seen`` stopped after the first page of courses; the
    resumed sync reads only the second page. The first page's lessons (and the video the creator
    chose for one of them) stay in the mapping."""
    import json

    from chronos_data.whop import sync_courses
    from tests.fakes.whop import WhopCourse, WhopLesson

    s, _ = synced
    monkeypatch.setattr(sync_courses, "PAGE_SIZE", 1)
    better = videos.create_video(t, title="Branches, redone", source_type="youtube", source_id="zzzzzzzzzzz")
    whop.set_lesson_video(t, "lesn_loom", better)
    fake.courses.append(WhopCourse("cors_2", "Tags", [("chap_t", "Tags", [WhopLesson("lesn_tag", "Tags")])]))
    old_state = {"step": "courses", "cursor": "1", "course_index": 0, "counts": {"read_courses": 1},
                 "courses_seen": ["cors_1"], "emails_kept": []}  # no lessons_seen: written before it existed
    t.conn.execute(sa.text("UPDATE whop_connections SET sync_state = CAST(:s AS jsonb) WHERE creator_id = :c"),
                   {"s": json.dumps(old_state), "c": t.creator_id})
    assert whop.sync(t, settings=s).complete
    mapping = {m.whop_lesson_id: m for m in whop.list_lessons(t)}
    assert {"lesn_yt", "lesn_loom", "lesn_mux", "lesn_tag"} <= set(mapping)
    assert (mapping["lesn_loom"].video_id, mapping["lesn_loom"].chosen) == (better, True)
