"""Turning a drag-and-drop result into the lesson orders to save."""

import uuid
from types import SimpleNamespace

from components.course_builder import dragged_changes, format_minutes, lesson_labels


def _lesson(title: str, minutes: int = 5):
    return SimpleNamespace(id=uuid.uuid4(), title=title, estimated_duration_minutes=minutes)


def test_nothing_changes_when_the_order_is_the_same():
    m1, m2 = uuid.uuid4(), uuid.uuid4()
    a, b, c = _lesson("A"), _lesson("B"), _lesson("C")
    before = {m1: [a, b], m2: [c]}
    label = lesson_labels(before)
    after = [{"header": "M1", "items": [label[a.id], label[b.id]]},
             {"header": "M2", "items": [label[c.id]]}]
    assert dragged_changes(before, after, [m1, m2]) == {}


def test_a_reorder_and_a_move_between_modules_are_both_reported():
    m1, m2 = uuid.uuid4(), uuid.uuid4()
    a, b, c = _lesson("A"), _lesson("B"), _lesson("C")
    before = {m1: [a, b], m2: [c]}
    label = lesson_labels(before)
    after = [{"header": "M1", "items": [label[b.id]]},
             {"header": "M2", "items": [label[a.id], label[c.id]]}]
    assert dragged_changes(before, after, [m1, m2]) == {m1: [b.id], m2: [a.id, c.id]}


def test_equal_titles_stay_apart_and_durations_read_well():
    one, two, other = _lesson("Intro"), _lesson("Intro"), _lesson("Basics")
    labels = lesson_labels({uuid.uuid4(): [one, other], uuid.uuid4(): [two]})
    assert labels == {one.id: "Intro · 5 min", other.id: "Basics · 5 min", two.id: "Intro · 5 min (2)"}
    assert "#" not in "".join(labels.values())  # no id fragments on the cards
    assert [format_minutes(m) for m in (None, 0, 7, 60, 135)] == ["–", "–", "7 min", "1 h 00 min", "2 h 15 min"]
