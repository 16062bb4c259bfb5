"""Report pages (R12.1): the report form behind every report entry, the reporter's own reports, the owner's
and admins' view of their group's conduct cases, and the compliance staff's minimal case page.

The rules are not here: targets are fetched and authorised by ``moderation.selectors`` (404), every change
goes through ``moderation.services``, and who may do what is ``moderation.policies``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from common.actors import Actor
from common.policies import PolicyDenied
from groups import selectors as group_selectors
from moderation import policies, queue, selectors, services
from moderation.forms import CaseCloseForm, ComplaintForm
from moderation.models import CaseResolution, ReviewKind, ReviewStatus, TargetKind

FRIENDLY_REFUSALS = {"already_reported": 200, "rate_limited": 429}


def _int_param(request, name: str) -> int | None:
    raw = request.POST.get(name) or request.GET.get(name)
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise Http404
    return int(raw)


def _target_context(request, target) -> dict:
    """What is being reported, as the reporter can see it now."""
    message = target.message
    return {
        "is_member": group_selectors.membership_get(request.user, target.group) is not None,
        "target": target,
        "kind": target.kind,
        "group": target.group,
        "message": message,
        "subject": target.subject,
        "is_public_group": target.kind == TargetKind.GROUP and policies.group_is_public(target.group),
    }


@require_http_methods(["GET", "POST"])
def report(request, code):
    """R12.1: report a message (``?message=<seq>``), a member (``?member=<id>``) or the group. Members of the
    group, and anyone for a group with a public info page; everything else is 404."""
    actor = Actor.from_request(request)
    message_seq, member_id = _int_param(request, "message"), _int_param(request, "member")
    target = selectors.report_target_for_actor(actor, code, message_seq=message_seq, member_id=member_id)
    if request.method == "GET" and request.GET.get("sent"):
        return render(request, "moderation/report_sent.html", _target_context(request, target))
    decision = policies.can_report(actor, target)
    if not decision:  # one's own message, say: the reason on the page rather than an error page
        context = {**_target_context(request, target), "form": None, "refusal": decision}
        return render(request, "moderation/report.html", context, status=403)
    form = ComplaintForm(request.POST or None)
    refusal, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_file(
                actor=actor,
                target=target,
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
            )
        except PolicyDenied as exc:
            if exc.code not in FRIENDLY_REFUSALS:
                raise
            refusal, status = exc, FRIENDLY_REFUSALS[exc.code]
        except ValidationError as exc:
            form.add_error("description" if "description" in (exc.code or "") else "category", exc)
        else:
            query = {TargetKind.MESSAGE: f"message={message_seq}&", TargetKind.MEMBER: f"member={member_id}&"}
            url = reverse("group-report", kwargs={"code": target.group.code})
            return redirect(f"{url}?{query.get(target.kind, '')}sent=1")
    context = {**_target_context(request, target), "form": form, "refusal": refusal}
    response = render(request, "moderation/report.html", context, status=status)
    if refusal is not None and refusal.retry_after:
        response["Retry-After"] = str(refusal.retry_after)
    return response


@login_required
@require_GET
def my_reports(request):
    """R12.1: the reporter follows their reports: each with its case status and, once decided, the outcome."""
    return render(
        request, "moderation/mine.html", {"complaints": selectors.complaint_list_for_reporter(request.user)}
    )


@login_required
@require_GET
def manage_reports(request, code):
    """R12.1: the group's conduct cases for its owner and admins, for their own measures; never who
    reported them. Non-members get 404, members who do not manage 403 (like every management page)."""
    actor = Actor.from_request(request)
    group = group_selectors.group_get_for_actor(actor, code)
    policies.require_view_group_cases(actor.user, group)
    mine = group_selectors.membership_get(actor.user, group)
    return render(
        request,
        "moderation/manage_reports.html",
        {
            "group": group,
            "mine": mine,
            "active": "reports",
            "cases": selectors.case_list_for_group_managers(group),
        },
    )


# --- compliance ----------------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request):
    """Open cases, highest priority first (a minimal list; the review queue proper comes later)."""
    policies.require_decide_case(request.user)
    return render(
        request, "moderation/case_list.html", {"cases": selectors.case_list_open(viewer=request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request, pk):
    """R12.1: a case with its complaints and frozen evidence; decide it with the review queue's decisions
    (upheld, upheld with the message removed, dismissed) and an outcome the reporters are told. The
    resolution counts toward the reporters' accuracy, as a decision in the queue does; while the case
    waits in the queue the decision goes through its item (a reviewer's claim is respected)."""
    actor = Actor.from_request(request)
    case = selectors.case_get_for_staff(actor, pk)
    item = selectors.case_review_item(case)
    offered = [c for c in queue.get(ReviewKind.CASE).choices if c.offered_to(request.user, case)]
    form = CaseCloseForm(request.POST or None, decisions=[(c.code, c.label) for c in offered])
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            decision, outcome = form.cleaned_data["decision"], form.cleaned_data["outcome"]
            try:
                _case_decide(actor, case, item, decision, outcome)
            except PolicyDenied as exc:
                messages.error(request, exc.message)
                return redirect("case-detail", pk=case.pk)
            except ValidationError as exc:
                form.add_error("outcome", exc)
            else:
                messages.success(
                    request, _("The case is closed and its reporters have been told the outcome.")
                )
                return redirect("case-detail", pk=case.pk)
    return render(
        request,
        "moderation/case_detail.html",
        {
            "case": case,
            "complaints": selectors.case_complaints(case),
            "form": form,
            "item": item,
            "decisions": _decisions(form, offered),
        },
        status=status,
    )


def _case_decide(actor, case, item, decision: str, outcome: str) -> None:
    """The queue's decision on the case: through its open item when it has one (claims respected, the item
    recorded as decided), else by closing the case with the same resolution."""
    if item is not None and item.status == ReviewStatus.OPEN:
        services.review_item_decide(actor=actor, item=item, decision=decision, note=outcome)
        return
    services.case_close(
        actor=actor,
        case=case,
        outcome=outcome,
        resolution=CaseResolution.DISMISSED if decision == "dismiss" else CaseResolution.UPHELD,
        remove_message=decision == "remove",
    )


def _decisions(form: CaseCloseForm, offered) -> list[dict]:
    """One small form per decision, as on the queue's item page: its outcome pre-filled (or as posted)."""
    posted = form.data.get("decision") if form.is_bound else None
    rows = []
    for choice in offered:
        mine = posted == choice.code
        rows.append(
            {
                "choice": choice,
                "note": form.data.get("outcome", "") if mine else _(choice.default_note),
                "errors": form.errors.get("outcome", []) if mine else [],
            }
        )
    return rows
