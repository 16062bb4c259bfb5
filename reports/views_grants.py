"""Inspector access for supervisors (R13.1): grant it, see every grant, the pages opened under it and the
evidence packages exported, and revoke it early."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied
from reports import inspection, policies, services
from reports.forms_inspection import GrantForm, RevokeForm


def _add_errors(form, exc) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)])))


@login_required
@require_GET
def grant_list(request):
    policies.can_view_grant_register(request.user).require()
    now = timezone.now()
    grants = [(grant, grant.state_at(now)) for grant in inspection.grant_list_for_supervisor()]
    return render(
        request,
        "reports/inspection/grant_list.html",
        {"grants": grants, "can_grant": policies.can_grant_inspection(request.user).allowed},
    )


@login_required
@require_http_methods(["GET", "POST"])
def grant_new(request):
    decision = policies.can_grant_inspection(request.user)
    if not decision and request.method == "POST":
        services.inspection_denied(actor=Actor.from_request(request), decision=decision, action="grant")
    decision.require()
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.inspection_grant(actor=Actor.from_request(request), **form.service_arguments())
        except (ValidationError, PolicyDenied) as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Inspector access granted."))
            return redirect("inspection-grant-detail", pk=grant.pk)
    return render(
        request,
        "reports/inspection/grant_new.html",
        {"form": form, "no_inspectors": not form.fields["inspector"].queryset.exists()},
    )


@login_required
@require_GET
def grant_detail(request, pk: int):
    policies.can_view_grant_register(request.user).require()
    grant = inspection.grant_get_for_supervisor(pk)
    return render(
        request,
        "reports/inspection/grant_detail.html",
        {
            "grant": grant,
            "state": grant.state_at(timezone.now()),
            "groups": list(grant.scope_groups.order_by("code")),
            "users": list(grant.scope_users.order_by("pk")),
            "views": list(inspection.grant_page_views(grant)),
            "exports": inspection.grant_exports(grant),
            "revoke_form": RevokeForm(),
            "can_grant": policies.can_grant_inspection(request.user).allowed,
        },
    )


@login_required
@require_POST
def grant_revoke(request, pk: int):
    decision = policies.can_grant_inspection(request.user)
    if not decision:
        services.inspection_denied(
            actor=Actor.from_request(request), decision=decision, action="revoke", asked={"grant": pk}
        )
    grant = inspection.grant_get_for_supervisor(pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("State why access is revoked."))
        return redirect("inspection-grant-detail", pk=grant.pk)
    try:
        services.inspection_revoke(
            actor=Actor.from_request(request), grant=grant, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, PolicyDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(exc.messages))
    else:
        messages.success(request, _("Access revoked. The inspector's next page will be refused."))
    return redirect("inspection-grant-detail", pk=grant.pk)
