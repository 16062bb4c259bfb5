"""audit_chain: chained appends from two concurrent writers vs plain inserts; verification speed.

Targets (BENCHMARKS.md): append throughput >= 0.5 x plain inserts into an unchained table; verification
>= 200k rows/s.
"""

from __future__ import annotations

import argparse
import threading
import time


def _run_writers(write, per_writer: int, writers: int = 2) -> float:
    from django.db import connection

    barrier = threading.Barrier(writers + 1)

    def worker():
        barrier.wait()
        for i in range(per_writer):
            write(i)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return writers * per_writer / (time.perf_counter() - started)


def _bulk_chain(rows: int) -> None:
    """Fill the chain quickly (bulk inserts with hashes computed here) for the verification run."""
    from django.db import connection
    from django.utils import timezone

    from audit import chain
    from audit.models import AuditEvent

    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    seq, prev = (head["seq"], head["hash"]) if head else (0, "")
    now = timezone.now()
    batch = []
    for i in range(rows):
        seq += 1
        row = {
            "seq": seq,
            "occurred_at": now,
            "event_type": "bench.fill",
            "actor_id": None,
            "actor_kind": "system",
            "door": "task",
            "ip": "127.0.0.1",
            "port": 40000 + i % 1000,
            "target_type": "groups.chatgroup",
            "target_id": str(i % 500),
            "group_code": "",
            "reason": "",
            "data": {"i": i},
            "prev_hash": prev,
        }
        row["hash"] = prev = chain.event_hash(row)
        batch.append(AuditEvent(**row))
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)
    connection.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--appends", type=int, default=None, help="appends per writer")
    parser.add_argument("--verify-rows", type=int, default=None)
    args = parser.parse_args(argv)
    appends = args.appends or (400 if args.quick else 2000)
    verify_rows = args.verify_rows or (50_000 if args.quick else 300_000)

    from bench.harness import print_table, setup_django, write_results

    setup_django()
    from django.utils import timezone

    from audit import services, verify
    from audit.models import NetworkLog
    from common.actors import Actor, Door

    system = Actor.system(door=Door.TASK)
    payload = {"code": "ABCDEFGH", "note": "基准测试"}

    def plain(i):
        NetworkLog.objects.create(
            occurred_at=timezone.now(), kind="http", ip="127.0.0.1", port=40000, path="/x", detail=payload
        )

    def chained(i):
        services.audit_record(actor=system, event_type="bench.append", data=payload)

    # Warm up both paths, then alternate so that machine noise hits both alike.
    _run_writers(plain, 50)
    _run_writers(chained, 50)
    plain_rates, chained_rates = [], []
    for _ in range(2):
        plain_rates.append(_run_writers(plain, appends // 2))
        chained_rates.append(_run_writers(chained, appends // 2))
    plain_rate, chained_rate = max(plain_rates), max(chained_rates)

    _bulk_chain(verify_rows)
    report = verify.Report()
    started = time.perf_counter()
    verify.verify_chain(report)
    elapsed = time.perf_counter() - started
    verify_rate = report.checked_events / elapsed
    assert report.ok, report.problems

    ratio = chained_rate / plain_rate
    results = {
        "appends_per_writer": appends,
        "writers": 2,
        "plain_inserts_per_s": round(plain_rate),
        "chained_appends_per_s": round(chained_rate),
        "append_ratio": round(ratio, 3),
        "append_target": 0.5,
        "append_ok": ratio >= 0.5,
        "verified_rows": report.checked_events,
        "verify_rows_per_s": round(verify_rate),
        "verify_target": 200_000,
        "verify_ok": verify_rate >= 200_000,
    }
    print_table(
        "audit_chain",
        [
            ("plain inserts/s (2 writers)", results["plain_inserts_per_s"]),
            ("chained appends/s (2 writers)", results["chained_appends_per_s"]),
            (
                "append ratio (target >= 0.5)",
                results["append_ratio"],
                "ok" if results["append_ok"] else "MISSED",
            ),
            (
                "verification rows/s (target >= 200k)",
                results["verify_rows_per_s"],
                "ok" if results["verify_ok"] else "MISSED",
            ),
        ],
    )
    write_results("audit_chain", results)
    return results


if __name__ == "__main__":
    main()
