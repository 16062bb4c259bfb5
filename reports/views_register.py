"""The regulator report register (R11.4) for compliance staff: filter by state and kind, download a report
as JSON (the signed document), CSV or PDF, and (supervisors) redeliver one now.

The rules are in ``reports.policies``; reads come from ``reports.selectors``; changes go through
``reports.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.actors import Actor
from reports import policies, selectors, services, signing
from reports.models import ReportKind, ReportState

PAGE_SIZE = 200


@login_required
@require_GET
def register(request):
    """R11.4: every report, newest first, filtered by state and kind; the oldest undelivered one first of
    all, and the counts per state."""
    policies.require_view_reports(request.user)
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "")
    state = state if state in ReportState.values else ""
    kind = kind if kind in ReportKind.values else ""
    reports = selectors.report_list_for_staff(request.user, state=state, kind=kind)[:PAGE_SIZE]
    counts = selectors.register_counts()
    return render(
        request,
        "reports/register.html",
        {
            "reports": reports,
            "state": state,
            "kind": kind,
            "states": ReportState.choices,
            "kinds": ReportKind.choices,
            "state_counts": [(value, label, counts.get(value, 0)) for value, label in ReportState.choices],
            "oldest": selectors.oldest_undelivered(),
            "can_redeliver": policies.can_redeliver_reports(request.user).allowed,
        },
    )


@login_required
@require_GET
def download(request, pk, fmt):
    """The report as its signed JSON document, as CSV or as a printable PDF (the export is audited)."""
    report = selectors.report_get_for_staff(request.user, pk)
    if fmt not in services.EXPORT_FORMATS:
        raise Http404
    body, content_type = services.report_export(actor=Actor.from_request(request), report=report, fmt=fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{report.idempotency_key}.{fmt}"'
    response["X-Report-Signature"] = signing.header(report.key_id, report.signature)
    return response


@login_required
@require_POST
def redeliver(request, pk):
    """R11.4: a supervisor sends a report again now (the policy answers before the report is looked up)."""
    policies.require_redeliver_reports(request.user)
    report = selectors.report_get_for_staff(request.user, pk)
    report = services.report_redeliver(actor=Actor.from_request(request), report=report)
    if report.last_error and report.undelivered:
        messages.error(
            request,
            _("Delivery failed: %(error)s. The report stays due and is retried.")
            % {"error": report.last_error},
        )
    elif report.last_error:
        messages.error(
            request,
            _("Redelivery failed: %(error)s. The report was delivered before.")
            % {"error": report.last_error},
        )
    else:
        messages.success(request, _("Report sent: %(state)s.") % {"state": report.get_state_display()})
    return redirect("report-register")
