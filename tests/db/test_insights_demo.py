"""The demo workspace plants one of each pattern; every insight finds its own, and nothing in the
clean content (the lecture with no hard passage, the course in a good order, the videos used once).
Also the command line (`python -m chronos_data insights`) and the Insights page (AppTest)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from chronos_data import cli, courses, videos
from chronos_data.demo import load_demo, remove_demo
from chronos_data.demo.workspace import CONFUSING_PASSAGE, HARD_SPOTS, UNCOVERED_QUESTIONS
from chronos_data.insights import KINDS, all_insights, timeline

EMAIL = "demo-insights@chronos.localhost"
CLEAN_LECTURE = next(title for title, spot in HARD_SPOTS.items() if spot is None)


@pytest.fixture(scope="module")
def demo(db, embedder):
    result = load_demo(db, embedder, email=EMAIL)
    yield result
    remove_demo(db, EMAIL)


@pytest.fixture(scope="module")
def found(db, embedder, demo):
    with db.workspace(demo.creator_id) as t:
        return all_insights(t, embedder)


def _of(found, kind):
    return [i for i in found if i.kind == kind]


# What each planted pattern must look like; checked on today's demo and on five other draws.

def check_confusion(found, duration):
    top = _of(found, "confusion")[0]
    assert top.video_title == CONFUSING_PASSAGE
    assert abs(top.second - HARD_SPOTS[CONFUSING_PASSAGE] * duration) <= 15
    assert "NOT IN" in top.passage and top.evidence["questions"] >= 4
    assert any("NOT IN" in q for q in top.evidence["example_questions"])


def check_dropoffs(found):
    drops = _of(found, "dropoff")
    assert drops and all(i.passage and "while explaining" in i.title for i in drops)
    assert CLEAN_LECTURE not in {i.video_title for i in drops + _of(found, "confusion")}


def check_content_gap(found):
    gaps = [i for i in _of(found, "content_gap") if "Kubernetes" in i.title]
    assert len(gaps) == 1
    assert gaps[0].evidence["questions"] == len(UNCOVERED_QUESTIONS)
    assert set(gaps[0].evidence["examples"]) <= set(UNCOVERED_QUESTIONS)


def check_concept_order(found):
    [order] = _of(found, "concept_order")
    assert "'detached HEAD'" in order.title and order.course_title == "Python and SQL foundations"
    assert order.evidence["used"]["lesson"] == "Git branches and merging"
    assert order.evidence["explained"]["lesson"] == "Undoing mistakes in git"


def check_course_split(found):
    [split] = _of(found, "course_split")
    assert split.video_title == "Git branches and merging" and split.course_title == "Shipping web apps"
    assert split.evidence["difference_points"] >= 15


def _confusing_duration(db, creator_id):
    with db.workspace(creator_id) as t:
        return next(v.duration_seconds for v in videos.list_videos(t) if v.title == CONFUSING_PASSAGE)


def test_the_confusing_passage_is_the_top_confusion_moment(db, demo, found):
    check_confusion(found, _confusing_duration(db, demo.creator_id))


def test_drop_offs_are_labelled_and_the_clean_lecture_has_none(found):
    check_dropoffs(found)


def test_the_uncovered_topic_is_one_content_gap_with_every_question(found):
    check_content_gap(found)


def test_the_term_used_before_its_lesson_is_found_only_in_the_course_with_both(found):
    check_concept_order(found)


def test_the_shared_video_is_split_by_course(found):
    check_course_split(found)


# Other seeds, and other days (weekdays, times of day, seasons): the simulated activity differs with
# both; the planted patterns must be found, and the clean lecture left alone, on every one.
DRAWS = [
    (1, datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
    (2, datetime(2026, 3, 1, 23, 50, tzinfo=UTC)),
    (3, datetime(2026, 6, 17, 12, 0, tzinfo=UTC)),
    (4, datetime(2026, 9, 26, 4, 15, tzinfo=UTC)),
    (5, datetime(2026, 12, 3, 18, 45, tzinfo=UTC)),
]


@pytest.mark.parametrize(("seed", "now"), DRAWS, ids=[f"seed{seed}-{now:%Y-%m-%d}" for seed, now in DRAWS])
def test_every_planted_pattern_is_found_on_other_draws_and_days(db, embedder, seed, now):
    email = f"demo-draw{seed}@chronos.localhost"
    result = load_demo(db, embedder, seed=seed, now=now, email=email)
    try:
        with db.workspace(result.creator_id) as t:
            found = all_insights(t, embedder)
        check_confusion(found, _confusing_duration(db, result.creator_id))
        check_dropoffs(found)
        check_content_gap(found)
        check_concept_order(found)
        check_course_split(found)
    finally:
        remove_demo(db, email)


def test_one_moment_is_named_at_one_second_by_every_finding_and_the_retention_chart(db, demo, found):
    confusion = _of(found, "confusion")[0]
    [dip] = [i for i in _of(found, "dropoff") if i.video_id == confusion.video_id
             and abs(i.second - confusion.second) <= 30]
    assert dip.second == confusion.second
    with db.workspace(demo.creator_id) as t:
        moments = timeline.retention_moments(t, confusion.video_id)
    assert confusion.second in [d["second"] for d in moments["drops"]]
    assert all(0 < d["lost"] < 1 for d in moments["drops"])


def test_moments_of_a_period_count_only_its_viewing_and_questions(db, demo):
    with db.workspace(demo.creator_id) as t:
        everything = timeline.confusion_insights(t)
        recent = timeline.confusion_insights(t, start=date.today() - timedelta(days=6), end=date.today())
        before_any = timeline.dropoff_insights(t, start=date(2000, 1, 1), end=date(2000, 1, 31))
    top = everything[0]
    same = [i for i in recent if i.key == top.key]
    assert not same or same[0].evidence["questions"] < top.evidence["questions"]
    assert before_any == []


def test_one_course_keeps_only_its_own_findings(db, embedder, demo):
    with db.workspace(demo.creator_id) as t:
        web = next(c.id for c in courses.list_courses(t) if c.title == "Shipping web apps")
        scoped = all_insights(t, embedder, course_id=web)
    assert not _of(scoped, "concept_order")
    assert all(i.video_title != CONFUSING_PASSAGE for i in _of(scoped, "confusion"))


def test_the_command_line_prints_every_kind(demo, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["insights", "--json", "--creator", EMAIL]) == 0
    printed = json.loads(capsys.readouterr().out)["insights"]
    assert {i["kind"] for i in printed} == set(KINDS)
    confusion = next(i for i in printed if i["kind"] == "confusion")
    assert confusion["video_title"] == CONFUSING_PASSAGE and confusion["second"] and confusion["passage"]
    assert cli.main(["insights", "--creator", EMAIL]) == 0
    assert "[concept_order] Lesson 5 uses 'detached HEAD'" in capsys.readouterr().out


def test_the_insights_page_shows_every_kind_and_plays_the_moment(app_env, monkeypatch, demo):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run()
    at = at.switch_page("pages/insights.py").run()
    assert not at.exception
    labels = at.segmented_control(key="insights_kind").options
    assert all(any(label.startswith(name) and not label.endswith("(0)") for label in labels)
               for name in ("Confusion map", "Drop-offs", "Content gaps", "Concept order", "One video, many courses"))
    play = next(b for b in at.button if b.label.startswith("Play at "))
    second = play.label.removeprefix("Play at ")
    play.click().run()
    assert any(f"from {second}" in m.value for m in at.markdown)
    # The demo's lectures are uploads stored as transcripts only: the player says so instead of
    # sending the creator to "its own platform".
    assert any("file is not in this workspace's data folder" in i.value for i in at.info)


def test_the_analytics_retention_tab_says_what_is_said_at_the_dips(app_env, monkeypatch, db, demo):
    from streamlit.testing.v1 import AppTest

    with db.workspace(demo.creator_id) as t:
        confusing = next(v.id for v in videos.list_videos(t) if v.title == CONFUSING_PASSAGE)

    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run()
    at = at.switch_page("pages/analytics.py").run()
    at = at.selectbox(key="analytics_retention_video").set_value(confusing).run()
    assert not at.exception
    panel = [m.value for m in at.markdown if "NOT IN" in m.value or "return nulls" in m.value]
    assert any("What is being said at these moments" in m.value for m in at.markdown) and panel


def test_the_course_builder_warns_before_publishing_and_after_a_reorder_that_causes_it(app_env, monkeypatch, db,
                                                                                          demo):
    from streamlit.testing.v1 import AppTest

    with db.workspace(demo.creator_id) as t:
        course = next(c for c in courses.list_courses(t) if c.title == "Python and SQL foundations")
        lessons = {lesson.title: lesson for m in courses.course_outline(t, course.id).modules for lesson in m.lessons}
    git = lessons["Git branches and merging"]
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run().switch_page("pages/courses.py").run()
    warnings = [w.value for w in at.warning]
    assert any("uses 'detached HEAD'" in w for w in warnings)  # the pre-publish checklist

    at = at.button(key=f"courses_down_{git.id}").click().run()  # explained first now: fixed
    assert not any("detached HEAD" in w.value for w in at.warning)
    at = at.button(key=f"courses_up_{git.id}").click().run()  # back: the reorder is named at once
    assert any("In this order, lesson 5 uses 'detached HEAD'" in w.value for w in at.warning)


def test_a_youtube_moment_links_to_its_second(t):
    from chronos_data.insights import Insight, _with_links

    video = videos.create_video(t, title="On YouTube", source_type="youtube", source_id="dQw4w9WgXcQ",
                                duration_seconds=600)
    [linked] = _with_links(t, [Insight(kind="dropoff", title="A dip", score=1.0, video_id=video, second=370.4)])
    assert linked.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=370s"
