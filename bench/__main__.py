"""python -m bench NAME [options]: run one benchmark and print a Markdown table."""

from __future__ import annotations

import argparse
import sys

from . import import_speed

BENCHMARKS = {"import": import_speed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    args = parser.parse_args(argv)
    print(BENCHMARKS[args.name].run(repeat=args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
