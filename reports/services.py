"""The regulator report register's actions (R11.4): generate, deliver, redeliver.

Every change goes through here with ``actor`` first; the policy comes first, the audit record is written in
the same transaction. Reports only read other apps (moderation's models for measures, complaints and cases).
A payload is checked against its JSON Schema (``reports/schema/regulator-report-1.json``) before it is signed:
one that fails is logged as an error and neither signed, stored nor sent. A denied redelivery or download is
audited too (house rule 6). A delivery attempt claims its report (attempts + 1 and a lease) in one
transaction, sends outside any transaction, and records the outcome in a second one: a report is never lost,
never left claimed forever (the lease ends), and the receiver sees the same idempotency key on every attempt.
A measure reversed after it was reported is reported again as its reversal (``reversal:<sanction id>``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import jsonschema
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from common.policies import deny
from common.reasons import ReasonKind
from moderation.models import Appeal, AppealStatus, Case, Complaint, Sanction, SanctionStatus
from notifications.services import notify
from reports import delivery, evidence, policies, register_exports, selectors, signing
from reports.figures import nearest_rank
from reports.inspection import Scope
from reports.models import (
    UNDELIVERED,
    EvidenceExport,
    InspectionGrant,
    RegulatorReport,
    ReportKind,
    ReportState,
)

logger = logging.getLogger(__name__)

FORMAT = "qunzu.regulator-report"
FORMAT_VERSION = "1"
PLATFORM_NAME = "qunzu"
TOOK_EFFECT = (SanctionStatus.ACTIVE, SanctionStatus.EXPIRED, SanctionStatus.REVERSED)
BACKFILL_PERIODS = 62  # closed periods a run catches up at most per kind (the next run goes on)
MEASURE_BATCH = 500
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "regulator-report-1.json"
DEFAULT_INSTANCE_ID = "default"
INSTANCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
# A day is summarised only this long after it ended (local time), so rows committed late are counted.
DEFAULT_SUMMARY_GRACE_SECONDS = 15 * 60


def _instance_id() -> str:
    """R11.4: which deployment reports (``REPORTS_INSTANCE_ID``, "default" when unset): two deployments
    reporting to one authority never make the same idempotency key."""
    value = getattr(settings, "REPORTS_INSTANCE_ID", None) or os.environ.get("REPORTS_INSTANCE_ID", "")
    value = (value or DEFAULT_INSTANCE_ID).strip()
    if not INSTANCE_ID_PATTERN.match(value):
        raise ImproperlyConfigured(
            "REPORTS_INSTANCE_ID must be 1-24 lower-case letters, digits or hyphens (e.g. 'beijing-1')."
        )
    return value


def _idempotency_key(kind: str, source: str) -> str:
    return f"qunzu-{_instance_id()}-{kind}-{source.replace(':', '-')}"


def _envelope(kind: str, source: str, now) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "report_id": _idempotency_key(kind, source),
        "kind": kind,
        "source": source,
        "generated_at": now.isoformat(),
        "platform": {"name": PLATFORM_NAME, "instance": _instance_id()},
    }


@functools.cache
def _schema_validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator
    validator.check_schema(schema)
    return validator(schema, format_checker=validator.FORMAT_CHECKER)


def _schema_errors(payload: dict) -> list[str]:
    """R11.4: what makes the payload fail its JSON Schema (nothing when it conforms)."""
    errors = sorted(_schema_validator().iter_errors(payload), key=lambda error: list(error.absolute_path))
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"[:300]
        for error in errors
    ]


def _create(
    actor: Actor, *, kind: str, source: str, body: dict, period=(None, None)
) -> RegulatorReport | None:
    """One report, checked against its schema, frozen and signed, with its audit record; None when it exists
    already, or when the payload fails the schema (an error logged: nothing is signed or sent)."""
    now = timezone.now()
    payload = {**_envelope(kind, source, now), **body}
    errors = _schema_errors(payload)
    if errors:
        logger.error(
            "Regulator report %s (%s) not generated: its payload fails the schema: %s",
            source,
            kind,
            "; ".join(errors[:10]),
        )
        return None
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


def _reported(prefix: str, field: str = "pk") -> Exists:
    """A measure report whose source is ``<prefix>:<the outer row's field>`` exists."""
    return Exists(
        RegulatorReport.objects.filter(
            kind=ReportKind.MEASURE, source=Concat(Value(f"{prefix}:"), Cast(OuterRef(field), CharField()))
        )
    )


def _unreported_measures():
    return (
        Sanction.objects.filter(reportable=True, status__in=TOOK_EFFECT, starts_at__isnull=False)
        .filter(~_reported("sanction"))
        .order_by("pk")
    )


def _measure_body(sanction: Sanction) -> dict:
    data = dict(sanction.report_data or {})
    data.setdefault("sanction", sanction.pk)
    data.pop("reversed_at", None)  # the report is of the measure as it took effect
    return {"measure": data}


def _takedown_cases():
    """The cases whose decision took the reported message down (``Case.takedown_at``, recorded by
    moderation.services.case_close with remove_message) for an illegal reason."""
    return Case.objects.filter(
        takedown_at__isnull=False, category_kind=ReasonKind.ILLEGAL, message__isnull=False
    )


def _unreported_takedowns():
    """R11.4: removal of illegal content: a message about which a complaint case was closed by compliance
    staff who took it down (moderation.services.case_close with remove_message)."""
    return (
        _takedown_cases()
        .filter(~_reported("takedown", "message_id"))
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
            "explanation": case.outcome[:200],
            "starts_at": case.takedown_at.isoformat(),
            "until": None,
            "permanent": True,
            "decided_by": case.decided_by_id,
            "decided_at": case.decided_at.isoformat(),
            "case": case.pk,
            "complaints": case.complaint_count,
        }
    }


def _reversed_measures():
    return Sanction.objects.filter(
        reportable=True, status=SanctionStatus.REVERSED, starts_at__isnull=False, ended_at__isnull=False
    )


def _unreported_reversals():
    """R11.4: measures reported and since reversed (an appeal upheld) whose reversal is not reported yet.
    A measure reversed before its own report was made is reported first, then its reversal."""
    return _reversed_measures().filter(_reported("sanction"), ~_reported("reversal")).order_by("pk")


def _reverser_role(user) -> str:
    """The role of who reversed a measure (the reports name staff by id and role, never by name)."""
    if user is None:
        return "system"
    if user.has_perm("moderation.approve_sanction"):
        return "supervisor"
    return "reviewer"


def _reversal_body(sanction: Sanction) -> dict:
    """The measure as it took effect (what was reversed) and ``reversed``: when, through what, by whom
    (user id and role) and why."""
    data = dict(sanction.report_data or {})
    data.pop("sanction", None)
    data.pop("reversed_at", None)
    appeal = (
        Appeal.objects.filter(sanction=sanction, status=AppealStatus.UPHELD)
        .select_related("decided_by")
        .first()
    )
    original = (
        RegulatorReport.objects.filter(kind=ReportKind.MEASURE, source=f"sanction:{sanction.pk}")
        .values_list("idempotency_key", flat=True)
        .first()
    )
    return {
        "measure": {
            **data,
            "reversal": sanction.pk,
            "reversed": {
                "at": sanction.ended_at.isoformat(),
                "through": "appeal" if appeal is not None else "other",
                "appeal": appeal.pk if appeal is not None else None,
                "by": appeal.decided_by_id if appeal is not None else None,
                "by_role": _reverser_role(appeal.decided_by) if appeal is not None else "system",
                "reason": appeal.decision_note if appeal is not None else "",
                "report": original,
            },
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
    """The start of the local (``TIME_ZONE``) day."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _summary_grace() -> timedelta:
    """``REPORTS_SUMMARY_GRACE_SECONDS`` (setting, else environment variable; 15 minutes by default)."""
    seconds = getattr(settings, "REPORTS_SUMMARY_GRACE_SECONDS", None)
    if seconds is None:
        seconds = os.environ.get("REPORTS_SUMMARY_GRACE_SECONDS", "") or DEFAULT_SUMMARY_GRACE_SECONDS
    return timedelta(seconds=max(0, int(seconds)))


def _closed_today(now: datetime | None = None) -> date:
    """The local day whose previous days are closed: a day counts as over only once the grace period after
    its local midnight has passed (a row created at 23:59:59 may commit a moment after midnight)."""
    now = now or timezone.now()
    return timezone.localdate(now - _summary_grace(), timezone.get_default_timezone())


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
        .filter(takedown_at__gte=since, takedown_at__lt=until)
        .values_list("message_id", "category")
    )
    reversals = _reversed_measures().filter(ended_at__gte=since, ended_at__lt=until)
    reversed_by_measure = {
        row["kind"]: row["n"] for row in reversals.values("kind").annotate(n=Count("pk")).order_by("kind")
    }
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
                "reversed": sum(reversed_by_measure.values()),
                "reversed_by_measure": reversed_by_measure,
            },
            "complaints": {
                "received": Complaint.objects.filter(created_at__gte=since, created_at__lt=until).count(),
                "cases_handled": len(handled),
                "handling_seconds_median": nearest_rank(seconds, 0.5),
                "handling_seconds_p95": nearest_rank(seconds, 0.95),
                "overdue_handled": sum(1 for _c, decided, deadline in handled if decided > deadline),
                "overdue_open": Case.objects.filter(created_at__lt=until, deadline__lt=until)
                .filter(Q(decided_at__isnull=True) | Q(decided_at__gte=until))
                .count(),
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
    removal of illegal content through a complaint case), one for every reported measure since reversed, and
    a summary for every closed day, week and month not yet reported. A day is closed once the grace period
    after its local midnight has passed (``today`` given: every day before it is closed). Idempotent: one
    report per source."""
    policies.require_run_reports(actor)
    today = today or _closed_today()
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
    for sanction in _unreported_reversals()[:MEASURE_BATCH]:
        report = _create(
            actor, kind=ReportKind.MEASURE, source=f"reversal:{sanction.pk}", body=_reversal_body(sanction)
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


def _waiting(report: RegulatorReport, now) -> bool:
    """Undelivered and waiting out a backoff, not claimed by a run that is sending it (a claim sets the next
    attempt at most one lease ahead)."""
    return report.state in UNDELIVERED and (
        report.next_attempt_at is not None and report.next_attempt_at > now + _lease()
    )


def _claim(report: RegulatorReport, *, force: bool, early: bool = False) -> RegulatorReport | None:
    now = timezone.now()
    with transaction.atomic():
        report = RegulatorReport.objects.select_for_update().get(pk=report.pk)
        due = report.state in UNDELIVERED and (
            report.next_attempt_at is None or report.next_attempt_at <= now
        )
        if not (force or due or (early and _waiting(report, now))):
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
    return _deliver(actor, report, early=False)[0]


def _deliver(actor: Actor, report: RegulatorReport, *, early: bool) -> tuple[RegulatorReport, bool]:
    """One attempt (``early``: also of a report waiting out its backoff); the report and whether the
    endpoint was out of reach."""
    claimed = _claim(report, force=False, early=early)
    if claimed is None:
        return RegulatorReport.objects.get(pk=report.pk), False
    result = delivery.deliver(claimed)
    return _record(actor, claimed, result, force=False), result.unavailable


def _report_of(actor: Actor, report: RegulatorReport | int | str) -> RegulatorReport:
    """The report itself, or the one with that id (404 when there is none), once the policy has allowed."""
    if isinstance(report, RegulatorReport):
        return report
    return selectors.report_get_for_staff(actor.user, report)


def _refuse(actor: Actor, decision, *, action: str, report) -> None:
    """House rule 6: a refused attempt at a compliance-relevant action is audited, then refused."""
    if decision:
        return
    report_id = report.pk if isinstance(report, RegulatorReport) else report
    audit_record(
        actor=actor,
        event_type=f"reports.report_{action}_denied",
        target=report if isinstance(report, RegulatorReport) else None,
        reason=decision.reason[:300],
        data={"report": str(report_id)[:32], "code": decision.code},
    )
    decision.require()


def report_redeliver(*, actor: Actor, report: RegulatorReport | int) -> RegulatorReport:
    """R11.4: a supervisor sends a report again now, whatever its state (same idempotency key: the receiver
    keeps one copy). A failure leaves an undelivered report due; a delivered one stays delivered. ``report``
    may be an id: the policy answers (and a refusal is audited) before it is looked up."""
    _refuse(actor, policies.can_redeliver_reports(actor.user), action="redeliver", report=report)
    report = _report_of(actor, report)
    claimed = _claim(report, force=True)
    return _record(actor, claimed, delivery.deliver(claimed), force=True)


def _run_order(due: list[RegulatorReport], now, limit: int) -> list[RegulatorReport]:
    """The reports a run attempts, in the order they were generated: the due ones, and before them every
    older undelivered report still waiting out its backoff (a measure's report goes before its reversal,
    and after an outage everything goes at once, in order, not hours later when each backoff ends)."""
    if not due:
        return []
    newest = max(report.created_at for report in due)
    older = RegulatorReport.objects.filter(
        state__in=UNDELIVERED, created_at__lte=newest, next_attempt_at__gt=now + _lease()
    ).exclude(pk__in=[report.pk for report in due])
    return sorted([*due, *older.order_by("created_at", "pk")[:limit]], key=lambda r: (r.created_at, r.pk))[
        :limit
    ]


def reports_deliver_due(*, actor: Actor, limit: int = 100) -> dict:
    """R11.4: one attempt for each due report, in the order generated (``_run_order``). Each attempt is
    audited by itself. An attempt that finds the endpoint out of reach (refused, timed out, 5xx) ends the
    run: the reports after it are not sent past it and wait with it (their next attempt moved to its own,
    their attempts not counted), so an outage costs one request per backoff and the order holds. A failure
    of one report (e.g. its payload refused with a 4xx) does not stop the others."""
    policies.require_run_reports(actor)
    outcome = {"attempted": 0, "delivered": 0, "failed": 0}
    now = timezone.now()
    queue = _run_order(selectors.reports_due(now, limit=limit), now, limit)
    for position, report in enumerate(queue):
        done, unavailable = _deliver(actor, report, early=True)
        if done.attempts == report.attempts:
            continue  # not ours: delivered or claimed meanwhile
        outcome["attempted"] += 1
        outcome["failed" if done.state in UNDELIVERED else "delivered"] += 1
        if unavailable and done.next_attempt_at is not None:
            rest = [later.pk for later in queue[position + 1 :]]
            RegulatorReport.objects.filter(
                pk__in=rest, state__in=UNDELIVERED, next_attempt_at__lt=done.next_attempt_at
            ).update(next_attempt_at=done.next_attempt_at)
            break
    return outcome


class UnknownFormat(ValueError):
    """An export format the register does not offer."""


EXPORT_FORMATS = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


def report_export(*, actor: Actor, report: RegulatorReport | int, fmt: str) -> tuple[bytes, str]:
    """R11.4, R13.1: compliance staff download a report as its signed JSON document, as CSV or as a
    printable PDF; every export is audited, and so is a refused one. ``report`` may be an id: the policy
    answers before it is looked up. Returns the bytes and their content type."""
    _refuse(actor, policies.can_view_reports(actor.user), action="export", report=report)
    report = _report_of(actor, report)
    if fmt not in EXPORT_FORMATS:
        raise UnknownFormat(fmt)
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


# --- inspector access (R13.1, R12.2) ------------------------------------------------------------------


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _validate_grant(*, inspector, authority, purpose, starts_at, ends_at, groups, users, statistics, records):
    errors = {}
    if not (authority or "").strip():
        errors["authority"] = _("Name the inspecting authority.")
    if not (purpose or "").strip():
        errors["purpose"] = _("State the purpose of the inspection.")
    now = timezone.now()
    if ends_at <= starts_at:
        errors["ends_at"] = _("Access must end after it starts.")
    elif ends_at <= now:
        errors["ends_at"] = _("Access must end in the future.")
    elif ends_at - starts_at > timedelta(days=settings.INSPECTION_GRANT_MAX_DAYS):
        errors["ends_at"] = _("Access may last at most %(days)d days; grant again to extend it.") % {
            "days": settings.INSPECTION_GRANT_MAX_DAYS
        }
    if not groups and not users and not statistics:
        errors["scope_groups"] = _("Name at least one group or user, or grant the platform statistics.")
    records_from, records_until = records
    if records_from and records_until and records_until <= records_from:
        errors["records_until"] = _("The span of records must end after it starts.")
    if errors:
        raise ValidationError(errors)


def inspection_grant(
    *,
    actor: Actor,
    inspector,
    authority: str,
    purpose: str,
    starts_at,
    ends_at,
    groups=(),
    users=(),
    reference: str = "",
    records_from=None,
    records_until=None,
    statistics: bool = False,
) -> InspectionGrant:
    """R13.1: a supervisor gives an inspector account read-only access for a purpose, a time window (at
    most ``INSPECTION_GRANT_MAX_DAYS``) and a scope of groups, users and a span of records."""
    for decision in (policies.can_grant_inspection(actor.user), policies.can_be_granted(inspector)):
        if not decision:
            inspection_denied(
                actor=actor, decision=decision, action="grant", asked={"inspector": inspector.pk}
            )
    groups, users = list(groups), list(users)
    _validate_grant(
        inspector=inspector,
        authority=authority,
        purpose=purpose,
        starts_at=starts_at,
        ends_at=ends_at,
        groups=groups,
        users=users,
        statistics=statistics,
        records=(records_from, records_until),
    )
    with transaction.atomic():
        grant = InspectionGrant.objects.create(
            inspector=inspector,
            authority=authority.strip(),
            reference=(reference or "").strip(),
            purpose=purpose.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            records_from=records_from,
            records_until=records_until,
            statistics=statistics,
            granted_by=actor.user,
        )
        grant.scope_groups.set(groups)
        grant.scope_users.set(users)
        audit_record(
            actor=actor,
            event_type="reports.inspection_granted",
            target=grant,
            reason=grant.purpose,
            data={
                "inspector": inspector.pk,
                "authority": grant.authority,
                "reference": grant.reference,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "groups": sorted(group.code for group in groups),
                "users": sorted(user.pk for user in users),
                "records_from": records_from.isoformat() if records_from else None,
                "records_until": records_until.isoformat() if records_until else None,
                "statistics": statistics,
            },
        )
        notify(
            actor=actor,
            recipient=inspector,
            kind="reports.inspection_granted",
            context={
                "authority": grant.authority,
                "grant": grant.pk,
                "starts": _local(starts_at),
                "ends": _local(ends_at),
            },
        )
    return grant


def inspection_denied(
    *, actor: Actor, decision, action: str, grant: InspectionGrant | None = None, asked: dict | None = None
):
    """House rule 6: a refused attempt to grant, revoke or use inspector access is audited, then refused
    (``action``: grant, revoke or inspect; ``asked`` says what was asked for)."""
    audit_record(
        actor=actor,
        event_type=f"reports.inspection_{action}_denied"
        if action != "inspect"
        else "reports.inspection_refused",
        target=grant,
        reason=str(decision.reason)[:300],
        data={"refused": decision.code, **{key: str(value)[:300] for key, value in (asked or {}).items()}},
    )
    decision.require()


def inspection_revoke(*, actor: Actor, grant: InspectionGrant, reason: str) -> InspectionGrant:
    """R13.1: a supervisor ends a grant early, with a reason; the inspector's next page is refused."""
    decision = policies.can_grant_inspection(actor.user)
    if not decision:
        inspection_denied(actor=actor, decision=decision, action="revoke", grant=grant)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("State why access is revoked.")})
    over = deny("grant_over", _("This grant has already ended."))
    current = InspectionGrant.objects.get(pk=grant.pk)
    if current.revoked_at is not None or current.ends_at <= timezone.now():
        inspection_denied(actor=actor, decision=over, action="revoke", grant=current)
    with transaction.atomic():
        grant = InspectionGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is not None:  # revoked meanwhile by another supervisor
            over.require()
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor.user
        grant.revoke_reason = reason.strip()[:300]
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor, event_type="reports.inspection_revoked", target=grant, reason=grant.revoke_reason
        )
        notify(
            actor=actor,
            recipient=grant.inspector,
            kind="reports.inspection_revoked",
            context={"authority": grant.authority, "reason": grant.revoke_reason},
        )
    return grant


def inspection_page_record(
    *, actor: Actor, grant: InspectionGrant | None, path: str, refused: str = "", grant_id=None
) -> None:
    """R13.1: every page an inspector opens under a grant is in the audit trail, and so is every refusal
    (outside the scope, outside the grant's window, or a grant that is not theirs: ``grant`` is then None
    and ``grant_id`` what was asked for), with the address asked for."""
    data = {"path": path[:300], **({"refused": refused} if refused else {})}
    if grant is None:
        data["grant"] = str(grant_id)[:20]
    audit_record(
        actor=actor,
        event_type="reports.inspection_refused" if refused else "reports.inspection_viewed",
        target=grant,
        data=data,
    )


def evidence_export(*, actor: Actor, grant: InspectionGrant, case) -> tuple[bytes, EvidenceExport]:
    """R13.1: the inspector exports a case's evidence package: a zip of the case, its complaints, decisions,
    measures, messages (removed ones too), files and audit trail, with a manifest naming every file's
    SHA-256 and signed with the report signing key. The export is recorded and audited."""
    policies.require_inspect(actor.user, grant)
    scope = Scope(grant)
    case = scope.case_get(case.pk)  # 404 outside the scope
    package, files = evidence.case_package(scope=scope, case=case, exported_by=actor.user)
    digest = hashlib.sha256(package).hexdigest()
    with transaction.atomic():
        export = EvidenceExport.objects.create(
            grant=grant, case=case, exported_by=actor.user, sha256=digest, size=len(package), files=files
        )
        audit_record(
            actor=actor,
            event_type="reports.inspection_exported",
            target=case,
            data={"grant": grant.pk, "sha256": digest, "bytes": len(package), "files": files},
        )
    return package, export
