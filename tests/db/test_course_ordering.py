"""Property test: after any sequence of course-builder operations, positions are exactly 1..n and
every module holds the videos a plain Python model says it holds, in the same order."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronos_data import courses, videos
from chronos_data.db import Database, Workspace
from chronos_data.errors import ValidationError

VIDEOS = 5
STEPS = 25


def _check(t: Workspace, model: dict[uuid.UUID, list[uuid.UUID]], course_ids: list[uuid.UUID],
           module_course: dict[uuid.UUID, uuid.UUID]) -> None:
    # The deferred UNIQUE(module_id, lesson_order) is checked now rather than at a commit that
    # never comes (the example is rolled back).
    t.conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
    t.conn.execute(sa.text("SET CONSTRAINTS ALL DEFERRED"))
    for course_id in course_ids:
        modules = courses.list_modules(t, course_id)
        assert [m.display_order for m in modules] == list(range(1, len(modules) + 1))
        assert {m.id for m in modules} == {m for m, c in module_course.items() if c == course_id}
    for module_id, expected in model.items():
        lessons = courses.list_lessons(t, module_id)
        assert [lesson.lesson_order for lesson in lessons] == list(range(1, len(lessons) + 1))
        assert [lesson.video_id for lesson in lessons] == expected
    total = t.conn.execute(sa.text("SELECT count(*) FROM module_lessons WHERE creator_id = :c"),
                           {"c": t.creator_id}).scalar_one()
    assert total == sum(len(v) for v in model.values())  # no lesson left behind in a deleted module


def _revision(t: Workspace, module_id: uuid.UUID) -> int:
    return t.conn.execute(sa.text("SELECT revision FROM course_modules WHERE id = :m"), {"m": module_id}).scalar_one()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40, deadline=None)
@given(data=st.data())
def test_any_sequence_of_edits_keeps_positions_1_to_n_and_matches_the_model(db: Database, creator_id, data):
    with db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(sa.text("SELECT set_config('chronos.creator_id', :c, true)"), {"c": str(creator_id)})
            t = Workspace(conn, creator_id)
            _run(t, data)
        finally:
            transaction.rollback()


def _run(t: Workspace, data: st.DataObject) -> None:
    course_a, course_b = courses.create_course(t, "A"), courses.create_course(t, "B")
    module_course = {courses.create_module(t, course_a, "A1"): course_a,
                     courses.create_module(t, course_a, "A2"): course_a,
                     courses.create_module(t, course_b, "B1"): course_b}
    model: dict[uuid.UUID, list[uuid.UUID]] = {m: [] for m in module_course}
    video_ids = [videos.create_video(t, title=f"V{i}", source_type="youtube", source_id=f"vid{i:08d}")
                 for i in range(VIDEOS)]
    lesson_of: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}  # (module, video) -> lesson id

    def lesson_at(module_id: uuid.UUID, index: int) -> uuid.UUID:
        return lesson_of[(module_id, model[module_id][index])]

    for _ in range(data.draw(st.integers(1, STEPS), label="steps")):
        modules = list(model)
        module = data.draw(st.sampled_from(modules), label="module")
        non_empty = [m for m in modules if model[m]]
        op = data.draw(st.sampled_from(
            ["add", "add_many", "delete_module", "move_module"]
            + (["move", "to_module", "remove", "reorder"] if non_empty else [])), label="op")
        before = {m: _revision(t, m) for m in modules}
        changed: set[uuid.UUID] = set()

        if op == "add":
            video = data.draw(st.sampled_from(video_ids), label="video")
            if video in model[module]:
                try:
                    courses.add_lesson(t, module, video)
                except ValidationError:
                    pass
                else:
                    raise AssertionError("a second copy of a video was added")
            else:
                lesson_of[(module, video)] = courses.add_lesson(t, module, video)
                model[module].append(video)
                changed.add(module)

        elif op == "add_many":
            chosen = data.draw(st.lists(st.sampled_from(video_ids), min_size=1, max_size=3, unique=True), label="videos")
            if set(chosen) & set(model[module]):
                try:
                    courses.add_lessons(t, module, chosen)
                except ValidationError:
                    pass
                else:
                    raise AssertionError("add_lessons added a video the module had")
            else:
                for video, lesson in zip(chosen, courses.add_lessons(t, module, chosen), strict=True):
                    lesson_of[(module, video)] = lesson
                model[module].extend(chosen)
                changed.add(module)

        elif op == "move":
            module = data.draw(st.sampled_from(non_empty), label="from")
            index = data.draw(st.integers(0, len(model[module]) - 1), label="index")
            offset = data.draw(st.sampled_from([-2, -1, 1, 2]), label="offset")
            courses.move_lesson(t, lesson_at(module, index), offset, expected_revision=before[module])
            target = min(max(index + offset, 0), len(model[module]) - 1)
            if target != index:
                model[module].insert(target, model[module].pop(index))
                changed.add(module)

        elif op == "to_module":
            source = data.draw(st.sampled_from(non_empty), label="from")
            index = data.draw(st.integers(0, len(model[source]) - 1), label="index")
            target = data.draw(st.sampled_from(modules), label="to")
            position = data.draw(st.none() | st.integers(0, len(model[target]) + 2), label="position")
            video = model[source][index]
            lesson = lesson_at(source, index)
            if target != source and video in model[target]:
                try:
                    courses.move_lesson_to_module(t, lesson, target, position=position)
                except ValidationError:
                    pass
                else:
                    raise AssertionError("a lesson moved into a module that had its video")
            else:
                courses.move_lesson_to_module(t, lesson, target, position=position)
                if target == source:
                    if position is not None:
                        old = list(model[source])
                        model[source].pop(index)
                        model[source].insert(min(max(position, 1), len(model[source]) + 1) - 1, video)
                        if model[source] != old:
                            changed.add(source)
                else:
                    model[source].pop(index)
                    place = len(model[target]) + 1 if position is None else min(max(position, 1), len(model[target]) + 1)
                    model[target].insert(place - 1, video)
                    del lesson_of[(source, video)]
                    lesson_of[(target, video)] = lesson
                    changed |= {source, target}

        elif op == "remove":
            module = data.draw(st.sampled_from(non_empty), label="from")
            index = data.draw(st.integers(0, len(model[module]) - 1), label="index")
            courses.remove_lesson(t, lesson_at(module, index), expected_revision=before[module])
            del lesson_of[(module, model[module].pop(index))]
            changed.add(module)

        elif op == "reorder":
            module = data.draw(st.sampled_from(non_empty), label="module")
            new_order = data.draw(st.permutations(model[module]), label="order")
            courses.reorder_lessons(t, module, [lesson_of[(module, v)] for v in new_order],
                                    expected_revision=before[module])
            if list(new_order) != model[module]:
                changed.add(module)
            model[module] = list(new_order)

        elif op == "delete_module":
            course = module_course[module]
            courses.delete_module(t, module)
            for video in model.pop(module):
                del lesson_of[(module, video)]
            del module_course[module]
            # Keep a few modules to play with: a fresh empty one at the end of the same course.
            replacement = courses.create_module(t, course, "new")
            module_course[replacement] = course
            model[replacement] = []

        elif op == "move_module":
            course = module_course[module]
            position = data.draw(st.integers(0, 4), label="position")
            seen = courses.get_course(t, course).revision
            order = [m.id for m in courses.list_modules(t, course)]
            courses.move_module(t, module, position, expected_revision=seen)
            order.remove(module)
            order.insert(min(max(position, 1), len(order) + 1) - 1, module)
            assert [m.id for m in courses.list_modules(t, course)] == order

        _check(t, model, [course_a, course_b], module_course)
        for m in model:
            if m in before:
                after = _revision(t, m)
                assert after > before[m] if m in changed else after == before[m], (op, m)
