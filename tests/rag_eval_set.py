"""The retrieval evaluation set: questions that paraphrase the ten lectures of the demo workspace.

The lectures (chronos_data/demo/lectures.py) come in pairs of close distractors, so finding the
right video is not enough by topic alone. Questions reword the lecture rather than copy it; some
name a rare exact term (ETag, reflog, SameSite, EXPLAIN ANALYZE) the way students do. Each caption
lasts CAPTION_SECONDS; a question's window is (start, end) in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from chronos_data.demo.lectures import CAPTION_SECONDS, LECTURES, Lecture, to_srt

__all__ = ["CAPTION_SECONDS", "LECTURES", "NEAR_TOPIC", "OFF_TOPIC", "QUESTIONS", "Lecture", "Question", "to_srt"]


@dataclass(frozen=True)
class Question:
    text: str
    title: str  # the lecture that answers it
    window: tuple[int, int]  # seconds: the part of the lecture that answers it


def _at(caption: int, through: int | None = None) -> tuple[int, int]:
    """The window spanning captions ``caption`` .. ``through`` (inclusive)."""
    last = caption if through is None else through
    return caption * CAPTION_SECONDS, (last + 1) * CAPTION_SECONDS


QUESTIONS: tuple[Question, ...] = (
    # Python lists
    Question("How do I put several elements onto a list in one call?", "Python lists in depth", _at(4)),
    Question("Why is adding an element at index zero of a big list expensive?", "Python lists in depth", _at(6, 8)),
    Question("What's the difference between list.sort and sorted()?", "Python lists in depth", _at(14, 15)),
    Question("Why do all my function calls end up sharing the same list when it's a default parameter?",
             "Python lists in depth", _at(17, 19)),
    Question("I assigned b = a and modifying b also changed a, why?", "Python lists in depth", _at(20, 22)),
    Question("how to duplicate a list that contains other lists", "Python lists in depth", _at(23)),
    # Python tuples
    Question("How do you write a tuple with just one item?", "Python tuples and immutability", _at(2)),
    Question("Can a tuple serve as a key in a dict?", "Python tuples and immutability", _at(5, 7)),
    Question("How can I exchange the values of two variables?", "Python tuples and immutability", _at(15)),
    Question("Is there a way to give the fields of a tuple names?", "Python tuples and immutability", _at(17, 18)),
    Question("Why did a list stored inside my tuple change if tuples can't be modified?",
             "Python tuples and immutability", _at(21, 23)),
    # SQL joins
    Question("Which join drops customers without any purchases?", "SQL joins explained", _at(2, 3)),
    Question("How do I list customers that have never placed an order?", "SQL joins explained", _at(10, 12)),
    Question("Why does NOT IN give me an empty result when the subquery has NULLs?", "SQL joins explained",
             _at(13, 14)),
    Question("My left join behaves like an inner join after adding a WHERE condition", "SQL joins explained",
             _at(15, 17)),
    Question("Sums are twice as large as expected after joining two tables", "SQL joins explained", _at(18, 19)),
    Question("How do I relate an employee row to their boss in the same table?", "SQL joins explained",
             _at(20, 21)),
    # SQL indexes
    Question("Does the order of columns in a multi-column index matter?", "SQL indexes and query plans",
             _at(5, 8)),
    Question("What are the downsides of creating lots of indexes?", "SQL indexes and query plans", _at(9, 10)),
    Question("How can I see real execution times for each step of a query?", "SQL indexes and query plans",
             _at(11, 12)),
    Question("The planner's guessed row numbers are way off from reality", "SQL indexes and query plans",
             _at(13, 15)),
    Question("My case-insensitive email lookup ignores the index", "SQL indexes and query plans", _at(16, 18)),
    Question("How can a query be answered without touching the table at all?", "SQL indexes and query plans",
             _at(21, 22)),
    # HTTP caching
    Question("What does the 304 status code mean?", "HTTP caching headers", _at(11)),
    Question("How do ETag and If-None-Match work together?", "HTTP caching headers", _at(9, 11)),
    Question("Which directive forbids saving the response anywhere?", "HTTP caching headers", _at(4)),
    Question("How long does the browser keep using a saved copy before asking again?", "HTTP caching headers",
             _at(2, 3)),
    Question("How do I make JavaScript bundles cacheable forever but still ship updates?", "HTTP caching headers",
             _at(14, 16)),
    Question("Risk of a CDN showing one person's profile to other visitors", "HTTP caching headers", _at(20, 21)),
    # HTTP cookies
    Question("How can I stop scripts on the page from reading the login token?", "HTTP cookies and sessions",
             _at(8, 9)),
    Question("What is the difference between SameSite Strict and Lax?", "HTTP cookies and sessions", _at(10, 12)),
    Question("Why shouldn't I store the user's profile directly in the cookie?", "HTTP cookies and sessions",
             _at(14, 16)),
    Question("How do I keep someone logged in after they restart the browser?", "HTTP cookies and sessions",
             _at(5)),
    Question("what is session fixation and how to prevent it", "HTTP cookies and sessions", _at(17)),
    # Git branches
    Question("When does git merge without creating an extra commit?", "Git branches and merging", _at(7, 8)),
    Question("How do I resolve conflicting edits when combining branches?", "Git branches and merging",
             _at(10, 12)),
    Question("Why is it dangerous to rewrite history others already fetched?", "Git branches and merging",
             _at(15, 16)),
    Question("How to combine several small commits into one?", "Git branches and merging", _at(17)),
    # Git undo
    Question("I typed the wrong message in my last commit, how do I change it?", "Undoing mistakes in git", _at(3)),
    Question("Difference between reset soft, mixed and hard", "Undoing mistakes in git", _at(5, 8)),
    Question("How do I undo a commit on a branch my teammates also use?", "Undoing mistakes in git", _at(9, 11)),
    Question("Can I recover work after git reset --hard?", "Undoing mistakes in git", _at(12, 14)),
    Question("How do I temporarily put aside unfinished changes?", "Undoing mistakes in git", _at(15, 16)),
    # Docker images
    Question("Why does my Docker build reinstall every package when I change one source file?",
             "Docker images and containers", _at(4, 6)),
    Question("How do I keep compilers out of the final image?", "Docker images and containers", _at(8, 9)),
    Question("Why is relying on the latest tag a bad idea?", "Docker images and containers", _at(10, 11)),
    Question("How do I expose a web server inside a container to my laptop?", "Docker images and containers",
             _at(13)),
    # Docker volumes
    Question("My Postgres container lost all its data after I removed it", "Docker volumes and networking",
             _at(0, 2)),
    Question("How do containers find each other by hostname?", "Docker volumes and networking", _at(9, 11)),
    Question("depends_on doesn't wait until the database is ready", "Docker volumes and networking", _at(16, 17)),
    Question("How do I see code edits live in a container while developing?", "Docker volumes and networking",
             _at(4, 5)),
)


#: Questions no lecture answers and whose subject none covers: the assistant must say it could not
#: find them (they calibrate each embedding model's relevance floor; see bench/retrieval.py).
OFF_TOPIC: tuple[str, ...] = (
    "How do I bake sourdough bread?",
    "Who won the football World Cup in 2018?",
    "What is the capital of Australia?",
    "How do I fix a flat bicycle tire?",
    "Explain photosynthesis in plants",
    "How do I train a neural network?",
    "What is the best way to learn piano?",
    "How do I write a recursive CTE in SQL?",
    "What is a monad in Haskell?",
)

#: Questions on the lectures' broad subjects (Python, SQL, HTTP, git, Docker) that no lecture
#: answers. Cosine similarity alone cannot refuse all of them with a small model without refusing
#: real questions too; a language model then says it could not find the answer in the passages.
NEAR_TOPIC: tuple[str, ...] = (
    "What are React hooks?",
    "How do async and await work in JavaScript?",
    "How do I set up a Python virtual environment?",
    "How does TLS encryption protect HTTPS traffic?",
    "What is a Kubernetes pod?",
    "How do Python decorators work?",
)
