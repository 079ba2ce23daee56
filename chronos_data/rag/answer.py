"""The assistant: a question in, a cited answer out, and the conversation kept.

One question is three short transactions, so no database connection waits on a model:
  1. ``Assistant.start``: check the input and the daily cap, store the question (it survives
     anything that fails later), rewrite a follow-up, retrieve the passages;
  2. the answer streams from the language model (or is quoted offline) outside any transaction;
  3. ``AnswerRun`` stores the answer with its citations, tokens, model and latency, and counts
     the question in ``usage_metrics`` and each cited video's ``video_analytics.ai_interactions``.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .. import chat, creators
from ..db import Database, Workspace
from ..embeddings import CachedEmbedder, Embedder
from ..errors import ChronosError, NotFound, ValidationError
from ..timecode import format_seconds
from ..viewing import usage
from .citations import Citation, cited_numbers, from_source
from .extractive import REFUSAL, Moment, candidate_moments, content_words, extract_answer, word_weights
from .language import language_note
from .llm import AnswerError, ChatModel, StreamUsage
from .moment_vectors import read_moment_vectors, store_moment_vectors
from .prompting import NOT_FOUND, answer_messages, rewrite_messages
from .retrieve import Scope, Source, document_frequencies, retrieve, scope_video_ids

__all__ = ["Answer", "AnswerRun", "Assistant", "OFFLINE_LABEL", "OFFLINE_MODEL", "QuestionNotAnswered", "is_elliptical",
           "model_label", "session_scope", "standalone_query"]

log = logging.getLogger(__name__)

#: The ``model`` recorded for answers quoted from transcripts without a language model.
OFFLINE_MODEL = "extractive"
#: What people read for it (stored rows keep OFFLINE_MODEL: the name is mapped where it is shown).
OFFLINE_LABEL = "Quoted from your videos"
_TOKENS_PER_CREDIT = 1_000  # ai_credits_used: one credit per thousand model tokens, rounded up
# An opener that continues the question before ("and if I already pushed it?", "what about tuples?").
_OPENER = re.compile(r"^\W*(and|but|or|so|also|then|what about|how about|what if)\b", re.IGNORECASE)
# Words standing for a subject named earlier ("is it hashable?", "does that work for lists?").
_STANDS_FOR = frozenset("it its it's itself they them their theirs that this those these one ones same".split())
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# "is it possible to …", "it's true that …": an "it" that stands for nothing said before.
_EXPLETIVE = re.compile(r"\b(?:is it|it is|it's|was it|it was)\s+(?:[a-z]+\s+){0,2}?(?:that|to|if|whether)\b")
# A question with such a word and at most this many content words of its own leans on the one
# before ("can it be used as a key?"); one with more names its own subject, and a question with no
# such word always does ("Is a tuple hashable?" after "What is a left join?" is about tuples).
_ELLIPTICAL_WORDS = 3
_CARRIED_QUESTIONS = 3  # earlier questions searched with an elliptical one: the subject's and the latest two
_NEW_SUBJECT = re.compile(r"^\W*(?:(?:and|or|also)\s+)*(?:(?:what|how)\s+about|and|or)\s+(?P<rest>.+)$",
                          re.IGNORECASE | re.DOTALL)
# A follow-up whose remainder starts so is a question of its own ("and can it …?", "and if I …?").
_ASKS_ITSELF = frozenset("if when why how what which who where whether is are was were can could does do did "
                         "should would will has have".split())


class QuestionNotAnswered(AnswerError):
    """The question was stored, but its passages could not be searched (the embedding service
    failed); ``session_id`` is the conversation that keeps it, for the page to open."""

    def __init__(self, message: str, session_id: uuid.UUID, question_id: uuid.UUID) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.question_id = question_id


@dataclass(frozen=True)
class Answer:
    """A finished answer, as stored and as ``ask --json`` prints it."""

    text: str
    found: bool
    citations: list[Citation]
    model: str
    session_id: uuid.UUID
    message_id: uuid.UUID
    question_id: uuid.UUID
    query: str
    latency_ms: int
    token_count: int
    notice: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.text, "found": self.found, "citations": [c.to_json() for c in self.citations],
                "model": self.model, "model_label": model_label(self.model), "session_id": str(self.session_id),
                "message_id": str(self.message_id),
                "query": self.query, "latency_ms": self.latency_ms, "token_count": self.token_count,
                "notice": self.notice}


def model_label(model: str | None) -> str:
    """The human name of an answer's ``model``: "Quoted from your videos" offline, else the model's."""
    return OFFLINE_LABEL if model == OFFLINE_MODEL else (model or "")


def standalone_query(history: Sequence[tuple[str, str]], question: str, model: ChatModel | None = None) -> str:
    """``question`` made searchable on its own, using the conversation for what it refers to.

    With a model, the model rewrites it. Offline, an elliptical follow-up (``is_elliptical``) is
    resolved against the conversation (``_resolve``); any other question is searched as typed, so
    it is never answered with an earlier question's passages.
    """
    previous = [content for role, content in history if role == "user"]
    if not previous:
        return question
    if model is not None:
        try:
            rewritten = " ".join(model.complete(rewrite_messages(history, question), max_tokens=80).split())
        except AnswerError as exc:
            log.warning("query rewriting failed, searching the question as typed: %s", exc)
            rewritten = ""
        return rewritten if 0 < len(rewritten) <= chat.MAX_QUESTION_CHARS else question
    if not is_elliptical(question):
        return question
    return _resolve([*previous, question])


def _resolve(questions: Sequence[str]) -> str:
    """The last of ``questions`` as a search, read through the conversation from its start.

    A question naming its subject starts afresh; "what about X?" / "and X?" asks the same about X
    ("What is a left join?", "what about tuples?" → "What is a tuples?"), so the earlier subject's
    words are left out; any other elliptical question is searched with the ones it leans on (the
    subject's question and the latest of those since)."""
    base, carried = questions[0], []
    for question in questions[1:]:
        if not is_elliptical(question):
            base, carried = question, []
        elif (subject := _new_subject(question)) is not None:
            base, carried = f"{_frame(base)} {subject}".strip(), []
        else:
            carried = [*carried, question][-(_CARRIED_QUESTIONS - 1):]
    return " ".join([base, *carried])


def _new_subject(question: str) -> str | None:
    """X of "what about X?", "how about X?", "and X?", "or X?" when X is a subject (no pronoun, not a
    question of its own like "and can it return several values?"), else None."""
    match = _NEW_SUBJECT.match(question)
    if match is None:
        return None
    rest = match["rest"].strip()
    words = _WORD.findall(rest.lower())
    if not words or words[0] in _ASKS_ITSELF or _STANDS_FOR.intersection(words) or not content_words(rest):
        return None
    return rest


def _frame(question: str) -> str:
    """What ``question`` asks without what it asks about: its words minus the content words."""
    return " ".join(token for token in question.split() if not content_words(token))


def is_elliptical(question: str) -> bool:
    """Whether ``question`` leans on the one before for its subject: it opens with "and …", "but …",
    "what about …", or a pronoun stands for its subject and it has few content words of its own."""
    if _OPENER.search(question):
        return True
    words = _WORD.findall(_EXPLETIVE.sub(" ", question.lower()))
    # "that" after a content word joins a clause ("the method that sorts", "true that tuples …")
    standing = [w for i, w in enumerate(words) if w in _STANDS_FOR
                and not (w == "that" and i > 0 and content_words(words[i - 1]))]
    if not standing:
        return False
    own = [w for w in content_words(question) if w not in _STANDS_FOR]
    return len(own) <= _ELLIPTICAL_WORDS


@dataclass
class AnswerRun:
    """An answer under way: its sources are known, its text streams by iterating over it.

    ``for piece in run`` yields the answer's text (the page hands it to ``st.write_stream``);
    when the iteration ends the answer is stored and ``run.answer`` is set. A reader that stops
    early (closes the iterator) waits while the rest is read, and the answer is stored all the same.
    """

    assistant: Assistant
    creator_id: uuid.UUID
    session_id: uuid.UUID
    question_id: uuid.UUID
    question: str
    query: str
    sources: list[Source]
    nearest: list[Source]
    question_vector: Any
    started: float
    scope: Scope = field(default_factory=Scope)
    answer: Answer | None = None
    notice: str | None = None
    _citations: list[Citation] = field(default_factory=list)
    _reading: Iterator[str] | None = None  # the answer's pieces, once a reader started on them

    @property
    def found(self) -> bool:
        return bool(self.sources)

    @property
    def citations(self) -> list[Citation]:
        """The numbered passages (generated answers) or sentences (offline), once known."""
        return self._citations

    def __iter__(self) -> Iterator[str]:
        if self.answer is not None:
            yield self.answer.text
            return
        pieces = self._reading = self._reading or self._answer()
        try:
            # Not ``yield from``: closing this generator would close ``pieces`` too, before its end is read.
            for piece in pieces:  # noqa: UP028
                yield piece
        except GeneratorExit:
            # The reader stopped early (the page reran when the user clicked elsewhere mid-answer):
            # the question is stored, so read the rest of the answer and store it with it.
            self.read_to_end()
            raise

    def read_to_end(self) -> None:
        """Read and store the answer if nobody did: the page stopped before it started reading (the user
        clicked elsewhere while the transcripts were searched) or while it streamed. Never raises."""
        if self.answer is not None:
            return
        try:
            # The pieces a stopped reader left, or all of them: the answer is written (and paid for) once.
            for _ in self._reading or self._answer():
                pass
        except Exception:  # nobody is left to tell: the question stays, unanswered, in its conversation
            log.warning("the rest of an unread answer could not be stored", exc_info=True)

    def _answer(self) -> Iterator[str]:
        """The answer's pieces as they arrive; once the last is read, the answer is stored."""
        usage_box = StreamUsage()
        model_name, parts = OFFLINE_MODEL, []
        if not self.sources:
            parts.append(self.assistant.not_found_text(self))
        elif self.assistant.chat_model is None:
            parts.append(self._extractive())
        else:
            model_name = self.assistant.chat_model.model
            self._citations = [from_source(i, s) for i, s in enumerate(self.sources, start=1)]
            try:
                for piece in self.assistant.chat_model.stream(answer_messages(self.query_for_answer, self.sources),
                                                              usage_box):
                    parts.append(piece)
                    yield piece
            except AnswerError as exc:
                self.notice = str(exc)
                if parts:  # keep what arrived, say it is cut short
                    parts.append(f"\n\n*(The answer was cut off: {exc})*")
                    yield parts[-1]
                else:  # nothing arrived: answer offline instead, and say why
                    model_name = OFFLINE_MODEL
                    parts.append(self._offline_fallback())
        text = "".join(parts)
        if model_name == OFFLINE_MODEL:
            yield text
        elif NOT_FOUND.rstrip(".") in text and not cited_numbers(text):
            self._citations = []
        else:
            used = set(cited_numbers(text))
            self._citations = [c for c in self._citations if c.number in used] or self._citations
        self.answer = self.assistant.finish(self, text, model_name, usage_box)

    @property
    def query_for_answer(self) -> str:
        return self.question if self.query == self.question else f"{self.question}\n(Search query: {self.query})"

    def _extractive(self) -> str:
        quoted = self.assistant.extract(self)
        self._citations = quoted.citations
        if quoted.refused:  # no moment answers: the passages are only the closest we have
            self.sources, self.nearest = [], self.sources
        return quoted.text or self.assistant.not_found_text(self)

    def _offline_fallback(self) -> str:
        """The quoted answer when the model failed; if quoting fails too (it embeds sentences, and the
        embedding service may be down with the model), the passages found, listed as sources."""
        try:
            return self._extractive()
        except ChronosError as exc:
            log.warning("offline fallback failed too: %s", exc)
            self._citations = [from_source(i, s) for i, s in enumerate(self.sources, start=1)]
            return "No answer could be written this time; open the passages under Sources to read what your videos say."


class Assistant:
    """Answers questions for one process: the database, the embedder and (optionally) a model."""

    def __init__(self, db: Database, embedder: Embedder, chat_model: ChatModel | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.chat_model = chat_model
        # The offline answer's sentences and words, embedded once per process (embeddings.CachedEmbedder).
        self.moment_embedder = CachedEmbedder(embedder)

    def start(
        self,
        creator_id: uuid.UUID,
        question: str,
        *,
        session_id: uuid.UUID | None = None,
        scope: Scope | None = None,
    ) -> AnswerRun:
        """Store the question and find its passages; iterate over the result for the answer.

        ``scope``: where to search; None keeps the conversation's (every video for a new one). A
        conversation asked in another scope keeps that one from now on.

        Raises:
            ValidationError: empty or overlong question, a student's (read-only) conversation.
            LimitReached: the workspace asked its daily number of questions.
            NotFound: the conversation or the course is not in this workspace.
        """
        started = time.perf_counter()
        question = chat.clean_question(question)
        with self.db.workspace(creator_id) as t:
            chat.check_daily_cap(t, creators.get_creator(t).subscription_tier)
            if session_id is None:
                scope = scope or Scope()
                _check_scope(t, scope)  # before anything is stored: a refused question leaves no conversation
                session_id = chat.create_session(t, chat.auto_title(question),
                                                 context_video_ids=list(scope.video_ids or []),
                                                 context_course_id=scope.course_id)
                history: list[tuple[str, str]] = []
            else:
                session = chat.get_session(t, session_id)
                if session.read_only:
                    raise ValidationError("This is a student's conversation: you can read it, but not ask in it. "
                                          "Start a new conversation to ask yourself.")
                if session.deleted_at is not None:  # trashed in another tab, or by another command
                    raise NotFound("This conversation is in the trash: restore it to continue, or start a new one.")
                kept = session_scope(session)
                if scope is None:
                    scope = kept
                _check_scope(t, scope)
                if scope != kept:  # the conversation searches where it was last asked
                    chat.set_session_scope(t, session_id, context_video_ids=list(scope.video_ids or []),
                                           context_course_id=scope.course_id)
                history = [(m.role, m.content) for m in chat.list_messages(t, session_id)]
            question_id = chat.add_message(t, session_id, "user", question,
                                           metadata={"scope": _scope_json(scope)})
            usage.add_usage(t, chat_messages_sent=1)
        query = standalone_query(history, question, self.chat_model)
        try:
            vector = self.embedder.embed([query])[0]
        except ChronosError as exc:  # the question stays stored in its conversation, to ask again
            raise QuestionNotAnswered(str(exc), session_id, question_id) from exc
        with self.db.workspace(creator_id) as t:
            # Offline, with a calibration for the model, the quoting refuses from the moments it
            # scores (extractive.REFUSAL); the passage floor would refuse answerable questions whose
            # answer is one sentence of a minute of other talk.
            by_moments = self.chat_model is None and self.embedder.model in REFUSAL
            sources, nearest = retrieve(t, query, self.embedder, scope=scope, query_vector=vector,
                                        use_floor=not by_moments)
        return AnswerRun(self, creator_id, session_id, question_id, question, query, sources, nearest, vector, started,
                         scope=scope)

    def ask(self, creator_id: uuid.UUID, question: str, **kwargs: Any) -> Answer:
        """``start`` and read the whole answer (the command line's way)."""
        run = self.start(creator_id, question, **kwargs)
        for _ in run:
            pass
        assert run.answer is not None
        return run.answer

    def extract(self, run: AnswerRun):
        """The offline answer of ``run``: quoted moments, best first, with their own seconds.

        The moments' vectors are read from ``moment_vectors`` (stored at import); those missing (a
        video imported before the table) are embedded now and stored for the next question.
        """
        video_ids = [s.video_id for s in run.sources]
        with self.db.workspace(run.creator_id) as t:
            segments = _segments(t, video_ids)
            frequencies, passages = document_frequencies(t, content_words(run.query), self.embedder.model)
            candidates = candidate_moments(run.sources, segments)
            texts = list(dict.fromkeys(part for m in candidates for part in m.parts))
            known = read_moment_vectors(t, video_ids, texts, self.embedder.model)
        missing = [m for m in candidates if any(part not in known for part in m.parts)]
        if missing:
            self._fill(run.creator_id, missing, known)
        return extract_answer(run.query, run.question_vector, run.sources, self.moment_embedder, segments,
                              word_weights=word_weights(frequencies, passages), part_vectors=known)

    def _fill(self, creator_id: uuid.UUID, moments: Sequence[Moment], known: dict[str, Any]) -> None:
        """Embed the parts of ``moments`` not in ``known`` (added to it) and store them with their video."""
        by_video: dict[uuid.UUID, list[str]] = {}
        for moment in moments:
            by_video.setdefault(moment.video_id, []).extend(p for p in moment.parts if p not in known)
        texts = list(dict.fromkeys(p for parts in by_video.values() for p in parts))
        known.update(zip(texts, self.moment_embedder.embed(texts), strict=True))
        try:
            with self.db.workspace(creator_id) as t:
                for video_id, parts in by_video.items():
                    store_moment_vectors(t, video_id, {p: known[p] for p in dict.fromkeys(parts)},
                                         self.embedder.model)
        except IntegrityError as exc:  # a video deleted meanwhile: answer all the same, keep nothing
            log.info("moment vectors not kept: %s", exc.orig)

    def not_found_text(self, run: AnswerRun) -> str:
        """What to say when the videos do not cover the question: what the videos searched (the
        conversation's scope) do cover, and, for a question in another language, which to ask in."""
        lines = [NOT_FOUND]
        if run.nearest:
            near = run.nearest[0]
            lines.append(f"The closest passage is in “{near.title}” at {format_seconds(near.start_seconds)}, "
                         "but it does not seem to answer this.")
        with self.db.workspace(run.creator_id) as t:
            in_scope = scope_video_ids(t, run.scope)
            titles = _ready_titles(t, in_scope)
            spoken = _transcript_language(t, in_scope)
        searched = ("Your videos cover" if in_scope is None else
                    "This course covers" if run.scope.course_id else "The chosen videos cover")
        if titles:
            lines.append(f"{searched}: " + "; ".join(f"“{title}”" for title in titles)
                         + ". Try asking about one of these, or rephrase with words the video uses.")
        elif in_scope is not None:
            lines.append("None of the videos searched has a searchable transcript yet: search all videos instead.")
        else:
            lines.append("No video has a searchable transcript yet: add one on the Videos page.")
        if note := language_note(run.question, spoken):
            lines.append(note)
        return "\n\n".join(lines)

    def finish(self, run: AnswerRun, text: str, model: str, usage_box: StreamUsage) -> Answer:
        """Store the answer and count the question; returns what was stored."""
        latency_ms = int((time.perf_counter() - run.started) * 1000)
        found = bool(run.sources) and bool(run.citations)
        tokens = usage_box.total_tokens if model != OFFLINE_MODEL else 0
        if model != OFFLINE_MODEL and tokens == 0:
            tokens = math.ceil(len(text) / 4)  # the server did not report usage: about 4 characters a token
        with self.db.workspace(run.creator_id) as t:
            message_id = chat.add_message(
                t, run.session_id, "assistant", text, video_references=[c.to_json() for c in run.citations],
                token_count=tokens, model=model, latency_ms=latency_ms,
                metadata={"question_id": str(run.question_id), "found": found, "query": run.query, "notice": run.notice,
                          "prompt_tokens": usage_box.prompt_tokens, "completion_tokens": usage_box.completion_tokens})
            if tokens:
                usage.add_usage(t, ai_credits_used=math.ceil(tokens / _TOKENS_PER_CREDIT))
            _count_interactions(t, {c.video_id for c in run.citations})
        return Answer(text=text, found=found, citations=run.citations, model=model, session_id=run.session_id,
                      message_id=message_id, question_id=run.question_id, query=run.query, latency_ms=latency_ms,
                      token_count=tokens, notice=run.notice)


def session_scope(session: chat.ChatSession) -> Scope:
    """The scope a conversation searches, as stored with it."""
    return Scope(course_id=session.context_course_id,
                 video_ids=tuple(session.context_video_ids) if session.context_video_ids else None)


def _check_scope(t: Workspace, scope: Scope) -> None:
    """Raise NotFound unless the scope's course and chosen videos are this workspace's, out of the trash."""
    scope_video_ids(t, scope)  # the course's check
    if not scope.video_ids:
        return
    live = t.conn.execute(
        sa.text("SELECT count(*) FROM videos WHERE creator_id = :creator AND id = ANY(:ids) AND NOT is_deleted"),
        {"creator": t.creator_id, "ids": list(set(scope.video_ids))}).scalar_one()
    if live < len(set(scope.video_ids)):
        raise NotFound("A chosen video is not in this workspace (or it is in the trash): choose the videos again, "
                       "or search all videos.")


def _scope_json(scope: Scope) -> dict[str, Any]:
    return {"course_id": str(scope.course_id) if scope.course_id else None,
            "video_ids": [str(v) for v in scope.video_ids] if scope.video_ids is not None else None}


def _segments(t: Workspace, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[float, float, str]]]:
    rows = t.conn.execute(sa.text("SELECT id, transcript_segments FROM videos WHERE creator_id = :creator "
                                  "AND id = ANY(:ids)"), {"creator": t.creator_id, "ids": list(set(video_ids))})
    return {row.id: [(float(a), float(b), str(c)) for a, b, c in (row.transcript_segments or [])] for row in rows}


def _ready_titles(t: Workspace, video_ids: list[uuid.UUID] | None, limit: int = 5) -> list[str]:
    """The newest searchable videos' titles, among ``video_ids`` (None: all the workspace's)."""
    return [row[0] for row in t.conn.execute(
        sa.text("SELECT title FROM videos WHERE creator_id = :creator AND status = 'completed' AND NOT is_deleted "
                "AND (CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[]))) "
                "ORDER BY created_at DESC, title LIMIT :limit"), {"creator": t.creator_id, "ids": video_ids, "limit": limit})]


def _transcript_language(t: Workspace, video_ids: list[uuid.UUID] | None) -> str:
    """The language most of the searched transcripts are in; English when none says (subtitle files)."""
    return t.conn.execute(
        sa.text("SELECT transcript_language FROM videos WHERE creator_id = :creator AND status = 'completed' "
                "AND NOT is_deleted AND transcript_language IS NOT NULL "
                "AND (CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[]))) "
                "GROUP BY transcript_language ORDER BY count(*) DESC, transcript_language LIMIT 1"),
        {"creator": t.creator_id, "ids": video_ids}).scalar_one_or_none() or "en"


def _count_interactions(t: Workspace, video_ids: set[uuid.UUID]) -> None:
    """One AI interaction today for each video the answer cited (the seeds' ai_interactions)."""
    if not video_ids:
        return
    t.conn.execute(
        sa.text("INSERT INTO video_analytics (video_id, creator_id, date, ai_interactions) "
                "SELECT v, :creator, current_date, 1 FROM unnest(CAST(:videos AS uuid[])) AS v "
                "ON CONFLICT (video_id, date) DO UPDATE SET ai_interactions = video_analytics.ai_interactions + 1"),
        {"creator": t.creator_id, "videos": sorted(video_ids)},
    )
