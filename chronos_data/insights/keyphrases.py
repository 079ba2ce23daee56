"""Key phrases of a transcript passage: what is being explained there, in the speaker's words.

Offline and deterministic (no model, nothing downloaded): candidate phrases are the runs of
content words between stop words and punctuation (RAKE, Rose et al. 2010), each scored by its
words' TF-IDF against the rest of the same video. Words the whole video keeps saying (its topic,
"list" in a lesson on lists) weigh little; words said here and rarely elsewhere name the moment.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["key_phrases", "topic_label"]

#: Longest phrase kept: longer runs are usually a clause, not a name for something.
MAX_PHRASE_WORDS = 3
# English function words plus the fillers of spoken lectures ("so now let's just look at").
_STOP_WORDS = frozenset("""
a about above after again against all almost also although always am among an and another any anyone anything
are aren't around as at away back be because been before being below between both but by can can't cannot could
couldn't did didn't do does doesn't doing don't done down during each either else enough even ever every
everyone everything few first for from further get gets getting give given go goes going gone got had hadn't has
hasn't have haven't having he her here hers herself him himself his how however i i'd i'll i'm i've if in into
is isn't it it's its itself just keep kind know last least less let let's like likely look looks lot lots made
make makes many may maybe me might more most much must my myself need needs never new next no nor not nothing now
of off often ok okay on once one ones only onto or other others otherwise our ours ourselves out over own part
pretty put quite rather really right said same say says see seen shall she should shouldn't show shows simply
since so some something sometimes still such sure take takes talk talked talking tell than that that's the their
theirs them themselves then there there's these they they're thing things think this those though through thus
time to today together too two under until up upon us use used uses using usually very via want wants was wasn't
way ways we we'll we're we've well went were weren't what what's whatever when where whether which while who whom
whose why will with within without won't work works would wouldn't yes yet you you'd you'll you're you've your
yours yourself yourselves hi hello everyone lesson video welcome bye thanks thank guys folks basically actually
gonna wanna um uh oh yeah alright means mean called call calls example examples case cases instead
come comes came write writes wrote written turn turns turned help helps helped leave leaves left put puts hide hides
rely relies decide decides decided happen happens happened try tries tried start starts started finish finishes
remember remembers note notice wait goes looking seeing telling saying trying doing making
send sends sent bring brings brought inside outside across along behind beyond near
""".split())
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_+#.-]*[A-Za-z0-9+#]|[A-Za-z0-9]")
# Where a phrase must end even without a stop word: punctuation between two tokens.
_BREAK = re.compile(r"[,;:!?()\[\]{}\"“”…]|\.\s|\s-\s|—|–")


def _words(text: str) -> list[tuple[str, bool]]:
    """(token, starts a new phrase) for each token of ``text``."""
    out: list[tuple[str, bool]] = []
    last_end = 0
    for match in _TOKEN.finditer(text):
        between = text[last_end:match.start()]
        out.append((match.group().rstrip("."), bool(_BREAK.search(between + " ")) or not out))
        last_end = match.end()
    return out


def _is_content(word: str) -> bool:
    lower = word.lower()
    # Adverbs ("quietly", "closely") describe how, never what.
    return (lower not in _STOP_WORDS and len(lower) > 1 and not lower.replace(".", "").isdigit()
            and not (lower.endswith("ly") and len(lower) > 4))


def _candidates(text: str) -> list[list[str]]:
    """Runs of content words (as written) between stop words and punctuation, at most
    MAX_PHRASE_WORDS long (a longer run is cut into pieces)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for word, breaks in _words(text):
        if breaks and current:
            runs.append(current)
            current = []
        if _is_content(word):
            current.append(word)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [run[i:i + MAX_PHRASE_WORDS] for run in runs for i in range(0, len(run), MAX_PHRASE_WORDS)]


def _stem(word: str) -> str:
    """A crude plural fold ("indexes" and "index" are one word for counting)."""
    lower = word.lower()
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("s", "")):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 2 and not lower.endswith("ss"):
            return lower[: -len(suffix)] + keep
    return lower


def key_phrases(text: str, others: Sequence[str] = (), *, around: str = "", top: int = 3) -> list[str]:
    """The ``top`` phrases that best name what ``text`` is about, best first.

    Args:
        text: the passage.
        others: the rest of the same video (its other passages or chunks): words common there
            are the video's topic, not this moment's.
        around: what is said just before and after the passage: its phrases count at half weight
            (a one-sentence passage often names its subject in the sentence before).

    Returns phrases as written (first occurrence), without repeats; empty when neither the
    passage nor what is around it has content words.
    """
    inside, nearby = _candidates(text), _candidates(around)
    candidates = inside + nearby
    if not candidates:
        return []
    documents = [{_stem(w) for phrase in _candidates(o) for w in phrase} for o in others]
    tf = Counter(_stem(w) for phrase in candidates for w in phrase)

    def idf(stem: str) -> float:  # smoothed, as scikit-learn's: never zero, 1.0 for a word found everywhere
        df = sum(stem in d for d in documents)
        return math.log((1 + len(documents)) / (1 + df)) + 1

    weight = {stem: (1 + math.log(count)) * idf(stem) for stem, count in tf.items()}
    scored: dict[tuple[str, ...], tuple[float, int, list[str]]] = {}
    for position, phrase in enumerate(candidates):
        stems = tuple(_stem(w) for w in phrase)
        if stems in scored:
            continue
        # Sum, as RAKE: a named concept ("mutable default argument") beats each of its words;
        # a square root on length keeps a three-word run of ordinary words from beating one rare term.
        score = sum(weight[s] for s in stems) / math.sqrt(len(stems))
        if len(phrase) == 1 and phrase[0].lower().endswith(("ed", "ing")):
            score *= 0.5  # a lone participle ("needed", "using") is how something is said, not what
        if position >= len(inside):
            score *= 0.5
        scored[stems] = (score, position, phrase)
    ranked = sorted(scored.values(), key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[set[str], str]] = []
    for _, _, phrase in ranked:
        stems = {_stem(w) for w in phrase}
        if stems <= set().union(*(c for c, _ in chosen)):  # every word already said by a better phrase
            continue
        shorter = next((i for i, (c, _) in enumerate(chosen) if c < stems), None)
        if shorter is not None:  # "default" then "default argument value": the fuller name replaces it
            chosen[shorter] = (stems, " ".join(phrase))
            chosen = [c for i, c in enumerate(chosen) if i == shorter or not c[0] < stems]
            continue
        chosen.append((stems, " ".join(phrase)))
        if len(chosen) == top:
            break
    return [text for _, text in chosen]


def topic_label(text: str, others: Sequence[str] = (), *, phrases: int = 2) -> str:
    """A short label for a passage: its best key phrases, joined (empty when it has none)."""
    return ", ".join(key_phrases(text, others, top=phrases))
