"""Verification of the audit chain and the network-log digests: names the first broken or missing row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit import chain, export
from audit.models import AuditEvent, ChainCheck, LogDigest, NetworkLog

UNEXPORTED_GRACE = timedelta(minutes=30)  # the seal job runs every five minutes and exports as it seals


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


def _start_problem(seq: int, prev_hash: str, contents: export.Contents) -> str:
    """The chain may start at #1, at an anchor the retention job signed before purging, or (a purge
    interrupted half-way) anywhere below the latest signed anchor: those rows were due to go."""
    if seq == 1 and prev_hash == "":
        return ""
    if contents.audit_anchors.get(seq) == prev_hash or seq < contents.audit_anchor_max:
        return ""
    if contents.audit_anchor_max:
        anchor = contents.audit_anchor_max
        return f"audit event #{seq}: the chain does not start at the signed purge anchor #{anchor}"
    return f"audit event #{seq}: the chain does not start at #1 (rows removed before it)"


def _verify_chain_in_database(report: Report, contents: export.Contents) -> None:
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
    for number, rows in enumerate(results):
        for seq, prev_hash, stored, computed, prev_seq, position in rows:
            if position == 1:
                if number > 0:
                    if seq != ranges[number][0]:  # the overlap row itself is gone
                        report.fail(f"audit event #{ranges[number][0]} is missing (next present: #{seq})")
                        return
                    continue  # the overlap row, checked by the previous range
                if problem := _start_problem(seq, prev_hash, contents):
                    report.fail(problem)
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


def verify_chain(report: Report, contents: export.Contents | None = None, batch: int = 20_000) -> None:
    contents = export.read() if contents is None else contents
    from django.db import connection

    if connection.vendor == "postgresql":
        _verify_chain_in_database(report, contents)
        return
    expected_seq, expected_prev = None, None
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
            if expected_seq is None:  # the first row: the chain's start, or where a purge left it
                if problem := _start_problem(row["seq"], row["prev_hash"], contents):
                    report.fail(problem)
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


def verify_digests(report: Report, contents: export.Contents | None = None) -> None:
    contents = export.read() if contents is None else contents
    purged_through = contents.logs_purged_through  # only a signed anchor excuses missing sealed rows
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


def verify_export(report: Report, contents: export.Contents | None = None) -> None:
    """The signed export outside the database must match the digests inside it, and every audit head it
    recorded must still be in the chain unchanged (a rewrite of the tables shows)."""
    contents = export.read() if contents is None else contents
    if contents.problem:
        report.fail(contents.problem)
        return
    stale = LogDigest.objects.filter(
        exported_at__isnull=True, created_at__lt=timezone.now() - UNEXPORTED_GRACE
    ).first()
    if stale:
        report.fail(f"network-log digest for rows {stale.first_id}-{stale.last_id} was never exported")
        return
    if not contents.exists:
        if LogDigest.objects.filter(exported_at__isnull=False).exists():
            report.fail(f"the digest export {settings.AUDIT_DIGEST_EXPORT_PATH} is missing")
        return
    stored = dict(LogDigest.objects.values_list("last_id", "hash"))
    for number, digest in contents.digests:
        if stored.get(digest["last_id"]) != digest["hash"]:
            report.fail(
                f"digest export line {number}: the database no longer holds this digest "
                f"(rows {digest['first_id']}-{digest['last_id']})"
            )
            return
    exported = {digest["last_id"] for _number, digest in contents.digests}
    lost = LogDigest.objects.filter(exported_at__isnull=False).exclude(last_id__in=exported).first()
    if lost:
        report.fail(
            f"network-log digest for rows {lost.first_id}-{lost.last_id} is missing from the export "
            "(the file was cut short or replaced)"
        )
        return
    _check_exported_heads(report, contents)


def _check_exported_heads(report: Report, contents: export.Contents) -> None:
    recorded = [
        (number, record["audit_seq"], record["audit_hash"])
        for number, record in contents.digests + contents.heads
        if record.get("audit_seq")
    ]
    seqs = sorted({seq for _n, seq, _h in recorded})
    actual = {}
    for start in range(0, len(seqs), 5_000):
        actual.update(
            AuditEvent.objects.filter(seq__in=seqs[start : start + 5_000]).values_list("seq", "hash")
        )
    for number, seq, recorded_hash in sorted(recorded):
        if seq not in actual:
            if seq < contents.audit_anchor_max:
                continue  # purged by retention, which signed an anchor first
            report.fail(f"audit event #{seq} recorded in the export (line {number}) is gone (truncated)")
            return
        if actual[seq] != recorded_hash:
            report.fail(f"audit event #{seq} differs from the head exported on line {number} (rewritten)")
            return


def verify_all() -> Report:
    report = Report()
    contents = export.read()
    if contents.problem:
        report.fail(contents.problem)
        return report
    verify_chain(report, contents)
    if report.ok:
        verify_digests(report, contents)
    if report.ok:
        verify_export(report, contents)
    return report


def verify_and_record() -> Report:
    """The periodic check (and ``manage.py audit_verify``): verify, keep the result for the dashboard,
    and when all is well export the chain's head, signed, as a checkpoint for later verifications."""
    report = verify_all()
    ChainCheck.objects.create(
        ok=report.ok,
        checked_events=report.checked_events,
        checked_digests=report.checked_digests,
        problems=report.problems,
    )
    if report.ok:
        head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        if head:
            export.append(
                "head",
                {"audit_seq": head["seq"], "audit_hash": head["hash"], "at": timezone.now().isoformat()},
            )
    return report
