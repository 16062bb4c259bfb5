"""Shared set-up for the benchmarks: a dedicated PostgreSQL database, Django, results as JSON.

Every benchmark measures the project against a baseline in the same run and reports the ratio; absolute
figures are printed for information (machines here are shared and noisy).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


_ADMIN_URL = ""
BENCH_REDIS_DB = 12  # the tests use databases 13-15


def bench_redis_url(db: int = BENCH_REDIS_DB) -> str:
    """The Redis of REDIS_URL (default the local one), database 12 (the benchmarks' own) unless told."""
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return urlunsplit(urlsplit(base)._replace(path=f"/{db}"))


def setup_django(name: str = "qunzu_bench") -> None:
    """Point Django at a fresh benchmark database on the PostgreSQL of DATABASE_URL and migrate it."""
    import psycopg

    global _ADMIN_URL
    _ADMIN_URL = _ADMIN_URL or os.environ.get("DATABASE_URL", "")  # the first benchmark's, kept
    base = _ADMIN_URL
    if not base.startswith("postgres"):
        sys.exit("The benchmarks need DATABASE_URL pointing at PostgreSQL (make bench sets it).")
    switch = False
    if "django.db" in sys.modules:  # an earlier benchmark in this process still holds its database
        from django.conf import settings
        from django.db import connections

        if settings.configured:
            connections.close_all()
            switch = True
    admin = psycopg.connect(base.replace("postgres://", "postgresql://", 1), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    if switch:  # settings are read once: this process's own queries go to the new database too
        settings.DATABASES["default"]["NAME"] = name  # the very dict each connection holds
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def code_version() -> dict:
    """The commit measured, and the files changed since it outside bench/ (the figures are theirs too)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(  # noqa: S603 (fixed arguments)
                ["git", *args],  # noqa: S607
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [
        line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")
    ]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_outside_bench": changed}


def write_results(name: str, results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {
        "benchmark": name,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "python": platform.python_version(),
        "code": code_version(),
        **results,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


def print_table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    width = max(len(str(r[0])) for r in rows)
    for label, value, *rest in rows:
        extra = f"  {rest[0]}" if rest else ""
        print(f"  {label:<{width}}  {value}{extra}")


def median(values) -> float:
    return statistics.median(values) if values else 0.0
