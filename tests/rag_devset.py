"""The assistant's development set: ten lessons, 139 questions, and how an answer is scored.

Written for Chronos (original text). Five lessons are punctuated captions, one sentence a cue;
five are in the style of YouTube's automatic captions: lower case, no punctuation, cues of 2–4 s
cut mid-sentence, a few mis-recognised words ("get" for git, "sequel" for SQL, "pie test",
"seek scan", "accept block"). Topics overlap so that a keyword recurs in lessons that do not
answer (container, index, key, cache, yield, conflict, idempotency, Stripe, transaction).

Questions paraphrase the lesson; some need a number or a rare term; some answers span two cues.
Each answerable question names its lesson and the words that answer it (``anchor``, through
``through`` when the answer runs on); the cue range and the labelled moment follow from them.
Of the 139 questions, 30 (22 %) are unanswerable: 15 near-topic (the lessons' subjects, not
their content) and 15 off-topic.

Scoring (``first_hit``): a citation is a hit when it is in the right lesson and its start second
lies within ``HIT_SECONDS`` of the labelled moment (from the first answering cue's start to the
last one's).

Used by ``python -m bench rag`` (bench/rag.py) and tests/db/test_rag_quality_floor.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import cycle
from typing import Literal

__all__ = [
    "HIT_SECONDS",
    "LESSONS",
    "NEAR_TOPIC",
    "OFF_TOPIC",
    "QUESTIONS",
    "Cue",
    "Lesson",
    "Outcome",
    "Question",
    "Scores",
    "ask_each",
    "first_hit",
    "import_lessons",
    "score",
    "to_srt",
]

HIT_SECONDS = 15  # a citation this close to the labelled moment opens the video where the answer is heard
Style = Literal["punctuated", "auto"]

# Punctuated captions: one sentence a cue, spoken at about 2.6 words a second, a short pause between.
_SECONDS_PER_WORD = 0.38
_PAUSE = 0.3
# Auto captions: fixed-size word groups with no regard for sentences, as YouTube cuts them.
_AUTO_WORDS = (7, 9, 6, 8, 5, 9, 7, 6, 8)
_AUTO_MIN, _AUTO_MAX = 2.0, 4.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Lesson:
    title: str
    style: Style
    cues: tuple[Cue, ...]

    @cached_property
    def _offsets(self) -> list[int]:
        """Where each cue begins in ``text``."""
        offsets, at = [], 0
        for cue in self.cues:
            offsets.append(at)
            at += len(cue.text) + 1
        return offsets

    @property
    def text(self) -> str:
        return " ".join(cue.text for cue in self.cues)

    def cue_range(self, anchor: str, through: str | None = None) -> tuple[int, int]:
        """The first and last cue (inclusive) of the words ``anchor`` … ``through``."""
        text = self.text
        start = text.find(anchor)
        if start < 0 or text.find(anchor, start + 1) >= 0:
            raise ValueError(f"{anchor!r} must occur exactly once in {self.title!r}")
        end = start + len(anchor)
        if through is not None:
            last = text.find(through, start)
            if last < 0:
                raise ValueError(f"{through!r} does not follow {anchor!r} in {self.title!r}")
            end = last + len(through)
        first = max(i for i, offset in enumerate(self._offsets) if offset <= start)
        final = max(i for i, offset in enumerate(self._offsets) if offset < end)
        return first, final


def _punctuated(title: str, sentences: Sequence[str]) -> Lesson:
    cues, at = [], 0.0
    for sentence in sentences:
        seconds = max(2.0, _SECONDS_PER_WORD * len(sentence.split()))
        cues.append(Cue(round(at, 1), round(at + seconds, 1), sentence))
        at += seconds + _PAUSE
    return Lesson(title, "punctuated", tuple(cues))


def _auto(title: str, speech: str) -> Lesson:
    words = speech.split()
    cues, at, i = [], 0.0, 0
    for size in cycle(_AUTO_WORDS):
        if i >= len(words):
            break
        group = words[i:i + size]
        seconds = min(_AUTO_MAX, max(_AUTO_MIN, 0.42 * len(group)))
        cues.append(Cue(round(at, 1), round(at + seconds, 1), " ".join(group)))
        at += seconds
        i += size
    return Lesson(title, "auto", tuple(cues))


LESSONS: tuple[Lesson, ...] = (
    _punctuated("Python dictionaries and sets", (
        "Welcome back. Today we are looking at dictionaries and sets in Python.",
        "A dictionary maps keys to values, and looking up a key takes constant time on average.",
        "Keys must be hashable, which is why a list cannot be a key but a string or a number can.",
        "Since Python 3.7, dictionaries remember the order in which keys were inserted.",
        "If you read a key that is missing with square brackets, Python raises a KeyError.",
        "The get method returns None instead, or a default value that you pass as the second argument.",
        "setdefault goes one step further: it inserts the default when the key is absent and returns it.",
        "For counting things, collections.Counter saves you writing that loop yourself.",
        "And defaultdict calls a factory, such as list, the first time a missing key is touched.",
        "To combine two dictionaries, Python 3.9 added the merge operator, a single vertical bar.",
        "When both sides have the same key, the value from the right-hand dictionary wins.",
        "Never add or delete keys while you loop over a dictionary.",
        "Python stops the loop with a RuntimeError, because the dictionary changed size during iteration.",
        "Loop over a copy of the keys instead, by wrapping them in list().",
        "Now, sets. A set stores unique values with no order and no duplicates.",
        "Turning a list into a set is the quickest way to drop repeated entries.",
        "Checking whether an item is in a set is fast, while the same check on a list scans every element.",
        "On a list of a million items, the membership test was about ten thousand times slower in my measurement.",
        "Sets support union, intersection and difference with the operators bar, ampersand and minus.",
        "Be careful: empty curly braces give you an empty dictionary, not an empty set.",
        "To make an empty set, call set() with no arguments.",
        "If you need a set that can itself be a dictionary key, use frozenset.",
        "Dictionary comprehensions look like list comprehensions with a key, a colon and a value.",
        "One last tip: the items method gives you key and value pairs to unpack in a for loop.",
        "That's all for dictionaries and sets; next time we look at classes.",
    )),
    _punctuated("SQL aggregation and window functions", (
        "In this lesson we go beyond simple SELECT statements to aggregation and window functions.",
        "GROUP BY collapses the rows that share a value into one row per group.",
        "Every column in the select list must either be grouped or wrapped in an aggregate like SUM or COUNT.",
        "COUNT of star counts rows, while COUNT of a column skips the rows where that column is NULL.",
        "To filter groups after aggregation, use HAVING, because WHERE runs before the rows are grouped.",
        "For example, HAVING COUNT(*) > 5 keeps only the customers with more than five orders.",
        "Window functions compute a value for each row without collapsing anything.",
        "You write them with an OVER clause, optionally split by PARTITION BY.",
        "ROW_NUMBER gives each row in its partition a sequence number starting at one.",
        "RANK leaves gaps after ties, so two rows tied for first are followed by third.",
        "DENSE_RANK does not leave gaps: after two firsts comes second.",
        "To find the latest order for every customer, number the rows by date descending and keep row number one.",
        "A running total is SUM over an ORDER BY, which by default adds every row up to the current one.",
        "The frame clause, such as ROWS BETWEEN 6 PRECEDING AND CURRENT ROW, turns it into a seven-day "
        "moving average.",
        "LAG reads a value from the previous row, which is handy for the change since yesterday.",
        "LEAD does the same with the next row.",
        "You cannot use a window function in WHERE, because windows are computed after filtering.",
        "Wrap the query in a subquery or a CTE and filter on the outer level instead.",
        "Averages have their own trap: AVG ignores NULL values entirely.",
        "If missing values should count as zero, wrap the column in COALESCE first.",
        "Integer division is another surprise: in Postgres, five divided by two is two.",
        "Cast one side to numeric to get two point five.",
        "Finally, FILTER lets one query compute several conditional counts side by side.",
        "Next lesson: indexes, and why some of these queries get slow.",
    )),
    _punctuated("HTTP status codes and REST APIs", (
        "Every HTTP response starts with a three-digit status code, and today we learn to read them.",
        "Codes in the 200s mean success: 200 OK, and 201 Created when a POST made a new resource.",
        "A 201 response should carry a Location header pointing to the new resource.",
        "204 No Content means success with an empty body, common for DELETE.",
        "The 300s are redirects. 301 is permanent, so browsers and search engines remember it.",
        "302 and 307 are temporary; 307 also promises that the method and body stay the same.",
        "The 400s say the client made a mistake.",
        "401 Unauthorized really means unauthenticated: we do not know who you are.",
        "403 Forbidden means we know who you are, and you are still not allowed.",
        "404 is not found, and 409 Conflict fits an edit that clashes with the current state.",
        "422 is a good choice when the JSON is well formed but a field fails validation.",
        "429 Too Many Requests tells the client it hit a rate limit.",
        "Send a Retry-After header with it, so the client knows how many seconds to wait.",
        "The 500s mean the server failed: 500 for an unexpected error, 503 when it is overloaded or down "
        "for maintenance.",
        "Now, REST design. Use nouns in paths, like slash orders, and let the method be the verb.",
        "GET must never change anything on the server.",
        "PUT replaces a whole resource, while PATCH changes only the fields you send.",
        "PUT and DELETE are idempotent: sending the same request twice leaves the same result.",
        "POST is not idempotent, so a retried payment could be charged twice.",
        "Clients can send an Idempotency-Key header so that the server recognises a repeat.",
        "For long lists, paginate with a cursor rather than an offset, so new rows do not shift the pages.",
        "And version your API in the path, such as v1, before the first outside client depends on it.",
        "In the next lesson we will look at authentication with tokens.",
    )),
    _punctuated("CSS flexbox and grid", (
        "Today: laying out a page with flexbox and CSS grid.",
        "Flexbox arranges items along one axis, a row or a column.",
        "You turn it on with display flex on the container, and its children become flex items.",
        "justify-content spaces items along the main axis, align-items along the cross axis.",
        "To center something both ways, set both of them to center on the parent.",
        "The flex shorthand sets grow, shrink and basis in one go.",
        "flex: 1 lets every item take an equal share of the free space.",
        "By default flex items will not shrink below their content, which is why long words overflow.",
        "Setting min-width to zero on the item fixes that overflow.",
        "The gap property adds space between items without margins on the edges.",
        "Grid is two-dimensional: rows and columns at the same time.",
        "grid-template-columns with repeat(3, 1fr) makes three equal columns.",
        "The fr unit is a fraction of the space that is left after fixed tracks.",
        "For a responsive card layout, use repeat(auto-fill, minmax(200px, 1fr)).",
        "The browser then fits as many columns of at least two hundred pixels as there is room for.",
        "Named areas let you draw the layout as text with grid-template-areas.",
        "An item can span several columns with grid-column: span 2.",
        "Use flexbox for a toolbar or a row of buttons, and grid for the page skeleton.",
        "A common bug: z-index has no effect on an element that is not positioned.",
        "Give it position relative, or make it a flex or grid item, and z-index starts to work.",
        "Container queries let a component adapt to its container's width instead of the viewport's.",
        "That's it for layout; next time, CSS custom properties.",
    )),
    _punctuated("Pricing your online course", (
        "Let's talk about the hardest decision for a new course creator: the price.",
        "Most creators undercharge, because they compare themselves to free videos.",
        "Price by the outcome you deliver, not by the number of hours of video.",
        "A course that helps someone get a raise is worth far more than three hours of content suggests.",
        "As a starting point, many of my students launch between 99 and 299 dollars.",
        "Offer three tiers: the course alone, the course with a community, and a premium tier with calls.",
        "The middle tier is the one most people buy; the top tier makes it look reasonable.",
        "This is called the decoy effect, and it works.",
        "Run a launch discount for a limited time, about 20 percent, with a real deadline.",
        "Fake countdown timers destroy trust the moment someone notices the clock reset.",
        "Payment plans help too: three monthly payments can lift sales by a third.",
        "Expect a few more refunds with payment plans, and plan for them.",
        "Subscriptions suit content you keep adding to, like a monthly masterclass.",
        "For a one-off course, a single price is easier to sell and to explain.",
        "To take payments, Stripe Checkout gives you a hosted payment page in an afternoon.",
        "Stripe charges a fee on each card payment, so build it into your price.",
        "Turn on tax collection early, because selling to other countries means charging their VAT.",
        "Offer a thirty-day refund guarantee; in my experience fewer than five percent ask for one.",
        "Raise your price after every cohort, as long as the reviews stay strong.",
        "Existing students keep what they paid, which rewards early buyers.",
        "Next time: writing a sales page that converts.",
    )),
    _auto("python exceptions and error handling", """
        hey everyone so today we're going to talk about exceptions in python which is how python tells you
        something went wrong when an error happens python creates an exception object and unwinds the stack
        until something catches it if nothing does the program stops and prints a trace back the trace back
        is read from the bottom up the last line tells you the type of error and the message you wrap risky
        code in a try block and handle the problem in an accept block always catch the most specific
        exception you can so catch value error or key error not a bare except because a bare except also
        catches keyboard interrupt and you won't be able to stop your program with control c the else block
        runs only when the try block raised nothing and the finally block runs no matter what so that's where
        you close files or release locks even better use a with statement and the context manager closes the
        file for you you can raise your own exceptions with the raise keyword and you can define your own
        exception classes by subclassing exception not base exception when you catch one error and raise
        another write raise new error from the original error so the trace back shows both that's called
        exception chaining in python three eleven there's also exception groups and the except star syntax
        which you need when several tasks fail at once for example in async io task groups a common mistake
        is swallowing errors with except exception pass and then spending an hour wondering why nothing
        happens at least log the error with logging dot exception which also records the full trace back
        another pattern you'll see is easier to ask forgiveness than permission where you just try the
        operation and catch the key error instead of checking first that's usually faster when the key is
        almost always there and it avoids a race between the check and the use finally assertions are for
        catching bugs during development not for validating user input because python skips them entirely
        when you run with the dash o flag okay in the next video we'll look at writing our own context
        managers
    """),
    _auto("sql indexes and transactions", """
        alright in this video we're talking about indexes and transactions in postgres sequel so without an
        index the database has to read every row of the table that's called a sequential scan an index is a
        sorted structure usually a b tree that lets postgres jump straight to the matching rows the primary
        key gets an index automatically but foreign keys do not so index your foreign key columns yourself or
        your joins and your deletes will crawl to see what the planner actually does put explain analyze in
        front of the query and look for seek scan on a big table an index only helps when the query filters
        on a small fraction of the rows if you ask for half the table a sequential scan is actually faster
        each extra index also slows down every insert and update because the index has to be updated too so
        don't index every column now transactions a transaction groups statements so that either all of them
        happen or none of them do you start with begin and finish with commit or roll back if something
        failed that's the a in acid atomicity postgres runs at the read committed isolation level by default
        which means each statement sees data committed before that statement started two transactions that
        read the same balance and both write it back can lose an update to prevent that use select for update
        which locks the row until you commit or switch to serializable isolation and retry when you get a
        serialization failure keep transactions short because a transaction that stays open holds its locks
        and stops vacuum from cleaning up old rows a dead lock happens when two transactions each wait for a
        lock the other one holds postgres detects it after one second by default and cancels one of them the
        fix is to always lock rows in the same order finally creating an index on a busy table locks out
        writes so in production use create index concurrently which takes longer but lets writes continue
    """),
    _auto("git rebase and fixing commits", """
        okay so in this one we're looking at rebase and how to fix up your commit history in get rebase takes
        the commits on your branch and replays them on top of another branch so instead of a merge commit you
        get a straight line of history run git rebase main while you're on your feature branch if there's a
        conflict git stops at that commit you fix the files get add them and then run git rebase dash dash
        continue or git rebase dash dash abort to go back to where you started interactive rebase is the
        really powerful part git rebase dash i head tilde five opens an editor with your last five commits
        change pick to squash to fold a commit into the one above it use reword to change just a message and
        drop to delete a commit completely if you made a small fix that belongs to an earlier commit commit it
        with git commit dash dash fix up and the hash and later rebase with auto squash and git puts it in the
        right place for you the golden rule never rebase commits that you already pushed to a shared branch
        because everyone else's history still has the old commits if you rebased your own feature branch
        after pushing it you have to force push use force with lease rather than plain force because it
        refuses to overwrite work that someone else pushed in the meantime if a rebase went badly wrong git
        ref log lists every position head has been at for the last ninety days so you can reset back to the
        state before the rebase cherry pick copies a single commit from another branch onto yours which is
        handy for taking a bug fix to a release branch and finally git bisect does a binary search through
        history to find the commit that introduced a bug you mark one commit good and one bad and git checks
        out the middle each time
    """),
    _auto("docker compose for local development", """
        hi so in this video i want to show you how i use docker compose for local development compose lets
        you describe several containers in one yaml file usually called compose dot yaml and start them all
        with docker compose up dash d the dash d runs them in the background each entry under services becomes
        a container and compose puts them all on one network where they can reach each other by the service
        name so your app connects to the database at the host name db not localhost that's the number one
        mistake i see use a named volume for the database data otherwise it disappears when the container is
        removed for your source code use a bind mount so the container sees your edits right away without
        rebuilding the image depends on only controls the start order it does not wait until postgres is
        actually ready to accept connections add a health check to the database service and then write
        depends on with condition service healthy ports are written host colon container so five four three
        three colon five four three two makes the container's postgres reachable on port fifty four thirty
        three of your laptop which avoids clashing with a postgres you already run keep secrets out of the
        compose file put them in a dot env file next to it compose reads it automatically and don't commit
        that file docker compose logs dash f follows the logs of every service and docker compose exec db
        psql opens a shell inside a running container when you change the docker file run docker compose up
        dash dash build or compose keeps using the old image docker compose down stops everything but keeps
        your volumes add dash v only when you really want to wipe the database profiles let you leave
        optional services like a mail catcher switched off unless you ask for them
    """),
    _auto("testing with pytest", """
        welcome to this lesson on testing with pie test pie test finds files whose names start with test
        underscore and runs every function in them whose name starts with test a plain assert statement is
        all you need pie test rewrites it so a failure shows both values side by side to check that code
        raises an error use with pie test dot raises and the exception type and you can pass match to check
        the message too fixtures are functions that prepare what a test needs you ask for one by naming it as
        an argument of your test a fixture that uses yield runs the code after the yield as tear down even
        when the test fails the scope argument controls how often a fixture runs function scope is the
        default so it runs for every test while session scope runs it once for the whole run which is what
        you want for something slow like starting a database put shared fixtures in a file called conf test
        dot pie and pie test picks them up without any import parametrize runs one test with many inputs each
        set of arguments shows up as its own test in the report the built in temp path fixture gives every
        test its own fresh temporary folder and monkey patch lets you set an environment variable or replace
        an attribute just for one test and undoes it afterwards be careful with mocks a test that mocks
        everything only checks that your code calls the mocks it can pass while the real thing is broken run
        pie test dash x to stop at the first failure and dash k with a word to run only the tests whose names
        match dash dash lf reruns just the tests that failed last time pie test keeps that list in its cache
        folder tests that pass or fail depending on the order they run in usually share state through a
        global or a module level variable and finally measure coverage with pie test cov but remember that a
        hundred percent coverage does not mean your assertions check anything
    """),
)

_LESSON_BY_TITLE = {lesson.title: lesson for lesson in LESSONS}


@dataclass(frozen=True)
class Question:
    """A student's question; ``title`` is None when no lesson answers it."""

    text: str
    title: str | None = None
    anchor: str | None = None  # the words that answer it, as the lesson says them
    through: str | None = None  # ... up to these words, when the answer runs on
    kind: Literal["answerable", "near-topic", "off-topic"] = "answerable"

    @property
    def lesson(self) -> Lesson:
        assert self.title is not None, self.text
        return _LESSON_BY_TITLE[self.title]

    @property
    def cues(self) -> tuple[int, int]:
        """The answering cues, first and last (inclusive)."""
        assert self.anchor is not None, self.text
        return self.lesson.cue_range(self.anchor, self.through)

    @property
    def moment(self) -> tuple[float, float]:
        """Seconds: the start of the first answering cue and of the last."""
        first, last = self.cues
        return self.lesson.cues[first].start, self.lesson.cues[last].start


def _answers(title: str, *pairs: tuple[str, str] | tuple[str, str, str]) -> tuple[Question, ...]:
    return tuple(Question(text, title, anchor, *through) for text, anchor, *through in pairs)


_ANSWERABLE: tuple[Question, ...] = (
    *_answers(
        "Python dictionaries and sets",
        ("What happens if I look up a key that isn't in the dict?", "Python raises a KeyError"),
        ("How can I read a value with a fallback when the key is absent?", "The get method returns None"),
        ("What's the easiest way to tally how often each word appears?", "collections.Counter"),
        ("Which Python version brought the | operator for combining two dicts?",
         "Python 3.9 added the merge operator"),
        ("When two dicts are combined and both have the same key, which value is kept?",
         "the value from the right-hand dictionary wins"),
        ("Why do I get an error saying the dictionary changed size while looping?", "Never add or delete keys",
         "changed size during iteration"),
        ("Quickest way to get rid of repeated entries in a list?", "drop repeated entries"),
        ("How much slower is a membership check on a list compared with a set?", "about ten thousand times slower"),
        ("Why does {} not give me an empty set?", "empty curly braces give you an empty dictionary",
         "call set() with no arguments"),
        ("Can a set be used as a key of a dict?", "use frozenset"),
        ("Do dictionaries keep the order of insertion?", "dictionaries remember the order"),
        ("Why is a list not allowed as a dictionary key?", "Keys must be hashable"),
    ),
    *_answers(
        "SQL aggregation and window functions",
        ("Why can't I put a condition on an aggregate in WHERE?", "use HAVING, because WHERE runs before"),
        ("Does counting a column include rows where it is NULL?", "COUNT of a column skips the rows"),
        ("How do I get the most recent purchase for each client?", "To find the latest order for every customer"),
        ("What's the difference between RANK and DENSE_RANK when there are ties?", "RANK leaves gaps after ties",
         "after two firsts comes second"),
        ("How do I compute a 7 day moving average?", "ROWS BETWEEN 6 PRECEDING AND CURRENT ROW"),
        ("How can I compare each day's figure with the one before?", "LAG reads a value from the previous row"),
        ("I get an error when I filter on ROW_NUMBER in the WHERE clause",
         "You cannot use a window function in WHERE", "filter on the outer level instead"),
        ("Why does my average look too high when some values are missing?", "AVG ignores NULL values",
         "wrap the column in COALESCE"),
        ("Why does 5/2 give 2 in Postgres?", "five divided by two is two", "two point five"),
        ("How do I count several conditions in one query?", "FILTER lets one query compute"),
        ("How do I calculate a cumulative sum?", "A running total is SUM over an ORDER BY"),
    ),
    *_answers(
        "HTTP status codes and REST APIs",
        ("What code should an endpoint return after a POST creates a record?", "201 Created when a POST"),
        ("What's the difference between 401 and 403?", "401 Unauthorized really means unauthenticated",
         "you are still not allowed"),
        ("Which status fits a request body that parses but has an invalid field?", "422 is a good choice"),
        ("How does a rate-limited client know how long to back off?", "429 Too Many Requests",
         "how many seconds to wait"),
        ("Which temporary redirect keeps the request method unchanged?", "307 also promises"),
        ("Should I use PUT or PATCH to update a single field?", "PUT replaces a whole resource"),
        ("What does it mean that a method is idempotent?", "PUT and DELETE are idempotent"),
        ("How can I stop a customer being billed twice when a request is retried?",
         "a retried payment could be charged twice", "the server recognises a repeat"),
        ("Why is paging with an offset a problem?", "paginate with a cursor rather than an offset"),
        ("What status says the server is temporarily unavailable?", "503 when it is overloaded"),
        ("Is it OK for a GET handler to delete data?", "GET must never change anything"),
    ),
    *_answers(
        "CSS flexbox and grid",
        ("How do I center a div horizontally and vertically?", "To center something both ways"),
        ("Why does long text overflow my flex item instead of wrapping?", "will not shrink below their content",
         "fixes that overflow"),
        ("How do I make all the items in a row equally wide?", "flex: 1 lets every item"),
        ("How can I space items apart without extra margin at the outer edges?", "The gap property"),
        ("How do I make three columns of the same width with grid?", "repeat(3, 1fr) makes three equal columns"),
        ("What does the fr unit stand for?", "The fr unit is a fraction"),
        ("How do I make cards wrap into as many columns as fit, each at least 200px wide?",
         "repeat(auto-fill, minmax(200px, 1fr))", "at least two hundred pixels"),
        ("How can one element take up two grid columns?", "grid-column: span 2"),
        ("When should I pick flexbox rather than grid?", "Use flexbox for a toolbar"),
        ("My z-index does nothing", "z-index has no effect", "z-index starts to work"),
        ("How can a component respond to the size of its parent rather than the screen?", "Container queries"),
    ),
    *_answers(
        "Pricing your online course",
        ("Should the price depend on how many hours of video the course has?", "Price by the outcome"),
        ("What price range do new creators usually launch at?", "between 99 and 299 dollars"),
        ("Why offer an expensive top package that hardly anyone buys?", "The middle tier is the one most people buy",
         "decoy effect"),
        ("How big should a launch discount be?", "about 20 percent"),
        ("Is a fake countdown timer a good idea?", "Fake countdown timers destroy trust"),
        ("Do instalment plans increase sales?", "three monthly payments can lift sales"),
        ("When does a subscription make more sense than a one-time price?", "Subscriptions suit content"),
        ("What's the quickest way to accept card payments for my course?", "Stripe Checkout gives you"),
        ("Do I need to worry about VAT when selling abroad?", "Turn on tax collection early"),
        ("How many buyers actually ask for their money back?", "fewer than five percent ask for one"),
        ("What happens to people who already bought when I raise the price?", "Existing students keep"),
    ),
    *_answers(
        "python exceptions and error handling",
        ("Why is a bare except clause a bad idea?", "a bare except also catches keyboard interrupt"),
        ("In which order should I read a Python traceback?", "is read from the bottom up"),
        ("When does the else branch of a try statement run?", "the else block runs only when"),
        ("Where should cleanup code go so that it always runs?", "the finally block runs no matter what"),
        ("What should my own exception class inherit from?", "by subclassing exception not base exception"),
        ("How do I keep the original error when raising a different one?", "raise new error from the original"),
        ("What is except* for in Python 3.11?", "exception groups and the except star syntax"),
        ("How should I log an error together with its stack trace?", "logging dot exception"),
        ("Is it better to check that a key exists first or just try it and catch the error?",
         "easier to ask forgiveness than permission"),
        ("Why shouldn't I validate user input with assert?", "assertions are for catching bugs",
         "dash o flag"),
    ),
    *_answers(
        "sql indexes and transactions",
        ("Does Postgres index foreign key columns automatically?", "foreign keys do not"),
        ("How can I check whether my query actually uses an index?", "put explain analyze in front"),
        ("Why does the planner skip my index when I select half the rows?", "if you ask for half the table"),
        ("Is there a downside to putting an index on every column?", "each extra index also slows down"),
        ("What does atomicity mean?", "either all of them happen", "atomicity"),
        ("Which isolation level does Postgres use out of the box?", "read committed isolation level"),
        ("Two people updating the same account balance at once overwrite each other's change",
         "can lose an update", "select for update"),
        ("Why is a transaction that stays open for a long time harmful?", "a transaction that stays open"),
        ("How long does Postgres wait before it detects a deadlock?", "detects it after one second"),
        ("How do I avoid deadlocks?", "always lock rows in the same order"),
        ("How can I add an index to a production table without blocking writes?", "create index concurrently"),
    ),
    *_answers(
        "git rebase and fixing commits",
        ("How does the history look after a rebase compared with a merge?", "a straight line of history"),
        ("I hit a conflict in the middle of a rebase, what now?", "git stops at that commit",
         "rebase dash dash abort"),
        ("How do I fold my last few commits into one?", "change pick to squash"),
        ("How do I edit only the message of an older commit?", "use reword to change just a message"),
        ("How can a small fix be attached automatically to an earlier commit?", "git commit dash dash fix up"),
        ("Why shouldn't I rebase a branch my colleagues also work on?", "never rebase commits that you already"),
        ("Is it safe to force push after rebasing?", "use force with lease"),
        ("How far back does the reflog remember?", "for the last ninety days"),
        ("How do I bring one bug fix commit over to a release branch?", "cherry pick copies a single commit"),
        ("How can I find which commit introduced a regression?", "git bisect does a binary search"),
    ),
    *_answers(
        "docker compose for local development",
        ("Why can't my app reach the database on localhost with compose?", "reach each other by the service"),
        ("My database is empty every time I recreate the container", "use a named volume for the database"),
        ("How do I see code changes inside the container without rebuilding?", "use a bind mount"),
        ("My app starts before Postgres is ready to accept connections", "depends on only controls the start",
         "condition service healthy"),
        ("How can I run the compose Postgres when another one already uses port 5432?",
         "five four three three colon", "port fifty four thirty three"),
        ("Where should I keep passwords when using compose?", "put them in a dot env file"),
        ("How do I follow the logs of all the containers?", "docker compose logs dash f"),
        ("My Dockerfile changes are not picked up", "run docker compose up dash dash build"),
        ("Does compose down delete my database?", "down stops everything but keeps your volumes"),
        ("How can I keep an optional service switched off by default?", "profiles let you leave"),
        ("How do I start the containers in the background?", "start them all with docker compose up dash d"),
    ),
    *_answers(
        "testing with pytest",
        ("How do I check that a function throws an exception with a particular message?",
         "use with pie test dot raises", "check the message too"),
        ("How does cleanup after a fixture work?", "a fixture that uses yield"),
        ("How can an expensive fixture run only once for all tests?", "session scope runs it once"),
        ("Where do I put fixtures shared by several test files?", "conf test dot pie"),
        ("How do I run the same test with different inputs?", "parametrize runs one test"),
        ("How do I give each test its own temporary directory?", "temp path fixture"),
        ("How can I change an environment variable for one test only?", "monkey patch lets you set"),
        ("Why can heavily mocked tests be misleading?", "a test that mocks everything"),
        ("How do I rerun only the tests that failed?", "dash dash lf reruns"),
        ("My tests pass alone but fail when run together", "tests that pass or fail depending on the order"),
        ("Does 100% coverage mean my code is well tested?", "a hundred percent coverage does not mean"),
    ),
)

#: On the lessons' subjects, but no lesson answers them (some lessons name the subject in passing:
#: Stripe, a CTE, yield, conflicts, a sales page, refunds, custom properties).
NEAR_TOPIC: tuple[str, ...] = (
    "How do I set up a Stripe webhook?",
    "How do I write a recursive CTE in SQL?",
    "How do Python decorators work?",
    "What is a generator in Python and when should I use yield?",
    "How do I configure CORS headers on my API?",
    "How does HTTPS encrypt traffic?",
    "How do I animate an element with CSS transitions?",
    "How do I delete a remote git branch?",
    "How do I write a multi-stage Dockerfile?",
    "How do I deploy my containers to Kubernetes?",
    "How do I back up a Postgres database with pg_dump?",
    "How do I test asynchronous code with pytest?",
    "How do I write a sales page that converts?",
    "How do I issue a refund from the Stripe dashboard?",
    "How do CSS variables work?",
)

#: Nothing in the lessons is about these.
OFF_TOPIC: tuple[str, ...] = (
    "How do I bake sourdough bread?",
    "Who won the football World Cup in 2018?",
    "What is the capital of Australia?",
    "How do I fix a flat bicycle tire?",
    "Explain photosynthesis in plants",
    "What is the best way to learn piano?",
    "How many moons does Jupiter have?",
    "How often should I water a succulent?",
    "What causes inflation?",
    "How do I change the oil in my car?",
    "Who wrote Pride and Prejudice?",
    "What's a good warm-up before a run?",
    "How do I knit a scarf?",
    "At what temperature does water boil on a high mountain?",
    "How do I teach a puppy to sit?",
)

QUESTIONS: tuple[Question, ...] = (
    *_ANSWERABLE,
    *(Question(text, kind="near-topic") for text in NEAR_TOPIC),
    *(Question(text, kind="off-topic") for text in OFF_TOPIC),
)


def first_hit(question: Question, citations: Iterable[tuple[str, float]]) -> int | None:
    """The rank (from 1) of the first citation that opens ``question``'s lesson near its moment.

    ``citations`` are (lesson title, start second) in the order shown.
    """
    start, end = question.moment
    for rank, (title, second) in enumerate(citations, start=1):
        if title == question.title and start - HIT_SECONDS <= second <= end + HIT_SECONDS:
            return rank
    return None


@dataclass(frozen=True)
class Outcome:
    """What one method made of one question: its citations in order, and whether it refused."""

    question: Question
    citations: tuple[tuple[str, float], ...]  # (lesson title, start second)
    refused: bool = False

    @property
    def rank(self) -> int | None:
        return None if self.refused or self.question.title is None else first_hit(self.question, self.citations)


@dataclass(frozen=True)
class Scores:
    """hit@1, hit@5 and MRR over answerable questions (a refusal is a miss), and refusal shares."""

    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    refused: float  # share of these questions refused


def score(outcomes: Sequence[Outcome]) -> Scores:
    n = len(outcomes)
    ranks = [o.rank for o in outcomes]
    return Scores(questions=n, hit_at_1=sum(r == 1 for r in ranks) / n,
                  hit_at_5=sum(r is not None and r <= 5 for r in ranks) / n,
                  mrr=sum(1 / r for r in ranks if r is not None) / n,
                  refused=sum(o.refused for o in outcomes) / n)


def ask_each(assistant, creator: uuid.UUID, title_by_video: dict[uuid.UUID, str],
             questions: Sequence[Question] = QUESTIONS) -> list[Outcome]:
    """Every question through ``Assistant.ask``, each in a conversation of its own."""
    outcomes = []
    for question in questions:
        answer = assistant.ask(creator, question.text)
        outcomes.append(Outcome(question, tuple((title_by_video[c.video_id], c.start_seconds)
                                                for c in answer.citations), refused=not answer.found))
    return outcomes


def to_srt(lesson: Lesson) -> bytes:
    """The lesson as an SRT subtitle file, its cues at their own seconds."""

    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i}\n{stamp(cue.start)} --> {stamp(cue.end)}\n{cue.text}\n"
                     for i, cue in enumerate(lesson.cues, start=1)).encode()


def import_lessons(db, creator: uuid.UUID, embedder, *, timeout: float = 600) -> dict[uuid.UUID, str]:
    """Import every lesson as a subtitled Loom video and embed it; returns each video's lesson title."""
    from chronos_data.ingest import pipeline
    from chronos_data.ingest.worker import run_until_done

    title_by_video = {}
    for lesson in LESSONS:
        with db.workspace(creator) as t:
            video_id = pipeline.add_subtitled_video(
                t, source_type="loom", source=f"https://www.loom.com/share/{uuid.uuid4().hex}",
                subtitle_bytes=to_srt(lesson), subtitle_filename="lesson.srt", title=lesson.title)
        title_by_video[video_id] = lesson.title
    run_until_done(db, creator, embedder, title_by_video, timeout=timeout)
    return title_by_video
