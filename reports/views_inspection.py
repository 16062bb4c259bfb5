"""The inspector's pages (R13.1, R12.2): read-only, under one grant, inside its scope.

Every page goes through ``inspector_page``: it finds the inspector's own grant (404 for anyone else's),
refuses it outside its window with the reason, runs the page inside the grant's ``Scope`` (anything
outside is a 404) and records the page, or the refusal, in the audit trail before anything is sent.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.actors import Actor, ActorKind
from common.policies import PolicyDenied
from groups import selectors as group_selectors
from identity import selectors as identity_selectors
from reports import evidence, inspection, policies, services
from reports.inspection import Scope

PAGE = 100


def _actor(request) -> Actor:
    actor = Actor.from_request(request)
    return Actor(user=actor.user, kind=ActorKind.INSPECTOR, door=actor.door, ip=actor.ip, port=actor.port)


def inspector_page(view):
    """Resolve the grant, check it is in force, run the page in its scope and audit it (R13.1)."""

    @login_required
    @wraps(view)
    def page(request, grant_id: int, *args, **kwargs):
        actor = _actor(request)
        path = request.get_full_path()
        try:
            grant = inspection.grant_get_for_inspector(request.user, grant_id)
        except Http404:
            services.inspection_page_record(
                actor=actor, grant=None, path=path, refused="not_your_grant", grant_id=grant_id
            )
            raise
        decision = policies.can_inspect(request.user, grant)
        if not decision:
            services.inspection_page_record(actor=actor, grant=grant, path=path, refused=decision.code)
            raise PolicyDenied(decision.code, decision.reason)
        scope = Scope(grant)
        try:
            response = view(request, scope, *args, **kwargs)
        except Http404:
            services.inspection_page_record(actor=actor, grant=grant, path=path, refused="out_of_scope")
            raise
        if request.method == "GET":  # an export records itself, with its hash
            services.inspection_page_record(actor=actor, grant=grant, path=path)
        return response

    return page


def _context(scope: Scope, **extra) -> dict:
    context = {"grant": scope.grant, "scope": scope, "now": timezone.now(), **extra}
    if "sanctions" in extra:
        context["linkable_cases"] = scope.case_ids_among(extra["sanctions"])
    return context


def _before(request) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@login_required
@require_GET
def home(request):
    """The inspector's grants: in force, not yet started and ended."""
    if not policies.is_inspector(request.user) or request.user.is_staff:  # staff hold no grant (R13.1)
        raise PolicyDenied("not_inspector", _("This page is for inspector accounts."))
    now = timezone.now()
    grants = [(grant, grant.state_at(now)) for grant in inspection.grants_of_inspector(request.user)]
    return render(request, "reports/inspection/home.html", {"grants": grants})


@require_GET
@inspector_page
def grant_overview(request, scope: Scope):
    """The scope at a glance: groups, users, complaint statistics (R12.2), cases and measures."""
    return render(
        request,
        "reports/inspection/grant.html",
        _context(
            scope,
            groups=list(scope.groups()),
            users=list(scope.users()),
            statistics=scope.statistics(),
            cases=list(scope.cases()[:PAGE]),
            sanctions=list(scope.sanctions()[:PAGE]),
        ),
    )


@require_GET
@inspector_page
def group_detail(request, scope: Scope, code: str):
    """A group in scope: its details, members, and its messages in the span, removed ones included."""
    group = scope.group_get(code)
    chat_messages = scope.group_messages(group, before=_before(request), limit=PAGE)
    return render(
        request,
        "reports/inspection/group.html",
        _context(
            scope,
            group=group,
            members=list(scope.members(group)),
            chat_messages=chat_messages,
            older=chat_messages[0].seq if len(chat_messages) == PAGE else None,
        ),
    )


@require_GET
@inspector_page
def user_detail(request, scope: Scope, pk: int):
    """A user in scope: account, verification (masked), memberships, measures and messages in the span."""
    person = scope.user_get(pk)
    chat_messages = scope.user_messages(person, before=_before(request), limit=PAGE)
    return render(
        request,
        "reports/inspection/user.html",
        _context(
            scope,
            person=person,
            verification=identity_selectors.verification_get(person),
            memberships=list(scope.memberships_of(person)),
            sanctions=list(scope.sanctions().filter(target_user=person)),
            cases=list(scope.cases().filter(subject=person)[:PAGE]),
            chat_messages=chat_messages,
            older=chat_messages[0].pk if len(chat_messages) == PAGE else None,
        ),
    )


@require_GET
@inspector_page
def case_detail(request, scope: Scope, pk: int):
    """A case in scope: complaints with their frozen evidence, decisions, measures and the message."""
    case = scope.case_get(pk)
    sanctions = scope.sanctions_for_case(case)
    return render(
        request,
        "reports/inspection/case.html",
        _context(
            scope,
            case=case,
            complaints=scope.complaints(case),
            decisions=scope.review_decisions(case),
            sanctions=sanctions,
            chat_messages=evidence.case_messages(scope, case),
            trail=list(scope.audit_events_for_case(case, sanctions)),
        ),
    )


@require_POST
@inspector_page
def case_export(request, scope: Scope, pk: int):
    """R13.1: the case's evidence package as a zip download (recorded with its SHA-256)."""
    case = scope.case_get(pk)
    package, export = services.evidence_export(actor=_actor(request), grant=scope.grant, case=case)
    response = HttpResponse(package, content_type="application/zip")
    stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="evidence-case-{case.pk}-{stamp}.zip"'
    response["X-Package-SHA256"] = export.sha256
    response["Cache-Control"] = "no-store"
    return response


LOG_KINDS = ("audit", "network")


@require_GET
@inspector_page
def logs(request, scope: Scope):
    """The audit trail and the network logs about the groups and users in scope, in the span (R13.2)."""
    kind = request.GET.get("kind", "audit")
    if kind not in LOG_KINDS:
        kind = "audit"
    before = _before(request)
    if kind == "audit":
        rows = scope.audit_events()
        rows = list((rows.filter(seq__lt=before) if before else rows)[:PAGE])
        older = rows[-1].seq if len(rows) == PAGE else None
    else:
        rows = scope.network_logs()
        rows = list((rows.filter(pk__lt=before) if before else rows)[:PAGE])
        older = rows[-1].pk if len(rows) == PAGE else None
        for row in rows:
            row.shown_path = inspection.masked_path(row.path)
    return render(request, "reports/inspection/logs.html", _context(scope, kind=kind, rows=rows, older=older))


@require_GET
@inspector_page
def attachment(request, scope: Scope, token: str):
    """A picture or file of a message in scope, removed ones too (evidence); never rendered as a page."""
    message = scope.message_by_attachment(token)
    try:
        handle = group_selectors.attachment_open_stored(message.attachment)
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=message.attachment.content_type,
        as_attachment=message.attachment.kind != "image",
        filename=message.attachment.name,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response


@require_GET
@inspector_page
def dashboard(request, scope: Scope):
    """The compliance dashboard, for a grant that includes the platform statistics."""
    if not scope.grant.statistics:
        raise Http404
    from reports import dashboard as requirements
    from reports import dashboard_charts

    rows = requirements.requirement_rows_cached()
    for row in rows:
        row.url = ""  # the evidence pages behind each row are staff pages
    counts = {status: sum(1 for row in rows if row.status == status) for status in requirements.STATUS_LABELS}
    return render(
        request,
        "reports/dashboard.html",
        _context(
            scope,
            rows=rows,
            counts=counts,
            charts=dashboard_charts.trend_charts_cached(),
            generated_at=timezone.now(),
            cache_seconds=requirements.CACHE_SECONDS,
            inspection_grant=scope.grant,
        ),
    )
