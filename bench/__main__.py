"""python -m bench NAME [options]: run one benchmark and print a Markdown table."""

from __future__ import annotations

import argparse
import inspect
import sys

from . import dashboards, import_speed, retrieval

BENCHMARKS = {"dashboards": dashboards, "import": import_speed, "retrieval": retrieval}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--quick", action="store_true", help="smaller generated data, for a fast check")
    parser.add_argument("--chunks", type=int, help="size of the generated corpus (retrieval)")
    args = parser.parse_args(argv)
    run = BENCHMARKS[args.name].run
    options = {name: value for name, value in (("quick", args.quick), ("chunks", args.chunks))
               if value not in (None, False)}
    unknown = set(options) - set(inspect.signature(run).parameters)
    if unknown:
        parser.error(f"{args.name} takes no --{', --'.join(sorted(unknown))}")
    print(run(repeat=args.repeat, **options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
