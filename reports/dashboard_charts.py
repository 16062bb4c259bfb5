"""Trend charts of the compliance dashboard (issue 12): the last 90 days, one aggregate query per series
(``TruncDate`` + ``Count``), rendered to SVG on the server with pygal (no JavaScript, no CDN) in the
site's colours, with a text summary for screen readers."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, timedelta

import pygal
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from pygal.style import Style

from identity.models import IdentityVerification, VerificationStatus
from moderation.models import Case, Complaint, Sanction, SanctionKind
from moderation.selectors import TOOK_EFFECT
from reports.dashboard import GROUP_KINDS, USER_KINDS, durations
from screening.models import Action, ScreeningEvidence

_SCRIPT = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.DOTALL)  # scripts and comments
DAYS = 90
CACHE_SECONDS = 300  # daily trends: five minutes old is fresh enough
CACHE_KEY = "reports:dashboard:charts:{lang}"

# static/css/app.css: --brand, --warn, --danger, --muted, and two quieter companions.
SITE_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2433",
    foreground_strong="#1d2433",
    foreground_subtle="#e3e7ee",
    opacity=".85",
    opacity_hover="1",
    colors=("#1f7a5c", "#b7791f", "#c0392b", "#6b7486", "#4a90b8"),
    font_family='system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif',
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=13,
    value_font_size=11,
)


@dataclass
class Chart:
    key: str
    title: str
    svg: str
    summary: str
    legend: tuple = ()  # (label, colour) for a chart of several series, shown as HTML under the chart


def _days(today: date) -> list[date]:
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


def _per_day(queryset, field: str, *, by: str | None = None) -> dict:
    """{day: count} or {(day, by): count}, from one grouped query."""
    values = ["day", by] if by else ["day"]
    rows = queryset.annotate(day=TruncDate(field)).values(*values).annotate(n=Count("pk")).order_by()
    if by:
        return {(row["day"], row[by]): row["n"] for row in rows}
    return {row["day"]: row["n"] for row in rows}


def _chart(kind, *, days: list[date], series: list[tuple[str, list]], title: str) -> str:
    chart = kind(
        style=SITE_STYLE,
        width=440,
        height=240,
        stroke_style={"width": 2.5},
        explicit_size=False,
        disable_xml_declaration=True,
        js=[],
        show_legend=False,  # an HTML legend under the chart: pygal's own is cut off at narrow widths
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=15,
        truncate_label=-1,
        show_dots=False,
        margin=6,
        min_scale=1,
        spacing=6,
        print_zeroes=False,
        allow_interruptions=True,
    )
    chart.title = None
    chart.x_labels = [f"{day:%m-%d}" for day in days]
    for label, values in series:
        chart.add(label, values)
    # pygal writes its configuration in an inline script for its optional tooltips, and comments with
    # its web address: neither is wanted (no JavaScript on this page; a content security policy may
    # refuse inline scripts).
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1))  # noqa: S308


def _legend(series: list[tuple[str, list]]) -> tuple:
    return tuple(zip([label for label, _values in series], SITE_STYLE.colors, strict=False))


def _series_chart(key: str, title: str, kind, days: list[date], series: list[tuple[str, list]]) -> Chart:
    """A chart of several series per day, summed up in words and with its legend."""
    return Chart(
        key,
        title,
        _chart(kind, days=days, series=series, title=title),
        _("In 90 days: %(parts)s.")
        % {"parts": ", ".join(f"{label} {sum(values)}" for label, values in series)},
        _legend(series),
    )


def trend_charts(now=None) -> list[Chart]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = _days(today)
    since = now - timedelta(days=DAYS)
    charts = []

    complaints = _per_day(Complaint.objects.filter(created_at__gte=since), "created_at")
    values = [complaints.get(day, 0) for day in days]
    title = _("Complaints per day")
    charts.append(
        Chart(
            "complaints",
            title,
            _chart(pygal.Bar, days=days, series=[(_("Complaints"), values)], title=title),
            _("%(total)d complaints in 90 days; busiest day %(peak)d; last 7 days %(week)d.")
            % {"total": sum(values), "peak": max(values), "week": sum(values[-7:])},
        )
    )

    decided = durations(
        Case.objects.filter(decided_at__gte=since).annotate(day=TruncDate("decided_at")),
        "created_at",
        "decided_at",
        by="day",
    )
    by_day: dict[date, list[float]] = {}
    for day, took in decided:
        by_day.setdefault(day, []).append(took.total_seconds() / 3600)
    medians = [round(statistics.median(by_day[day]), 1) if day in by_day else None for day in days]
    everything = [hours for values_ in by_day.values() for hours in values_]
    title = _("Handling time of cases (median hours, by day decided)")
    charts.append(
        Chart(
            "handling",
            title,
            _chart(pygal.Line, days=days, series=[(_("Median hours"), medians)], title=title),
            (
                _(
                    "%(n)d cases decided in 90 days; median %(median).1f hours; "
                    "slowest day's median %(worst).1f hours."
                )
                % {
                    "n": len(everything),
                    "median": statistics.median(everything),
                    "worst": max(v for v in medians if v is not None),
                }
            )
            if everything
            else _("No case was decided in 90 days."),
        )
    )

    groups = {
        _("On groups"): GROUP_KINDS,
        _("On users"): USER_KINDS,
        _("Blacklisting"): (SanctionKind.BLACKLIST,),
    }
    # Only measures that took effect, on the day they did: a refused or still unapproved one is no measure.
    measures = _per_day(
        Sanction.objects.filter(status__in=TOOK_EFFECT, starts_at__gte=since), "starts_at", by="kind"
    )
    series = []
    totals = []
    for label, kinds in groups.items():
        values = [sum(measures.get((day, kind), 0) for kind in kinds) for day in days]
        series.append((label, values))
        totals.append(f"{label} {sum(values)}")
    title = _("Measures by kind")
    charts.append(
        Chart(
            "measures",
            title,
            _chart(pygal.StackedBar, days=days, series=series, title=title),
            _("Measures in 90 days: %(totals)s.") % {"totals": ", ".join(totals)},
            _legend(series),
        )
    )

    submitted = _per_day(IdentityVerification.objects.filter(submitted_at__gte=since), "submitted_at")
    decided_states = _per_day(
        IdentityVerification.objects.filter(
            decided_at__gte=since, status__in=[VerificationStatus.VERIFIED, VerificationStatus.REJECTED]
        ),
        "decided_at",
        by="status",
    )
    series = [
        (_("Submitted for verification"), [submitted.get(day, 0) for day in days]),
        (
            str(VerificationStatus.VERIFIED.label),
            [decided_states.get((day, VerificationStatus.VERIFIED.value), 0) for day in days],
        ),
        (
            str(VerificationStatus.REJECTED.label),
            [decided_states.get((day, VerificationStatus.REJECTED.value), 0) for day in days],
        ),
    ]
    charts.append(
        _series_chart("verification", _("Real-name verifications per day"), pygal.Line, days, series)
    )

    hits = _per_day(ScreeningEvidence.objects.filter(created_at__gte=since), "created_at", by="action")
    series = [(str(label), [hits.get((day, value), 0) for day in days]) for value, label in Action.choices]
    charts.append(_series_chart("screening", _("Screening hits per day"), pygal.StackedBar, days, series))
    return charts


def trend_charts_cached() -> list[Chart]:
    return cache.get_or_set(CACHE_KEY.format(lang=get_language() or ""), trend_charts, CACHE_SECONDS)
