"""Reads of the regulator report register (R11.4)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.http import Http404
from django.utils import timezone

from reports import policies
from reports.models import UNDELIVERED, RegulatorReport


def report_list_for_staff(user, *, state: str = "", kind: str = ""):
    policies.require_view_reports(user)
    reports = RegulatorReport.objects.all()
    if state:
        reports = reports.filter(state=state)
    if kind:
        reports = reports.filter(kind=kind)
    return reports


def report_get_for_staff(user, pk) -> RegulatorReport:
    """The policy answers first (403), then a missing report is 404."""
    policies.require_view_reports(user)
    try:
        return RegulatorReport.objects.get(pk=pk)
    except (RegulatorReport.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def oldest_undelivered() -> RegulatorReport | None:
    """R11.4: the oldest report still due (shown on the register and the dashboard)."""
    return RegulatorReport.objects.filter(state__in=UNDELIVERED).order_by("created_at", "pk").first()


def register_counts() -> dict:
    """R11.4's evidence: reports due, delivered and failed, and the oldest undelivered."""
    counts = dict.fromkeys(["pending", "delivered", "acknowledged", "failed"], 0)
    for row in RegulatorReport.objects.values("state").annotate(n=Count("pk")).order_by():
        counts[row["state"]] = row["n"]
    oldest = oldest_undelivered()
    counts["oldest_undelivered_at"] = oldest.created_at if oldest else None
    counts["oldest_undelivered_age_seconds"] = (
        int((timezone.now() - oldest.created_at).total_seconds()) if oldest else None
    )
    return counts


def reports_due(now=None, *, limit: int = 100):
    now = now or timezone.now()
    return list(
        RegulatorReport.objects.filter(state__in=UNDELIVERED, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )[:limit]
    )


def measures_not_reported(*, older_than: timedelta) -> int:
    """R11.4's completeness: measures that took effect (or content taken down, or measures reversed) more
    than ``older_than`` ago and still have no report: the periodic job is not running, or generating fails."""
    from reports import services  # services reads through this module

    before = timezone.now() - older_than
    return (
        services._unreported_measures().filter(starts_at__lt=before).count()
        + services._unreported_takedowns().filter(takedown_at__lt=before).count()
        + services._unreported_reversals().filter(ended_at__lt=before).count()
    )
