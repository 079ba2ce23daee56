"""Terms a course explains and where lessons use them: the concept-order check's text analysis. Pure.

* **Explanations**: sentences that define a term, in the forms lecturers use: "A list comprehension
  is a …", "Generators are functions that …", "X means / refers to / stands for / lets you …",
  "… is called X", "we call this X", "X, which is …", and "What is X?" followed by its answer. The
  first such sentence in lesson order is where the lessons explain the term.
* **Uses**: any other sentence that says the term (plurals and "fast-forward" / "fast forward"
  count as the same term), except a forward reference ("we'll see X in a later lesson").

Only terms the lessons explain somewhere can be found, so pronouns, filler ("the idea is a …") and
common words that are not terms are kept out by word lists rather than by guessing what is technical.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .sentences import LessonTranscript, Sentence

__all__ = ["MAX_TERM_WORDS", "Explanation", "OrderProblem", "Place", "find_explanations", "find_order_problems"]

#: Longest term, in words: longer captures are clauses, not names of things.
MAX_TERM_WORDS = 4
#: Words a definition must say after its verb ("is a …"): "X is a thing" explains nothing.
MIN_PREDICATE_WORDS = 3
#: Words an answer to "What is X?" needs to count as one.
MIN_ANSWER_WORDS = 4
#: Letters of the word index's keys: a term's crude stem keeps at least three ("api" of "apis").
_PREFIX = 3

# Function words, pronouns and auxiliaries: never part of a term.
_STOPWORDS = frozenset("""
a an the this that these those it its it's they them their there here we you your i me my our us he she his her
and or but so if then than because since while when where which who whom whose what why how whether
is are was were be been being am do does did doing done have has had having can could will would shall should
may might must not no nor only just also too very really quite rather almost even still yet already again
of in on at to for from by with without about into onto over under above below between through during before
after up down out off as like such some any all each every both either neither few many much more most other
another own same one two three four five six seven eight nine ten first second third next last
let lets let's get gets got make makes made go goes going say says said see sees saw look looks
now today well okay ok oh yes yeah right sure actually basically simply essentially literally
usually often always never sometimes typically generally normally mostly probably maybe perhaps
something anything nothing everything someone anyone everyone nobody somebody
""".split())
# Words that are not terms on their own, however a sentence defines them ("The idea is a …").
_GENERIC = frozenset("""
thing things way ways idea ideas point points problem problems issue issues reason reasons result results
answer answers question questions difference differences trick tricks rule rules goal goals key keys part parts
step steps example examples case cases lesson lessons video videos course courses module modules topic topics
time times people person everyone lot lots bit bits kind kinds type types sort sorts version versions name names
word words number numbers value values default defaults option options choice choices main big small good best
better bad worse worst important whole rest new old simple easy hard real solution solutions approach approaches
method methods feature features detail details fact facts note notes tip tips catch benefit benefits cost costs
downside upside advantage advantages disadvantage disadvantages alternative alternatives output input code
private public latest fine great nice common classic usual normal basic basics simple general special same
thing stuff place places end start beginning middle today tomorrow yesterday week month year day days
job jobs work task tasks goal plan trouble mistake mistakes bug bugs fix fixes exercise exercises homework
""".split())
# Words before the subject that are not part of it ("So, a closure is …").
_LEADS = frozenset("so now okay ok well basically remember first second third finally and but here also then "
                   "essentially simply again recall".split())
_ARTICLES = frozenset({"a", "an", "the"})
# After "is"/"are": what a definition goes on with ("is a …", "is when …", "is what …").
_DEFINING_NEXT = frozenset({"a", "an", "the", "what", "how", "when", "where", "any", "one"})
_SOFTENERS = frozenset({"just", "simply", "basically", "essentially", "really", "actually", "literally"})
# "is a bit slow", "is a good choice": a verdict, not a definition.
_VERDICTS = frozenset("bit lot little few couple good great bad big nice problem must mistake pain common "
                      "classic huge tiny small simple quick better worse best worst".split())
# Verbs that define their subject ("X means …").
_DEFINING_VERBS: dict[str, frozenset[str] | None] = {
    "means": None, "mean": None, "describes": None, "describe": None,
    "refers": frozenset({"to"}), "refer": frozenset({"to"}), "stands": frozenset({"for"}), "stand": frozenset({"for"}),
    "lets": frozenset({"you", "us"}), "let": frozenset({"you", "us"}), "allows": frozenset({"you", "us"}),
    "allow": frozenset({"you", "us"}),
}
_RELATIVES = frozenset({"that", "which", "who", "where"})
# Sentences that point ahead: mentioning a term there is a promise, not a use.
_FORWARD = re.compile(
    r"\b(?:later|next\s+(?:lesson|time|module|video|chapter|section|week|part)|upcoming|coming\s+up|"
    r"(?:we|i|you)(?:'ll|\s+will|\s+are\s+going\s+to|'re\s+going\s+to)\s+(?:see|cover|learn|get\s+to|talk\s+about|"
    r"look\s+at|discuss|explain|meet|introduce|come\s+back\s+to)|don't\s+worry\s+about|do\s+not\s+worry\s+about|"
    r"more\s+on\s+(?:this|that|it)|in\s+a\s+(?:future|later|moment)|for\s+now)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][\w+#.'/-]*[\w+#]|[A-Za-z0-9]")
_TRAILING = ",;:.!?)\"'…”’"


@dataclass(frozen=True)
class Place:
    """A sentence of a lesson: 0-based positions in the order checked."""

    lesson: int
    sentence: int


@dataclass(frozen=True)
class Explanation:
    """Where the lessons explain a term: the term as said, the key its forms share ("indexes",
    "index"), the sentence, and the passage (a question with its answer)."""

    term: str
    key: tuple[str, ...]
    place: Place
    passage: str


@dataclass(frozen=True)
class OrderProblem:
    """A term used in ``used`` (and ``uses`` places before its explanation) but first explained at
    ``explained``; lesson positions are 0-based in the order checked."""

    term: str
    key: tuple[str, ...]
    used: Place
    explained: Place
    explanation: str
    uses: tuple[Place, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Terms
# --------------------------------------------------------------------------------------------


def _clean(token: str) -> str:
    return token.strip(_TRAILING).strip("(\"'“‘")


def _stem(word: str) -> str:
    """A crude singular shared by a word's forms: index/indexes, query/queries, cache/caches."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ies", "es", "s", "e", "y"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            return w[: -len(suffix)]
    return w


def _case_matters(token: str, at_sentence_start: bool) -> bool:
    """HEAD, ETag, SameSite, and capitalised names mid-sentence: not the ordinary word."""
    rest = token[1:] if at_sentence_start else token
    return any(c.isupper() for c in rest)


def _term_pattern(tokens: Sequence[str], case: Sequence[bool]) -> re.Pattern[str]:
    parts = []
    for token, exact in zip(tokens, case, strict=True):
        pieces = [re.escape(p) for p in re.split(r"-", token) if p]
        if exact:
            body = r"[\s-]*".join(pieces)
            parts.append(f"(?:{body})(?:s|es|'s)?")
        else:
            *head, tail = [p.lower() for p in re.split(r"-", token) if p]
            stem = _stem(tail)
            body = r"[\s-]*".join([*(re.escape(h) for h in head), re.escape(stem) + r"(?:ies|es|e|s|y)?(?:'s)?"])
            parts.append(f"(?i:{body})")
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(parts) + r"(?![\w-])")


@dataclass(frozen=True)
class _Term:
    text: str
    key: tuple[str, ...]
    pattern: re.Pattern[str]
    lookup: str  # the prefix by which the word index finds candidate sentences


def _make_term(tokens: Sequence[str], at_sentence_start: bool) -> _Term | None:
    words = [_clean(t) for t in tokens]
    if not words or len(words) > MAX_TERM_WORDS or any(not w or not _WORD.fullmatch(w) for w in words):
        return None
    lower = [w.lower() for w in words]
    bases = [w[:-2] if w.endswith("'s") else w for w in lower]
    if any(w in _STOPWORDS or w.isdigit() for w in bases):
        return None
    if all(w in _GENERIC for w in bases) or len("".join(lower)) < 3:
        return None
    case = [_case_matters(w, at_sentence_start and n == 0) for n, w in enumerate(words)]
    shown = " ".join(w if exact else w.lower() for w, exact in zip(words, case, strict=True))
    key = tuple(p for w in lower for p in (_stem(part) for part in w.split("-") if part))
    longest = max((p for w in lower for p in re.findall(r"[a-z0-9]+", w)), key=len)
    return _Term(shown, key, _term_pattern(words, case), _stem(longest)[:_PREFIX])


class _Index:
    """Which sentences hold a word beginning with each 3-letter prefix: a term is then matched
    against a handful of sentences instead of the whole course."""

    def __init__(self, lessons: Sequence[LessonTranscript]) -> None:
        self.places: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for n, lesson in enumerate(lessons):
            for s, sentence in enumerate(lesson.sentences):
                for word in re.findall(r"[a-z0-9]+", sentence.text.lower()):
                    self.places[word[:_PREFIX]].add((n, s))

    def find(self, lessons: Sequence[LessonTranscript], term: _Term) -> list[tuple[int, int]]:
        return sorted(place for place in self.places.get(term.lookup, ())
                      if term.pattern.search(lessons[place[0]].sentences[place[1]].text))


# --------------------------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------------------------


def _subject_definition(tokens: list[str]) -> tuple[int, int, int] | None:
    """"(So,) (a) X is a …" / "X are things that …" / "X means …": where the subject X starts and
    ends (exclusive) and where its predicate starts, or None."""
    i = 0
    while i < len(tokens) and _clean(tokens[i]).lower() in _LEADS and len(tokens) - i > 3:
        i += 1
    if i < len(tokens) and tokens[i].lower() in _ARTICLES:
        i += 1
    start = i
    while i < len(tokens) and i - start <= MAX_TERM_WORDS:
        word = tokens[i].lower()
        if word in ("is", "are") and i > start:
            j = i + 1
            while j < len(tokens) and tokens[j].lower() in _SOFTENERS:
                j += 1
            if j >= len(tokens):
                return None
            after = _clean(tokens[j]).lower()
            if after in ("not", "n't") or tokens[j].lower().startswith("not"):
                return None
            if after in _DEFINING_NEXT:
                if after in _ARTICLES and j + 1 < len(tokens) and _clean(tokens[j + 1]).lower() in _VERDICTS:
                    return None
                return start, i, j
            if j + 1 < len(tokens) and (after, _clean(tokens[j + 1]).lower()) in (("defined", "as"), ("short", "for")):
                return start, i, j
            # "Generators are functions that …": a class of things, then what sets them apart.
            window = [_clean(t).lower() for t in tokens[j + 1 : j + 4]]
            if after not in _STOPWORDS and any(w in _RELATIVES for w in window) and "," not in tokens[j]:
                return start, i, j
            return None
        if word in _DEFINING_VERBS and i > start:
            needed = _DEFINING_VERBS[word]
            if needed is None:
                return start, i, i + 1
            if i + 1 < len(tokens) and _clean(tokens[i + 1]).lower() in needed:
                return start, i, i + 2
            return None
        if tokens[i][-1:] in _TRAILING and tokens[i][-1:] not in "'\"":
            return None  # a clause ended before any defining verb
        i += 1
    return None


def _captures_after(tokens: list[str], begin: int) -> list[list[str]]:
    """Words after "called" / "we call this": every prefix up to a stop word or punctuation."""
    i = begin
    if i < len(tokens) and tokens[i].lower() in _ARTICLES:
        i += 1
    words: list[str] = []
    while i < len(tokens) and len(words) < MAX_TERM_WORDS:
        word = _clean(tokens[i])
        if not word or word.lower() in _STOPWORDS:
            break
        words.append(tokens[i])
        if tokens[i][-1:] in _TRAILING:
            break
        i += 1
    # The full capture, then shorter ones of two words or more: "called a sequential scan" does
    # not explain "sequential", but "is called memoization caching results" may over-reach.
    return [words[:n] for n in range(len(words), 0, -1) if n == len(words) or n >= 2]


def _captures_before(tokens: list[str], end: int) -> list[list[str]]:
    """Words before ", which is": every suffix back to a stop word."""
    words: list[str] = []
    i = end
    while i >= 0 and len(words) < MAX_TERM_WORDS:
        word = _clean(tokens[i])
        if not word or word.lower() in _STOPWORDS or (i < end and tokens[i][-1:] in _TRAILING):
            break
        words.insert(0, tokens[i])
        i -= 1
    # As above: "an index-only scan, which is …" explains "index-only scan", not "scan".
    return [words[-n:] for n in range(len(words), 0, -1) if n == len(words) or n >= 2]


def _explanation_candidates(sentences: Sequence[Sentence], index: int) -> list[tuple[list[list[str]], bool, str]]:
    """The ways sentence ``index`` may explain a term: (term candidates, longest first; whether
    the first word opens the sentence; the passage)."""
    text = sentences[index].text
    tokens = text.split()
    lower = [_clean(t).lower() for t in tokens]
    found: list[tuple[list[list[str]], bool, str]] = []
    subject = _subject_definition(tokens)
    if subject is not None and len(tokens) - subject[2] >= MIN_PREDICATE_WORDS:
        begin, end, _ = subject
        found.append(([tokens[begin:end]], begin == 0, text))
    for n, word in enumerate(lower):
        if word in ("called", "named") or (word == "known" and n + 1 < len(lower) and lower[n + 1] == "as"):
            begin = n + 2 if word == "known" else n + 1
            if n > 0 and lower[n - 1] in ("is", "are", "was", "were", "be", "been", "it's", "that's", "thing"):
                found.append((_captures_after(tokens, begin), False, text))
        if word == "call" and n > 0 and lower[n - 1] in ("we", "i", "people", "you") and n + 1 < len(lower) \
                and lower[n + 1] in ("this", "that", "it", "these", "those", "them"):
            found.append((_captures_after(tokens, n + 2), False, text))
        if word == "which" and n > 0 and tokens[n - 1].endswith(",") and n + 1 < len(lower) \
                and lower[n + 1] in ("is", "are", "means") and len(tokens) - n - 2 >= MIN_PREDICATE_WORDS - 1:
            found.append((_captures_before(tokens, n - 1), False, text))
    question = re.match(r"^(?:so,?\s+|okay,?\s+|now,?\s+)?what(?:'s|\s+is|\s+are|\s+exactly\s+is)\s+(.+?)\?\s*$",
                        text, re.IGNORECASE)
    if question and index + 1 < len(sentences):
        answer = sentences[index + 1].text
        if len(answer.split()) >= MIN_ANSWER_WORDS and not answer.rstrip().endswith("?"):
            words = question.group(1).split()
            if words and words[0].lower() in _ARTICLES:
                words = words[1:]
            found.append(([words], False, f"{text} {answer}"))
    return found


def find_explanations(lessons: Sequence[LessonTranscript]) -> list[Explanation]:
    """Every explanation in ``lessons``, in order.

    A capture of several possible lengths ("is called memoization caching results") keeps the
    longest that the lessons also say somewhere else: a term nobody else mentions cannot be used
    early anyway.
    """
    return [Explanation(term.text, term.key, place, passage) for term, place, passage in _explanations(lessons)]


def _explanations(lessons: Sequence[LessonTranscript], index: _Index | None = None) -> list[tuple[_Term, Place, str]]:
    index = index or _Index(lessons)
    found: list[tuple[_Term, Place, str]] = []
    for n, lesson in enumerate(lessons):
        for s in range(len(lesson.sentences)):
            for candidates, at_start, passage in _explanation_candidates(lesson.sentences, s):
                terms = [term for words in candidates if (term := _make_term(words, at_start)) is not None]
                if len(terms) > 1:
                    recurring = [term for term in terms if any(p != (n, s) for p in index.find(lessons, term))]
                    terms = recurring[:1]
                for term in terms[:1]:
                    found.append((term, Place(n, s), passage))
    return found


# --------------------------------------------------------------------------------------------
# Order problems
# --------------------------------------------------------------------------------------------


def find_order_problems(lessons: Sequence[LessonTranscript]) -> list[OrderProblem]:
    """Terms used in a lesson before the lesson that first explains them, in ``lessons``' order.

    A use in a forward reference ("we'll cover X later") does not count; neither does a term the
    using lesson itself explains before (or where) it uses it.
    """
    index = _Index(lessons)
    first: dict[tuple[str, ...], tuple[_Term, Place, str]] = {}
    for term, place, passage in _explanations(lessons, index):
        if term.key not in first:
            first[term.key] = (term, place, passage)
    problems = []
    for term, explained, passage in first.values():
        if explained.lesson == 0:
            continue
        uses = [Place(n, s) for n, s in index.find(lessons, term)
                if n < explained.lesson and not _FORWARD.search(lessons[n].sentences[s].text)]
        if uses:
            problems.append(OrderProblem(term.text, term.key, uses[0], explained, passage, tuple(uses)))
    problems.sort(key=lambda p: (p.used.lesson, p.used.sentence, p.term))
    return problems
