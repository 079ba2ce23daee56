"""The machine and versions a benchmark ran on, for the header of its table."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version


def describe(packages: tuple[str, ...] = ("onnxruntime", "sqlalchemy", "psycopg", "pgvector")) -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f", {kib / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores{memory}; Python " \
           f"{platform.python_version()}; {versions}"
