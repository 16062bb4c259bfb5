"""retention: purge expired network logs while inserts continue.

Targets (BENCHMARKS.md): purge >= 100k rows/s; insert p99 during the purge <= 2 x the p99 without it;
nothing younger than the 180-day floor removed; held records kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fill(rows: int) -> None:
    """Half the rows older than the retention period, half young; 1% belong to a held user."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_networklog
                (occurred_at, kind, user_id, ip, port, method, path, status, group_code, message_id, detail)
            SELECT CASE WHEN g <= %(half)s THEN now() - interval '400 days' + g * interval '1 millisecond'
                        ELSE now() - interval '10 days' + g * interval '1 millisecond' END,
                   'http', CASE WHEN g %% 100 = 0 THEN 424242 ELSE g %% 5000 END, '127.0.0.1',
                   40000 + g %% 20000,
                   'GET', '/groups/ABCDEFGH/', 200, '', NULL, '{}'::jsonb
            FROM generate_series(1, %(rows)s) AS g
            """,
            {"rows": rows, "half": rows // 2},
        )
        cursor.execute("ANALYZE audit_networklog")


def _insert_loop(stop: threading.Event, latencies: list[float]) -> None:
    from django.db import connection

    from audit import services
    from audit.models import NetworkLogKind
    from common.actors import Actor, Door

    actor = Actor(user=None, kind=Actor.system().kind, door=Door.WEB, ip="127.0.0.1", port=50000)
    while not stop.is_set():
        started = time.perf_counter()
        services.network_log_write(
            actor=actor, kind=NetworkLogKind.HTTP, method="GET", path="/bench", status=200
        )
        latencies.append((time.time(), time.perf_counter() - started))
        time.sleep(0.002)  # a steady stream, not a flood
    connection.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    rows = args.rows or (200_000 if args.quick else 2_000_000)

    from bench.harness import percentile, print_table, setup_django, write_results

    setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from audit.models import LegalHold, NetworkLog, RetentionRun

    _fill(rows)
    holder = get_user_model().objects.create(username="bench-holder", nickname="保全")
    LegalHold.objects.create(target_type="user", target_id="424242", reason="bench", set_by=holder)
    held_before = NetworkLog.objects.filter(user_id=424242).count()
    young_before = NetworkLog.objects.filter(
        occurred_at__gte=timezone.now() - timezone.timedelta(days=180)
    ).count()

    # Baseline: insert latency with no purge running.
    stop, quiet = threading.Event(), []
    writer = threading.Thread(target=_insert_loop, args=(stop, quiet))
    writer.start()
    time.sleep(5 if args.quick else 10)
    stop.set()
    writer.join()

    # The purge, with the same insert stream beside it.
    stop, busy = threading.Event(), []
    writer = threading.Thread(target=_insert_loop, args=(stop, busy))
    writer.start()
    # The purge runs in its own process, as it does in the Celery worker (no shared interpreter lock).
    subprocess.run(
        [sys.executable, "manage.py", "retention_purge", "network_logs"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env=os.environ,
    )
    run = RetentionRun.objects.filter(record_class="network_logs").latest("pk")
    purge_seconds = (run.finished_at - run.started_at).total_seconds()  # the purge itself, not process start
    stop.set()
    writer.join()

    held_after = NetworkLog.objects.filter(user_id=424242).count()
    young_after = NetworkLog.objects.filter(
        occurred_at__gte=timezone.now() - timezone.timedelta(days=180)
    ).count()
    purge_rate = run.removed / purge_seconds
    # Only the inserts made while the purge was actually deleting count as "during".
    window = (run.started_at.timestamp(), run.finished_at.timestamp())
    during = [lat for at, lat in busy if window[0] <= at <= window[1]]
    p99_quiet = percentile([lat for _at, lat in quiet], 0.99) * 1000
    p99_busy = percentile(during, 0.99) * 1000
    results = {
        "rows": rows,
        "removed": run.removed,
        "purge_seconds": round(purge_seconds, 2),
        "purge_rows_per_s": round(purge_rate),
        "purge_target": 100_000,
        "purge_ok": purge_rate >= 100_000,
        "insert_p99_ms_without_purge": round(p99_quiet, 2),
        "insert_p99_ms_during_purge": round(p99_busy, 2),
        "insert_p99_ratio": round(p99_busy / p99_quiet, 2) if p99_quiet else None,
        "insert_p99_ok": p99_busy <= 2 * p99_quiet,
        "young_rows_kept": young_after >= young_before,
        "held_rows_kept": held_after == held_before,
        "inserts_measured": [len(quiet), len(during)],
    }
    print_table(
        "retention",
        [
            ("rows (half expired)", rows),
            ("removed", run.removed),
            (
                "purge rows/s (target >= 100k)",
                results["purge_rows_per_s"],
                "ok" if results["purge_ok"] else "MISSED",
            ),
            ("insert p99 without purge (ms)", results["insert_p99_ms_without_purge"]),
            (
                "insert p99 during purge (ms, target <= 2x)",
                results["insert_p99_ms_during_purge"],
                "ok" if results["insert_p99_ok"] else "MISSED",
            ),
            ("nothing younger than 180 days removed", results["young_rows_kept"]),
            ("held rows kept", results["held_rows_kept"]),
        ],
    )
    write_results("retention", results)
    return results


if __name__ == "__main__":
    main()
