"""python -m bench [NAME] [options]: run one benchmark, or every one in turn, and print Markdown.

Without NAME, the benchmarks run one after another and make one document: a header naming the
machine, the commit and the versions, a table of how long each took, then each one's section.
"""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
import time
import traceback
from pathlib import Path

from . import chat, dashboards, explain, import_speed, ingest, load, machine, media_memory, rag, retrieval

#: In the order a full run takes them.
BENCHMARKS = {"dashboards": dashboards, "import": import_speed, "ingest": ingest, "retrieval": retrieval,
              "rag": rag, "chat": chat, "load": load}
#: Run by name only: the query plans docs/scaling.md quotes; the upload player's peak memory (docs/reliability.md).
EXTRAS = {"explain": explain, "media_memory": media_memory}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", choices=[*BENCHMARKS, *EXTRAS],
                        help="one benchmark (default: all, in turn), or explain: the dashboards' query plans")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--quick", action="store_true", help="smaller generated data, for a fast check")
    parser.add_argument("--chunks", type=int, help="size of the generated corpus (retrieval)")
    parser.add_argument("--events", type=int, help="about this many events, instead of 1 M and 10 M (dashboards)")
    parser.add_argument("--users", type=int, help="concurrent dashboard users (load; default 50)")
    parser.add_argument("--seconds", type=int, help="length of the measured run (load; default 120, --quick 10)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the Markdown to FILE")
    args = parser.parse_args(argv)
    options = {name: value for name, value in (("quick", args.quick), ("chunks", args.chunks),
                                                ("events", args.events), ("users", args.users),
                                                ("seconds", args.seconds))
               if value not in (None, False)}
    if args.name:
        run = {**BENCHMARKS, **EXTRAS}[args.name].run
        unknown = set(options) - _accepted(run)
        if unknown:
            parser.error(f"{args.name} takes no --{', --'.join(sorted(unknown))}")
        document, failed = run(repeat=args.repeat, **options), False
    else:
        command = " ".join(["python -m bench", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
        document, failed = _run_all(command, args.repeat, options)
    if args.out:
        args.out.write_text(document + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    print(document)
    return 1 if failed else 0


def _accepted(run) -> set[str]:
    return set(inspect.signature(run).parameters)


def _run_all(command: str, repeat: int, options: dict[str, object]) -> tuple[str, bool]:
    """Every benchmark in turn; one that fails is reported in its place and the rest still run."""
    sections, took, failed = [], [], False
    for number, (name, module) in enumerate(BENCHMARKS.items(), start=1):
        print(f"[{number}/{len(BENCHMARKS)}] {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            accepted = _accepted(module.run)
            sections.append(module.run(repeat=repeat, **{k: v for k, v in options.items() if k in accepted}))
            outcome = "done"
        except Exception:  # the document says which one failed and why; the others are still worth having
            failed = True
            outcome = "failed"
            sections.append(f"## {name}: failed\n\n```\n{traceback.format_exc().rstrip()}\n```")
        seconds = time.perf_counter() - started
        took.append(f"| `{name}` | {outcome} | {seconds:,.0f} s |")
        print(f"[{number}/{len(BENCHMARKS)}] {name} {outcome} in {seconds:,.0f} s", file=sys.stderr, flush=True)
    summary = ["| benchmark | outcome | time |", "|---|---|---:|", *took]
    return "\n\n".join([machine.header(command), "\n".join(summary), *sections]), failed


if __name__ == "__main__":
    sys.exit(main())
