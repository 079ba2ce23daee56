"""A small retrieval evaluation set: ten short lectures and questions that paraphrase them.

Written for Chronos (no outside data). Topics come in pairs of close distractors (lists vs
tuples, joins vs indexes, caching vs cookies, git history vs git undo, images vs volumes), so
finding the right video is not enough by topic alone. Questions reword the lecture rather than
copy it; some name a rare exact term (ETag, reflog, SameSite, EXPLAIN ANALYZE) the way learners
do. Each caption lasts CAPTION_SECONDS; a question's window is (start, end) in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAPTION_SECONDS", "LECTURES", "NEAR_TOPIC", "OFF_TOPIC", "QUESTIONS", "Lecture", "Question", "to_srt"]

CAPTION_SECONDS = 5


@dataclass(frozen=True)
class Lecture:
    title: str
    captions: tuple[str, ...]  # caption i is spoken from i * CAPTION_SECONDS


@dataclass(frozen=True)
class Question:
    text: str
    title: str  # the lecture that answers it
    window: tuple[int, int]  # seconds: the part of the lecture that answers it


def _at(caption: int, through: int | None = None) -> tuple[int, int]:
    """The window spanning captions ``caption`` .. ``through`` (inclusive)."""
    last = caption if through is None else through
    return caption * CAPTION_SECONDS, (last + 1) * CAPTION_SECONDS


def to_srt(lecture: Lecture) -> bytes:
    """The lecture as an SRT subtitle file."""

    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [
        f"{i + 1}\n{stamp(i * CAPTION_SECONDS)} --> {stamp((i + 1) * CAPTION_SECONDS - 0.5)}\n{text}\n"
        for i, text in enumerate(lecture.captions)
    ]
    return "\n".join(blocks).encode()


LECTURES: tuple[Lecture, ...] = (
    Lecture("Python lists in depth", (
        "Hi everyone, in this lesson we look closely at Python lists.",  # 0
        "A list is an ordered collection written with square brackets.",
        "Lists are mutable, so you can change them after you create them.",
        "You add one item to the end with the append method.",
        "If you want to add many items at once, use extend instead.",
        "Insert puts an element at a specific position, shifting the rest right.",  # 5
        "Be careful: inserting at the front of a long list is slow.",
        "That is because every other element has to move one slot over.",
        "If you need a fast queue, use collections deque rather than a list.",
        "Now let's talk about removing things from a list.",
        "Pop removes and returns the last item, and it is very cheap.",  # 10
        "Remove deletes the first element equal to the value you pass.",
        "Slicing gives you a new list containing a range of positions.",
        "A step of minus one in a slice walks the list backwards.",
        "Sorting: the sort method changes the list itself and returns None.",
        "The built-in sorted function leaves the original alone and returns a copy.",  # 15
        "Both accept a key function, for example key equals str dot lower.",
        "A classic bug is using a list as a default argument value.",
        "The default is created once, so every call shares the same list.",
        "Use None as the default and create a fresh list inside the function.",
        "Copying matters too: assigning a list to a new name does not copy it.",  # 20
        "Both names point to the same object, so changes show up in both.",
        "Use list slicing with a colon or the copy method for a shallow copy.",
        "For nested lists you need copy dot deepcopy to duplicate the inner lists.",
        "List comprehensions build a new list from any iterable in one line.",
        "That's it for lists; next time we compare them with tuples.",  # 25
    )),
    Lecture("Python tuples and immutability", (
        "Welcome back. Today's topic is the tuple, a close cousin of the list.",  # 0
        "Tuples are written with parentheses, but really the comma makes the tuple.",
        "A one element tuple needs a trailing comma, or it is just parentheses.",
        "The big difference is that tuples are immutable once created.",
        "You cannot assign to an index or append to a tuple.",
        "Because they cannot change, tuples can be used as dictionary keys.",  # 5
        "They are hashable as long as everything inside them is hashable too.",
        "A tuple holding a list is not hashable and fails as a key.",
        "Tuples are also slightly smaller in memory than equivalent lists.",
        "Creating a tuple literal is a bit faster because Python can constant fold it.",
        "Use tuples for fixed records, like a point with x and y.",  # 10
        "Use lists for a growing collection of similar things.",
        "Unpacking lets you assign a tuple's parts to several names at once.",
        "For example, x comma y equals point splits it into two variables.",
        "A starred name collects the leftovers, like first, star rest.",
        "Swapping two variables is just a, b equals b, a.",  # 15
        "Functions that return several values are really returning a tuple.",
        "Named tuples give each position a name, so code reads better.",
        "You build them with collections namedtuple or typing NamedTuple.",
        "They still behave like tuples: indexing and unpacking keep working.",
        "If you need a record you can modify, a dataclass is a better choice.",  # 20
        "Remember that immutability is shallow: a list inside a tuple can still change.",
        "The tuple keeps pointing at the same list, but the list's contents may differ.",
        "So a tuple is only truly frozen when its contents are frozen too.",
        "In the exercises you will convert some records from lists to tuples.",
        "See you in the next lesson on dictionaries.",  # 25
    )),
    Lecture("SQL joins explained", (
        "In this video we cover how SQL joins combine rows from two tables.",  # 0
        "Our example has a customers table and an orders table.",
        "An inner join keeps only rows that have a match on both sides.",
        "So customers who never ordered anything simply disappear from the result.",
        "A left join keeps every customer, matched or not.",
        "When there is no matching order, the order columns come back as null.",  # 5
        "A right join is the mirror image, and most people just swap the tables.",
        "A full outer join keeps unmatched rows from both tables.",
        "A cross join pairs every row with every other row.",
        "With a thousand customers and a thousand products that's a million rows.",
        "Here's a common trick: finding customers with no orders at all.",  # 10
        "Do a left join, then keep rows where the order id is null.",
        "This pattern is called an anti join; NOT EXISTS does the same thing.",
        "Be careful with NOT IN when the subquery can return nulls.",
        "A single null makes NOT IN return no rows, which surprises everyone.",
        "Another trap is putting a filter on the right table in the WHERE clause.",  # 15
        "That quietly turns your left join back into an inner join.",
        "Move such conditions into the ON clause to keep the unmatched rows.",
        "Joining on a non-unique column can multiply rows unexpectedly.",
        "If totals suddenly double, check for duplicate keys in the joined table.",
        "A self join joins a table to itself, for example employees and their managers.",  # 20
        "You give the table two aliases so you can refer to each copy.",
        "Finally, USING is shorthand when both columns share the same name.",
        "Next lesson we'll see how indexes make these joins fast.",
    )),
    Lecture("SQL indexes and query plans", (
        "This lesson is about indexes and how the database uses them.",  # 0
        "Without an index, finding a row means reading the whole table.",
        "That full read is called a sequential scan.",
        "A B-tree index keeps values sorted so lookups take logarithmic time.",
        "It also helps with range conditions and with ORDER BY.",
        "Composite indexes cover several columns, and column order matters.",  # 5
        "An index on last name, first name helps queries filtering on last name.",
        "But it does not help a query that filters only on first name.",
        "This is the leftmost prefix rule.",
        "Indexes are not free: every insert and update must maintain them.",
        "Too many indexes slow down writes and take disk space.",  # 10
        "To see what the planner decided, put EXPLAIN in front of the query.",
        "EXPLAIN ANALYZE actually runs it and reports real timings per step.",
        "Look for the estimated row counts versus the actual row counts.",
        "A big mismatch usually means the table statistics are stale.",
        "Running ANALYZE refreshes the statistics the planner relies on.",  # 15
        "Wrapping an indexed column in a function hides it from the index.",
        "For example, filtering on lower of email will not use a plain email index.",
        "Create an expression index on lower of email to fix that.",
        "A partial index only covers rows matching a WHERE condition.",
        "It is small and fast when you always query, say, only active users.",  # 20
        "A covering index includes extra columns so the table is never visited.",
        "That gives you an index-only scan, which is the fastest read.",
        "Foreign key columns usually deserve an index, for joins and deletes.",
        "Measure before and after; never add an index on a hunch.",
    )),
    Lecture("HTTP caching headers", (
        "Today we explain how browsers and proxies cache HTTP responses.",  # 0
        "The main control is the Cache-Control response header.",
        "max-age says how many seconds a response stays fresh.",
        "While it is fresh, the browser reuses it without contacting the server.",
        "no-store means never keep a copy at all, for example for bank pages.",
        "no-cache is confusing: it allows storing but requires checking first.",  # 5
        "private means only the user's own browser may keep it, not shared proxies.",
        "public allows CDNs and other shared caches to store the response.",
        "When a response gets stale, the browser revalidates instead of downloading again.",
        "The server can send an ETag, a fingerprint of the content.",
        "The browser sends it back in an If-None-Match request header.",  # 10
        "If nothing changed, the server answers 304 Not Modified with an empty body.",
        "That saves bandwidth, since only headers travel over the network.",
        "Last-Modified and If-Modified-Since do the same job with dates.",
        "For static assets, put a content hash in the file name.",
        "Then you can cache them for a year and mark them immutable.",  # 15
        "When the file changes, the name changes, so users get the new version.",
        "The Vary header tells caches which request headers change the response.",
        "For example, Vary Accept-Encoding keeps gzip and plain versions apart.",
        "stale-while-revalidate lets a cache serve old content while fetching fresh content.",
        "Be careful caching personalized pages in a CDN.",  # 20
        "One user's account page could be served to everyone else.",
        "Open the network tab in developer tools to see what came from cache.",
    )),
    Lecture("HTTP cookies and sessions", (
        "This lecture covers cookies, the way websites remember who you are.",  # 0
        "HTTP itself is stateless: each request stands alone.",
        "A server sets a cookie with the Set-Cookie response header.",
        "The browser then sends it back with every matching request.",
        "Session cookies disappear when the browser is closed.",
        "Adding Expires or Max-Age makes a persistent cookie that survives restarts.",  # 5
        "The Domain and Path attributes limit where the cookie is sent.",
        "The Secure attribute means the cookie only travels over HTTPS.",
        "HttpOnly hides the cookie from JavaScript running in the page.",
        "That blocks the easiest way for an XSS attack to steal a session.",
        "SameSite controls whether cookies go along on cross-site requests.",  # 10
        "Strict never sends them cross-site; Lax allows top-level navigation links.",
        "None sends them everywhere but requires the Secure flag.",
        "SameSite is the modern defense against cross-site request forgery.",
        "Browsers cap cookies at roughly four kilobytes each.",
        "So store a random session identifier, not the user's data itself.",  # 15
        "The server keeps the session data and looks it up by that identifier.",
        "Regenerate the identifier after login to prevent session fixation.",
        "Third-party cookies come from domains other than the one you are visiting.",
        "Advertisers used them to follow people across sites.",
        "Many browsers now block them by default.",  # 20
        "In the next module we will build a login form using these ideas.",
    )),
    Lecture("Git branches and merging", (
        "Let's learn how branches work in git.",  # 0
        "A branch is just a lightweight pointer to a commit.",
        "Creating one is instant, because nothing is copied.",
        "git switch dash c creates a new branch and moves you onto it.",
        "HEAD is the pointer that tells git which branch you are on.",
        "When you commit, the current branch pointer moves forward.",  # 5
        "To bring work together, you merge one branch into another.",
        "If the target has not moved, git just slides the pointer forward.",
        "That is called a fast-forward merge, and no merge commit is created.",
        "If both branches have new commits, git makes a merge commit with two parents.",
        "Conflicts happen when both sides changed the same lines.",  # 10
        "Git marks the conflict with arrows and equals signs in the file.",
        "You edit the file, keep the right version, then add and commit.",
        "Rebase is the alternative: it replays your commits on top of another branch.",
        "The result is a straight line of history without merge commits.",
        "But rebase rewrites commits, giving them new hashes.",  # 15
        "Never rebase commits that other people have already pulled.",
        "Interactive rebase lets you squash, reorder, or reword commits.",
        "Delete a merged branch with git branch dash d.",
        "Teams often protect the main branch and merge through pull requests.",
        "Short-lived feature branches keep conflicts small.",  # 20
    )),
    Lecture("Undoing mistakes in git", (
        "Everyone makes mistakes in git; this lesson shows how to undo them.",  # 0
        "If you edited a file and want the last committed version back, use git restore.",
        "To unstage a file but keep your edits, use git restore dash dash staged.",
        "Fixing the most recent commit message is git commit dash dash amend.",
        "Amend also lets you add a forgotten file to the last commit.",
        "git reset moves the branch pointer back to an earlier commit.",  # 5
        "With soft, your changes stay staged, ready to commit again.",
        "Mixed, the default, keeps the changes but unstages them.",
        "Hard throws the changes away completely, so use it with care.",
        "On a shared branch, prefer git revert instead.",
        "Revert creates a new commit that does the opposite of an old one.",  # 10
        "History is preserved, so nobody else's clone breaks.",
        "Lost a commit after a hard reset? It is usually not gone.",
        "The reflog records every position HEAD has been at.",
        "Find the old hash there and reset back to it.",
        "Stash sets aside uncommitted work so you can switch tasks.",  # 15
        "git stash pop brings that work back later.",
        "To remove untracked files, git clean dash n shows what would be deleted.",
        "Then dash f actually deletes them.",
        "When in doubt, make a backup branch before trying anything risky.",
    )),
    Lecture("Docker images and containers", (
        "In this lesson we separate two Docker ideas: images and containers.",  # 0
        "An image is a read-only template, built from a Dockerfile.",
        "A container is a running instance of an image, with its own writable layer.",
        "Each instruction in a Dockerfile creates a layer.",
        "Layers are cached, so unchanged steps are not rebuilt.",
        "Put rarely changing steps, like installing dependencies, near the top.",  # 5
        "Copy your source code last so edits do not bust the dependency cache.",
        "A dot dockerignore file keeps junk out of the build context.",
        "Multi-stage builds compile in one stage and copy only the result into a slim final image.",
        "That keeps compilers and build tools out of what you ship.",
        "Tag images with a version, not just latest.",  # 10
        "latest simply means whatever was built last, which is not reproducible.",
        "docker run starts a container; dash d runs it in the background.",
        "dash p maps a port on your machine to a port in the container.",
        "docker ps lists running containers; add dash a to include stopped ones.",
        "Containers should be disposable: stop one, start another, nothing lost.",  # 15
        "Run your process as a non-root user inside the image for safety.",
        "Keep one main process per container.",
        "Use docker logs to read what the process printed.",
        "Next time: where to keep data so it survives the container.",
    )),
    Lecture("Docker volumes and networking", (
        "Containers lose their writable layer when they are removed.",  # 0
        "So anything a database writes there is gone with the container.",
        "Volumes solve this: storage managed by Docker that outlives containers.",
        "Mount one with dash v volume name colon path.",
        "Bind mounts map a folder from your own machine into the container.",
        "They are handy in development so code changes appear immediately.",  # 5
        "Named volumes are better for production data like Postgres files.",
        "To back up a volume, run a temporary container that archives it.",
        "Now networking. By default containers join the bridge network.",
        "On a user-defined network, containers reach each other by name.",
        "Docker runs an internal DNS server that resolves those names.",  # 10
        "So the web app can connect to host db on port 5432.",
        "Publishing ports is only needed for access from outside Docker.",
        "Inside the network, containers talk to each other directly.",
        "Compose creates one network per project automatically.",
        "Services in a compose file find each other by service name.",  # 15
        "depends_on controls start order but does not wait for readiness.",
        "Add a healthcheck if one service must wait for another to be ready.",
        "docker volume prune removes volumes that no container uses.",
        "Run it carefully: it deletes data for good.",
    )),
)

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
