"""Verification of the audit chain and the network-log digests: names the first broken or missing row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from audit import chain
from audit.models import AuditEvent, LogDigest, NetworkLog, RetentionRun


@dataclass
class Report:
    ok: bool = True
    checked_events: int = 0
    checked_digests: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


CHAIN_CHECK_SQL = f"""
SELECT seq, prev_hash, hash, computed, prev_seq, position FROM (
    SELECT e.seq, e.prev_hash, e.hash, {chain.sql_event_digest("e")} AS computed,
           lag(e.seq) OVER w AS prev_seq, lag(e.hash) OVER w AS prev_actual,
           row_number() OVER w AS position
    FROM audit_auditevent e WHERE e.seq >= %(low)s AND e.seq < %(high)s WINDOW w AS (ORDER BY e.seq)
) checked
WHERE position = 1 OR computed <> hash OR seq <> prev_seq + 1 OR prev_hash <> prev_actual
ORDER BY seq LIMIT 2
"""


def _check_range(low: int, high: int, *, own_connection: bool) -> list:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(CHAIN_CHECK_SQL, {"low": low, "high": high})
            return cursor.fetchall()
    finally:
        if own_connection:  # a worker thread's connection; the caller's stays open
            connection.close()


def _verify_chain_in_database(report: Report, anchor) -> None:
    """PostgreSQL: the same digest function the insert trigger used, over ranges checked in parallel;
    each range after the first starts one row early, so the links between ranges are checked too."""
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db.models import Max, Min

    bounds = AuditEvent.objects.aggregate(low=Min("seq"), high=Max("seq"))
    if bounds["low"] is None:
        return
    workers = max(1, settings.AUDIT_VERIFY_WORKERS)
    step = (bounds["high"] - bounds["low"]) // workers + 1
    starts = [bounds["low"] + n * step for n in range(workers)]
    ranges = [(start if n == 0 else start - 1, start + step) for n, start in enumerate(starts)]
    if workers == 1:
        results = [_check_range(*ranges[0], own_connection=False)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda r: _check_range(*r, own_connection=True), ranges))
    expected_seq, expected_prev = (
        (anchor.chain_anchor_seq, anchor.chain_anchor_prev_hash) if anchor else (1, "")
    )
    for number, rows in enumerate(results):
        for seq, prev_hash, stored, computed, prev_seq, position in rows:
            if position == 1:
                if number > 0:
                    if seq != ranges[number][0]:  # the overlap row itself is gone
                        report.fail(f"audit event #{ranges[number][0]} is missing (next present: #{seq})")
                        return
                    continue  # the overlap row, checked by the previous range
                if seq != expected_seq or prev_hash != expected_prev:
                    where = (
                        "#1 (rows removed before it)"
                        if anchor is None
                        else f"the purge anchor #{expected_seq}"
                    )
                    report.fail(f"audit event #{seq}: the chain does not start at {where}")
                    return
                if computed != stored:
                    report.fail(f"audit event #{seq}: content does not match its hash (altered)")
                    return
                continue
            if seq != prev_seq + 1:
                report.fail(f"audit event #{prev_seq + 1} is missing (next present: #{seq})")
            elif computed != stored:
                report.fail(f"audit event #{seq}: content does not match its hash (altered)")
            else:
                report.fail(
                    f"audit event #{seq}: link to the previous event is broken (reordered or altered)"
                )
            return
    report.checked_events = bounds["high"] - bounds["low"] + 1  # no gap, or it would have failed above


def verify_chain(report: Report, batch: int = 20_000) -> None:
    anchor = (
        RetentionRun.objects.filter(record_class="audit_events", chain_anchor_seq__isnull=False)
        .order_by("-pk")
        .first()
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        _verify_chain_in_database(report, anchor)
        return
    expected_seq, expected_prev = None, None
    if anchor:
        expected_seq, expected_prev = anchor.chain_anchor_seq, anchor.chain_anchor_prev_hash
    last_seq = 0
    while True:
        rows = list(
            AuditEvent.objects.filter(seq__gt=last_seq)
            .order_by("seq")
            .values(*[f for f in chain.EVENT_FIELDS], "hash")[:batch]
        )
        if not rows:
            break
        for row in rows:
            if expected_seq is None:  # the first row: the chain's start, or the anchor left by a purge
                if row["seq"] != 1 or row["prev_hash"] != "":
                    report.fail(
                        f"audit event #{row['seq']}: the chain does not start at #1 (rows removed before it)"
                    )
                    return
            elif row["seq"] != expected_seq:
                report.fail(f"audit event #{expected_seq} is missing (next present: #{row['seq']})")
                return
            elif row["prev_hash"] != expected_prev:
                report.fail(
                    f"audit event #{row['seq']}: link to the previous event is broken (reordered or altered)"
                )
                return
            if chain.event_hash(row) != row["hash"]:
                report.fail(f"audit event #{row['seq']}: content does not match its hash (altered)")
                return
            expected_seq, expected_prev = row["seq"] + 1, row["hash"]
            report.checked_events += 1
        last_seq = rows[-1]["seq"]


def verify_digests(report: Report) -> None:
    purge = (
        RetentionRun.objects.filter(record_class="network_logs", chain_anchor_seq__isnull=False)
        .order_by("-pk")
        .first()
    )
    purged_through = purge.chain_anchor_seq if purge else 0
    prev = ""
    digests = list(LogDigest.objects.order_by("last_id"))
    for digest in digests:
        fields = {
            k: getattr(digest, k)
            for k in ("first_id", "last_id", "row_count", "rows_hash", "audit_seq", "audit_hash", "prev_hash")
        }
        if digest.prev_hash != prev or chain.digest_hash(**fields) != digest.hash:
            report.fail(
                f"network-log digest for rows {digest.first_id}-{digest.last_id}: the digest chain is broken"
            )
            return
        prev = digest.hash
        if digest.first_id <= purged_through:
            continue  # partly purged by retention: sealed, but no longer checkable row by row
        rows = list(
            NetworkLog.objects.filter(id__gte=digest.first_id, id__lte=digest.last_id)
            .order_by("id")
            .values(*chain.LOG_FIELDS)
        )
        if len(rows) != digest.row_count or chain.rows_hash(rows) != digest.rows_hash:
            report.fail(_first_bad_log(digest, rows))
            return
        if digest.audit_seq:
            head = AuditEvent.objects.filter(seq=digest.audit_seq).values_list("hash", flat=True).first()
            if head is not None and head != digest.audit_hash:
                report.fail(
                    f"audit event #{digest.audit_seq} differs from the head sealed with logs "
                    f"{digest.first_id}-{digest.last_id}"
                )
                return
        report.checked_digests += 1


def _first_bad_log(digest, rows) -> str:
    if len(rows) < digest.row_count:
        missing = digest.row_count - len(rows)
        return f"network log rows {digest.first_id}-{digest.last_id}: {missing} row(s) missing"
    if len(rows) > digest.row_count:
        added = len(rows) - digest.row_count
        return f"network log rows {digest.first_id}-{digest.last_id}: {added} row(s) added"
    return f"network log rows {digest.first_id}-{digest.last_id}: a row was altered"


def verify_export(report: Report) -> None:
    """The signed export outside the database must match the digests inside it (a full rewrite shows)."""
    path = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    if not path.exists():
        if LogDigest.objects.exists():
            report.fail(f"the digest export {path} is missing")
        return
    stored = {d.last_id: d.hash for d in LogDigest.objects.all()}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            report.fail(f"digest export line {number}: not a complete record")
            return
        text = json.dumps(entry["digest"], sort_keys=True, separators=(",", ":"))
        if chain.sign(settings.AUDIT_DIGEST_KEY, text) != entry["signature"]:
            report.fail(f"digest export line {number}: bad signature")
            return
        digest = entry["digest"]
        if stored.get(digest["last_id"]) != digest["hash"]:
            report.fail(
                f"digest export line {number}: the database no longer holds this digest "
                f"(rows {digest['first_id']}-{digest['last_id']})"
            )
            return
        if digest.get("audit_seq"):
            head = AuditEvent.objects.filter(seq=digest["audit_seq"]).values_list("hash", flat=True).first()
            anchor = (
                RetentionRun.objects.filter(record_class="audit_events")
                .order_by("-pk")
                .values_list("chain_anchor_seq", flat=True)
                .first()
            )
            if head is None and not (anchor and digest["audit_seq"] < anchor):
                report.fail(f"audit event #{digest['audit_seq']} recorded in the export is gone (truncated)")
                return
            if head is not None and head != digest["audit_hash"]:
                report.fail(f"audit event #{digest['audit_seq']} differs from the exported head (rewritten)")
                return


def verify_all() -> Report:
    report = Report()
    verify_chain(report)
    if report.ok:
        verify_digests(report)
    if report.ok:
        verify_export(report)
    return report
