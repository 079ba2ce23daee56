"""Ten short lectures written for Chronos: the demo workspace's videos and the retrieval
evaluation set's corpus (tests/rag_eval_set.py labels questions against them).

Topics come in pairs of close distractors (lists vs tuples, joins vs indexes, caching vs cookies,
git history vs git undo, images vs volumes), so finding the right video by topic alone is not
enough. Caption i of a lecture is spoken from ``i * seconds_per_caption``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAPTION_SECONDS", "LECTURES", "Lecture", "to_srt"]

#: Seconds per caption in the evaluation set (short captions, exact windows).
CAPTION_SECONDS = 5


@dataclass(frozen=True)
class Lecture:
    title: str
    captions: tuple[str, ...]  # caption i is spoken from i * seconds_per_caption


def to_srt(lecture: Lecture, seconds_per_caption: float = CAPTION_SECONDS) -> bytes:
    """The lecture as an SRT subtitle file (each caption shown until just before the next)."""

    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    step = seconds_per_caption
    blocks = [
        f"{i + 1}\n{stamp(i * step)} --> {stamp((i + 1) * step - 0.5)}\n{text}\n"
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
        # Planted for the insights: used here, explained only in the next lesson (concept order).
        "Checking out a commit directly leaves you in detached HEAD state, so create a branch before you commit.",
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
        "Detached HEAD means HEAD points at a commit instead of a branch, so new commits belong to no branch.",
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
