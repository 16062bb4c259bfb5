"""The compliance dashboard page (issue 12): supervisors see every requirement's live evidence and the
trends of the last 90 days."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from reports import dashboard, dashboard_charts

PERMISSION = "moderation.approve_sanction"  # the supervisor role's


@login_required
@require_GET
def compliance_dashboard(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied(_("The compliance dashboard is for supervisors."))
    rows = dashboard.requirement_rows_cached()
    for row in rows:
        row.url = reverse(row.route) if row.route else ""
    counts = {status: sum(1 for row in rows if row.status == status) for status in dashboard.STATUS_LABELS}
    return render(
        request,
        "reports/dashboard.html",
        {
            "rows": rows,
            "counts": counts,
            "charts": dashboard_charts.trend_charts_cached(),
            "generated_at": timezone.now(),
            "cache_seconds": dashboard.CACHE_SECONDS,
        },
    )
