"""The regulator report register (R11.4) for compliance staff: filter by state and kind, page through every
report (the filters kept in the page links), download a report as JSON (the signed document), CSV or PDF, and
(supervisors) redeliver one now. A refused download or redelivery is audited by the service (house rule 6).

The rules are in ``reports.policies``; reads come from ``reports.selectors``; changes go through
``reports.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.actors import Actor
from reports import policies, selectors, services, signing
from reports.models import ReportKind, ReportState

PAGE_SIZE = 50


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
    reports = selectors.report_list_for_staff(request.user, state=state, kind=kind)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    query = QueryDict(mutable=True)  # the page links keep the filters that apply, nothing else
    for name, value in (("state", state), ("kind", kind)):
        if value:
            query[name] = value
    counts = selectors.register_counts()
    return render(
        request,
        "reports/register.html",
        {
            "reports": page.object_list,
            "page": page,
            "query": query.urlencode(),
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
    try:  # the policy answers first (a refusal is audited), then a missing report is 404
        body, content_type = services.report_export(actor=Actor.from_request(request), report=pk, fmt=fmt)
    except services.UnknownFormat:
        raise Http404 from None
    report = selectors.report_get_for_staff(request.user, pk)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{report.idempotency_key}.{fmt}"'
    response["X-Report-Signature"] = signing.header(report.key_id, report.signature)
    return response


@login_required
@require_POST
def redeliver(request, pk):
    """R11.4: a supervisor sends a report again now (the policy answers, and a refusal is audited, before the
    report is looked up)."""
    report = services.report_redeliver(actor=Actor.from_request(request), report=pk)
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
