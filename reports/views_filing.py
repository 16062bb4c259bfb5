"""The filing document's page (R7.2): supervisors read the document generated from the live configuration
and download it as Markdown or PDF for filing; every download is audited.

What the document says is ``reports.filing`` (read from the other apps' models, rules and settings); the
page and both files are rendered from the same structured document.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.services import audit_record
from common.actors import Actor
from reports.filing import Filing, filing_build
from reports.filing_pdf import filing_pdf

# The "supervisor" role's own permissions (moderation migrations 0002 and 0003): reviewers have neither.
SUPERVISOR_PERMISSIONS = ("moderation.approve_sanction", "moderation.receive_escalations")


def can_view_filing(user) -> bool:
    """R7.2: the filing document is for supervisors (and platform superusers)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or (user.is_staff and any(user.has_perm(p) for p in SUPERVISOR_PERMISSIONS))


def _require(request) -> None:
    if not can_view_filing(request.user):
        raise PermissionDenied


@login_required
@require_GET
def filing_page(request):
    _require(request)
    filing = filing_build()
    return render(request, "reports/filing.html", {"filing": filing})


def _download(request, filing: Filing, fmt: str, body: bytes, content_type: str) -> HttpResponse:
    name = f"{filing.file_stem}.{fmt}"
    audit_record(
        actor=Actor.from_request(request),
        event_type="reports.filing_downloaded",
        data={"version": filing.version, "format": fmt, "file": name},
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def filing_markdown(request):
    _require(request)
    filing = filing_build()
    return _download(request, filing, "md", filing.markdown.encode(), "text/markdown; charset=utf-8")


@login_required
@require_GET
def filing_pdf_download(request):
    _require(request)
    filing = filing_build()
    return _download(request, filing, "pdf", filing_pdf(filing), "application/pdf")
