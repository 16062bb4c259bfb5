"""The regulator report register's actions (R11.4): generate, deliver, redeliver.

Every change goes through here with ``actor`` first; the policy comes first, the audit record is written in
the same transaction. Reports only read other apps (moderation's models for measures, complaints and cases).
A delivery attempt claims its report (attempts + 1 and a lease) in one transaction, sends outside any
transaction, and records the outcome in a second one: a report is never lost, never left claimed forever
(the lease ends), and the receiver sees the same idempotency key on every attempt.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from audit.services import audit_record
from common.actors import Actor
from common.reasons import ReasonKind
from groups.models import MessageStatus
from moderation.models import Case, CaseStatus, Complaint, Sanction, SanctionStatus
from reports import delivery, policies, register_exports, selectors, signing
from reports.models import UNDELIVERED, RegulatorReport, ReportKind, ReportState

FORMAT = "qunzu.regulator-report"
FORMAT_VERSION = "1"
PLATFORM_NAME = "qunzu"
TOOK_EFFECT = (SanctionStatus.ACTIVE, SanctionStatus.EXPIRED, SanctionStatus.REVERSED)
BACKFILL_PERIODS = 62  # closed periods a run catches up at most per kind (the next run goes on)
MEASURE_BATCH = 500


def _idempotency_key(kind: str, source: str) -> str:
    return f"qunzu-{kind}-{source.replace(':', '-')}"


def _envelope(kind: str, source: str, now) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "report_id": _idempotency_key(kind, source),
        "kind": kind,
        "source": source,
        "generated_at": now.isoformat(),
        "platform": {"name": PLATFORM_NAME},
    }


def _create(
    actor: Actor, *, kind: str, source: str, body: dict, period=(None, None)
) -> RegulatorReport | None:
    """One report, frozen and signed, with its audit record; None when it exists already."""
    now = timezone.now()
    payload = {**_envelope(kind, source, now), **body}
    key_id, signature = signing.sign(payload)
    try:
        with transaction.atomic():
            report = RegulatorReport.objects.create(
                kind=kind,
                source=source,
                idempotency_key=payload["report_id"],
                period_start=period[0],
                period_end=period[1],
                payload=payload,
                format_version=FORMAT_VERSION,
                key_id=key_id,
                signature=signature,
                next_attempt_at=now,
            )
            audit_record(
                actor=actor,
                event_type="reports.report_generated",
                target=report,
                data={"kind": kind, "source": source, "key_id": key_id},
            )
    except IntegrityError:  # generated meanwhile by another run: one report per source
        return None
    return report


# --- measures ------------------------------------------------------------------------------------------


def _unreported_measures():
    reported = RegulatorReport.objects.filter(kind=ReportKind.MEASURE).values("source")
    return (
        Sanction.objects.filter(reportable=True, status__in=TOOK_EFFECT, starts_at__isnull=False)
        .annotate(report_source=Concat(Value("sanction:"), Cast("pk", CharField())))
        .exclude(report_source__in=reported)
        .order_by("pk")
    )


def _measure_body(sanction: Sanction) -> dict:
    data = dict(sanction.report_data or {})
    data.setdefault("sanction", sanction.pk)
    data.pop("reversed_at", None)  # the report is of the measure as it took effect
    return {"measure": data}


def _takedown_cases():
    return Case.objects.filter(
        status=CaseStatus.CLOSED,
        category_kind=ReasonKind.ILLEGAL,
        message__isnull=False,
        message__status=MessageStatus.REMOVED,
        message__removed_by=F("decided_by"),
    )


def _unreported_takedowns():
    """R11.4: removal of illegal content: a message about which a complaint case was closed by compliance
    staff who took it down (moderation.services.case_close with remove_message)."""
    reported = RegulatorReport.objects.filter(kind=ReportKind.MEASURE).values("source")
    return (
        _takedown_cases()
        .annotate(report_source=Concat(Value("takedown:"), Cast("message_id", CharField())))
        .exclude(report_source__in=reported)
        .select_related("message", "group")
        .order_by("pk")
    )


def _takedown_body(case: Case) -> dict:
    message = case.message
    return {
        "measure": {
            "takedown": message.pk,
            "requirement": "R12.1",
            "article": "12(1)",
            "measure": "message_takedown",
            "target": {
                "type": "message",
                "group_code": case.group.code,
                "group_name": case.group.name,
                "message_seq": message.seq,
                "sender_id": message.sender_id,
            },
            "category": case.category,
            "category_kind": case.category_kind,
            "explanation": message.removal_reason,
            "starts_at": message.removed_at.isoformat(),
            "until": None,
            "permanent": True,
            "decided_by": case.decided_by_id,
            "decided_at": case.decided_at.isoformat(),
            "case": case.pk,
            "complaints": case.complaint_count,
        }
    }


# --- periods -------------------------------------------------------------------------------------------


def _period_bounds(kind: str, start: date) -> tuple[date, date]:
    """The period of that kind beginning on ``start`` (a Monday for weeks, the 1st for months)."""
    if kind == ReportKind.DAILY:
        return start, start
    if kind == ReportKind.WEEKLY:
        return start, start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, following - timedelta(days=1)


def _last_closed_start(kind: str, today: date) -> date:
    if kind == ReportKind.DAILY:
        return today - timedelta(days=1)
    if kind == ReportKind.WEEKLY:
        return today - timedelta(days=today.weekday() + 7)
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _next_start(kind: str, end: date) -> date:
    return end + timedelta(days=1)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _percentile(values: list[float], fraction: float) -> int | None:
    """Nearest-rank percentile, in whole seconds."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return int(ordered[rank - 1])


def _period_summary(kind: str, start: date, end: date) -> dict:
    """R11.4: the measures that took effect in the period by article, category and measure; complaints
    received; cases handled, their handling time (median and 95th percentile) and the overdue ones."""
    since, until = _aware(start), _aware(end + timedelta(days=1))
    measures = Sanction.objects.filter(
        reportable=True, status__in=TOOK_EFFECT, starts_at__gte=since, starts_at__lt=until
    )

    def counted(field: str) -> dict:
        rows = measures.values(field).annotate(n=Count("pk")).order_by(field)
        return {row[field]: row["n"] for row in rows}

    takedowns = dict(  # one per message (a message has at most one takedown)
        _takedown_cases()
        .filter(message__removed_at__gte=since, message__removed_at__lt=until)
        .values_list("message_id", "category")
    )
    by_article, by_category, by_measure = counted("article"), counted("category"), counted("kind")
    if takedowns:
        by_article["12(1)"] = by_article.get("12(1)", 0) + len(takedowns)
        by_measure["message_takedown"] = len(takedowns)
        for category in takedowns.values():
            by_category[category] = by_category.get(category, 0) + 1
    handled = list(
        Case.objects.filter(decided_at__gte=since, decided_at__lt=until).values_list(
            "created_at", "decided_at", "deadline"
        )
    )
    seconds = [(decided - created).total_seconds() for created, decided, _deadline in handled]
    return {
        "summary": {
            "period": {
                "kind": kind,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "timezone": settings.TIME_ZONE,
            },
            "measures": {
                "total": measures.count() + len(takedowns),
                "by_article": dict(sorted(by_article.items())),
                "by_category": dict(sorted(by_category.items())),
                "by_measure": dict(sorted(by_measure.items())),
            },
            "complaints": {
                "received": Complaint.objects.filter(created_at__gte=since, created_at__lt=until).count(),
                "cases_handled": len(handled),
                "handling_seconds_median": _percentile(seconds, 0.5),
                "handling_seconds_p95": _percentile(seconds, 0.95),
                "overdue_handled": sum(1 for _c, decided, deadline in handled if decided > deadline),
                "overdue_open": Case.objects.filter(
                    status=CaseStatus.OPEN, created_at__lt=until, deadline__lt=until
                ).count(),
            },
        }
    }


def _period_starts(kind: str, today: date) -> list[date]:
    """The closed periods not yet reported: from the one after the latest reported up to the last closed
    one (only the last closed one on the first run)."""
    last = _last_closed_start(kind, today)
    latest = RegulatorReport.objects.filter(kind=kind).order_by("-period_start").first()
    start = last if latest is None or latest.period_end is None else _next_start(kind, latest.period_end)
    starts = []
    while start <= last and len(starts) < BACKFILL_PERIODS:
        starts.append(start)
        start = _next_start(kind, _period_bounds(kind, start)[1])
    return starts


def reports_generate(*, actor: Actor, today: date | None = None) -> list[RegulatorReport]:
    """R11.4: a report for every reportable measure that took effect and has none yet (sanctions, and the
    removal of illegal content through a complaint case), and a summary for every closed day, week and month
    not yet reported. Idempotent: one report per source."""
    policies.require_run_reports(actor)
    today = today or timezone.localdate()
    created = []
    for sanction in _unreported_measures()[:MEASURE_BATCH]:
        report = _create(
            actor, kind=ReportKind.MEASURE, source=f"sanction:{sanction.pk}", body=_measure_body(sanction)
        )
        if report is not None:
            created.append(report)
    for case in _unreported_takedowns()[:MEASURE_BATCH]:
        report = _create(
            actor, kind=ReportKind.MEASURE, source=f"takedown:{case.message_id}", body=_takedown_body(case)
        )
        if report is not None:
            created.append(report)
    for kind in (ReportKind.DAILY, ReportKind.WEEKLY, ReportKind.MONTHLY):
        for start in _period_starts(kind, today):
            start, end = _period_bounds(kind, start)
            report = _create(
                actor,
                kind=kind,
                source=f"{kind}:{start.isoformat()}",
                body=_period_summary(kind, start, end),
                period=(start, end),
            )
            if report is not None:
                created.append(report)
    return created


# --- delivery ------------------------------------------------------------------------------------------


def _backoff_seconds(attempts: int) -> int:
    base, ceiling = settings.REPORTS_RETRY_BASE_SECONDS, settings.REPORTS_RETRY_MAX_SECONDS
    return int(min(ceiling, base * 2 ** max(0, attempts - 1)))


def _lease() -> timedelta:
    return timedelta(seconds=settings.REPORTS_HTTP_TIMEOUT + 60)


def _claim(report: RegulatorReport, *, force: bool) -> RegulatorReport | None:
    now = timezone.now()
    with transaction.atomic():
        report = RegulatorReport.objects.select_for_update().get(pk=report.pk)
        due = report.state in UNDELIVERED and (
            report.next_attempt_at is None or report.next_attempt_at <= now
        )
        if not (force or due):
            return None
        report.attempts += 1
        report.next_attempt_at = now + _lease()  # another run leaves it alone while this one sends
        report.save(update_fields=["attempts", "next_attempt_at"])
    return report


def _record(
    actor: Actor, report: RegulatorReport, result: delivery.Result, *, force: bool
) -> RegulatorReport:
    now = timezone.now()
    with transaction.atomic():
        report = RegulatorReport.objects.select_for_update().get(pk=report.pk)
        before = report.state
        if result.ok:
            if report.state != ReportState.ACKNOWLEDGED:
                report.state = ReportState.ACKNOWLEDGED if result.acknowledged else ReportState.DELIVERED
            report.delivered_at = report.delivered_at or now
            if result.acknowledged and report.acknowledged_at is None:
                report.acknowledged_at, report.acknowledgement = now, result.receipt[:200]
            report.next_attempt_at, report.last_error = None, ""
            event = "reports.report_delivered"
        else:
            if report.state in UNDELIVERED:  # stays due, later each time
                report.state = ReportState.FAILED
                report.next_attempt_at = now + timedelta(seconds=_backoff_seconds(report.attempts))
            report.last_error = result.error[:500]
            event = "reports.report_delivery_failed"
        report.save(
            update_fields=[
                "state",
                "delivered_at",
                "acknowledged_at",
                "acknowledgement",
                "next_attempt_at",
                "last_error",
            ]
        )
        audit_record(
            actor=actor,
            event_type=event,
            target=report,
            reason=result.error[:300],
            data={
                "kind": report.kind,
                "source": report.source,
                "backend": result.backend,
                "attempt": report.attempts,
                "from": before,
                "to": report.state,
                "redelivery": force,
            },
        )
    return report


def report_deliver(*, actor: Actor, report: RegulatorReport) -> RegulatorReport:
    """R11.4: one delivery attempt of a due report (the periodic job): delivered or acknowledged, or failed
    and due again after a backoff. A report that is not due (delivered, or claimed by another run) is
    returned as it is."""
    policies.require_run_reports(actor)
    claimed = _claim(report, force=False)
    if claimed is None:
        return RegulatorReport.objects.get(pk=report.pk)
    return _record(actor, claimed, delivery.deliver(claimed), force=False)


def report_redeliver(*, actor: Actor, report: RegulatorReport) -> RegulatorReport:
    """R11.4: a supervisor sends a report again now, whatever its state (same idempotency key: the receiver
    keeps one copy). A failure leaves an undelivered report due; a delivered one stays delivered."""
    policies.require_redeliver_reports(actor.user)
    claimed = _claim(report, force=True)
    return _record(actor, claimed, delivery.deliver(claimed), force=True)


def reports_deliver_due(*, actor: Actor, limit: int = 100) -> dict:
    """R11.4: one attempt for each due report, oldest due first. Each attempt is audited by itself."""
    policies.require_run_reports(actor)
    outcome = {"attempted": 0, "delivered": 0, "failed": 0}
    for report in selectors.reports_due(limit=limit):
        done = report_deliver(actor=actor, report=report)
        if done.attempts == report.attempts:
            continue  # not ours: delivered or claimed meanwhile
        outcome["attempted"] += 1
        outcome["failed" if done.state in UNDELIVERED else "delivered"] += 1
    return outcome


EXPORT_FORMATS = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


def report_export(*, actor: Actor, report: RegulatorReport, fmt: str) -> tuple[bytes, str]:
    """R11.4, R13.1: compliance staff download a report as its signed JSON document, as CSV or as a
    printable PDF; every export is audited. Returns the bytes and their content type."""
    policies.require_view_reports(actor.user)
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    if fmt == "json":
        body = delivery.document_bytes(report)
    elif fmt == "csv":
        body = register_exports.report_csv(report)
    else:
        body = register_exports.report_pdf(report)
    audit_record(
        actor=actor,
        event_type="reports.report_exported",
        target=report,
        data={"format": fmt, "kind": report.kind, "source": report.source},
    )
    return body, EXPORT_FORMATS[fmt]


def reports_run(*, actor: Actor) -> dict:
    """R11.4: the periodic job: generate what is due, then deliver what is due."""
    policies.require_run_reports(actor)
    created = reports_generate(actor=actor)
    return {"generated": len(created), **reports_deliver_due(actor=actor)}
