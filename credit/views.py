"""Credit pages (R7.3): a member's own level, score and history, and the compliance staff's pages to find
a user, adjust their credit and decide adjustments that wait for a second member of staff (four eyes).

The rules are not here: levels and capabilities come from ``credit.selectors``, every change goes through
``credit.services``, and who may do what is ``credit.policies``."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied
from credit import policies, selectors, services
from credit.forms import AdjustForm, DecideForm, UserSearchForm
from credit.models import AdjustmentStatus, CreditAdjustment, CreditEvent
from identity.idnumber import mask_phone, parse_mobile

SEARCH_LIMIT = 20
MEMBER_LEDGER = 100  # the member page shows this many latest changes
LEDGER_PAGE = 50
RECENT_DECISIONS = 20


def _progress(caps, grid, upcoming) -> dict | None:
    """How far the score has come from the floor of its level towards the next level's lowest score."""
    if upcoming is None:
        return None
    floor = next((level.min_score for level in grid if level.number == caps.earned_level), 0)
    span = max(upcoming.min_score - floor, 1)
    done = min(max(caps.score - floor, 0), span)
    return {
        "value": done,
        "max": span,
        "percent": round(100 * done / span),
        "to_go": max(upcoming.min_score - caps.score, 0),
    }


@login_required
@require_GET
def my_credit(request):
    caps = selectors.capabilities_for(request.user)
    grid = selectors.level_grid()
    upcoming = selectors.next_level(caps)
    ledger = selectors.ledger_for(request.user, limit=MEMBER_LEDGER)
    return render(
        request,
        "credit/mine.html",
        {
            "caps": caps,
            "grid": grid,
            "upcoming": upcoming,
            "progress": _progress(caps, grid, upcoming),
            "ledger": ledger,
            "ledger_cut": len(ledger) >= MEMBER_LEDGER,
            "can_adjust": policies.can_adjust_credit(request.user).allowed,
        },
    )


# --- compliance ----------------------------------------------------------------------------------------


def _require_staff(request) -> None:
    """Compliance staff with the adjustment permission only (``PolicyDenied`` is a 403)."""
    policies.can_adjust_credit(request.user).require()


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return None


def _user_search(query: str):
    """Users by account name, nickname, mobile number (E.164 or 11 digits) or id."""
    condition = Q(username__iexact=query) | Q(username__icontains=query) | Q(nickname__icontains=query)
    with contextlib.suppress(ValidationError):  # not a mobile number: the other fields only
        condition |= Q(phone=parse_mobile(query))
    if query.isascii() and query.isdigit() and len(query) < 11:
        condition |= Q(pk=int(query))
    return list(get_user_model().objects.filter(condition).order_by("username")[: SEARCH_LIMIT + 1])


@login_required
@require_GET
def search(request):
    _require_staff(request)
    form = UserSearchForm(request.GET or None)
    results, more = None, False
    if form.is_valid():
        found = _user_search(form.cleaned_data["q"])
        more = len(found) > SEARCH_LIMIT
        results = [
            {
                "user": user,
                "phone": mask_phone(user.phone) if user.phone else "",
                "caps": selectors.capabilities_for(user),
            }
            for user in found[:SEARCH_LIMIT]
        ]
    return render(
        request,
        "credit/search.html",
        {
            "form": form,
            "results": results,
            "more": more,
            "pending_count": CreditAdjustment.objects.filter(status=AdjustmentStatus.PENDING).count(),
        },
    )


def _field_of(exc: ValidationError) -> str | None:
    code = getattr(exc, "code", None) or ""
    if code.startswith("reason"):
        return "reason"
    if code.startswith("delta"):
        return "delta"
    return None


def _signed(delta: int) -> str:
    return f"{delta:+d}"


@login_required
@require_http_methods(["GET", "POST"])
def user_credit(request, user_id):
    _require_staff(request)
    subject = get_object_or_404(get_user_model(), pk=user_id)
    threshold = settings.CREDIT_ADJUST_APPROVAL_THRESHOLD
    form = AdjustForm(request.POST or None, threshold=threshold)
    if request.method == "POST" and form.is_valid():
        try:
            adjustment = services.credit_adjust(
                actor=Actor.from_request(request),
                user=subject,
                delta=form.cleaned_data["delta"],
                reason=form.cleaned_data["reason"],
            )
        except PolicyDenied as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            form.add_error(_field_of(exc), exc)
        else:
            values = {"delta": _signed(adjustment.delta), "name": subject.display_name}
            if adjustment.status == AdjustmentStatus.PENDING:
                messages.warning(
                    request,
                    _(
                        "The change of %(delta)s points for %(name)s is waiting for a second member of "
                        "staff to approve it."
                    )
                    % values,
                )
            else:
                values["score"] = selectors.capabilities_for(subject).score
                messages.success(
                    request,
                    _("Applied: %(delta)s points for %(name)s. The score is now %(score)s.") % values,
                )
            return redirect("credit-user", user_id=subject.pk)
    caps = selectors.capabilities_for(subject)
    ledger = Paginator(
        CreditEvent.objects.filter(account__user_id=subject.pk)
        .select_related("actor")
        .order_by("-created_at", "-pk"),
        LEDGER_PAGE,
    ).get_page(request.GET.get("page"))
    adjustments = list(
        CreditAdjustment.objects.filter(account__user_id=subject.pk).select_related(
            "requested_by", "decided_by"
        )
    )
    return render(
        request,
        "credit/user.html",
        {
            "subject": subject,
            "phone": mask_phone(subject.phone) if subject.phone else "",
            "caps": caps,
            "upcoming": selectors.next_level(caps),
            "ledger": ledger,
            "adjustments": _with_decisions(request.user, adjustments),
            "form": form,
            "decide_form": DecideForm(),
            "threshold": threshold,
        },
    )


def _with_decisions(user, adjustments) -> list[dict]:
    """Each adjustment with whether ``user`` may decide it and, if not, why (to show instead of buttons)."""
    rows = []
    for adjustment in adjustments:
        decision = (
            policies.can_decide_adjustment(user, adjustment)
            if adjustment.status == AdjustmentStatus.PENDING
            else None
        )
        rows.append({"a": adjustment, "decision": decision})
    return rows


@login_required
@require_GET
def adjustments(request):
    _require_staff(request)
    pending = CreditAdjustment.objects.filter(status=AdjustmentStatus.PENDING).select_related(
        "account__user", "requested_by"
    )
    recent = (
        CreditAdjustment.objects.exclude(status=AdjustmentStatus.PENDING)
        .filter(decided_at__isnull=False)
        .select_related("account__user", "requested_by", "decided_by")
        .order_by("-decided_at")[:RECENT_DECISIONS]
    )
    return render(
        request,
        "credit/adjustments.html",
        {
            "pending": _with_decisions(request.user, pending.order_by("requested_at")),
            "recent": recent,
            "decide_form": DecideForm(),
        },
    )


@login_required
@require_POST
def adjustment_decide(request, pk):
    _require_staff(request)
    adjustment = get_object_or_404(CreditAdjustment.objects.select_related("account__user"), pk=pk)
    back = _safe_next(request) or reverse("credit-adjustments")
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or to reject the adjustment."))
        return HttpResponseRedirect(back)
    approve = form.cleaned_data["action"] == "approve"
    try:
        adjustment = services.credit_adjustment_decide(
            actor=Actor.from_request(request),
            adjustment=adjustment,
            approve=approve,
            note=form.cleaned_data["note"],
        )
    except PolicyDenied as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        subject = adjustment.account.user
        values = {"delta": _signed(adjustment.delta), "name": subject.display_name}
        if approve:
            values["score"] = selectors.capabilities_for(subject).score
            messages.success(
                request,
                _("Approved: %(delta)s points for %(name)s. The score is now %(score)s.") % values,
            )
        else:
            messages.success(request, _("Rejected: the change of %(delta)s points for %(name)s.") % values)
    return HttpResponseRedirect(back)
