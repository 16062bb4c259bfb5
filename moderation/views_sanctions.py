"""Sanction pages (R11.1-R11.3): the measures form of a compliance case, the sanctions and the blacklist
for compliance staff (approval by a supervisor: four eyes; appeals decided by another reviewer), and
"My sanctions" with the appeal form for the people concerned.

The rules are not here: who may do what is ``moderation.policies``, every change goes through
``moderation.services``, and what is read comes from ``moderation.selectors``.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied
from groups.models import Membership
from moderation import ladder, policies, selectors, services
from moderation.forms_sanctions import (
    AppealForm,
    BlacklistFilterForm,
    DecisionForm,
    SanctionFilterForm,
    SanctionForm,
    fields_by_kind,
)
from moderation.models import (
    GROUP_SANCTIONS,
    USER_SANCTIONS,
    BlacklistTarget,
    Case,
    SanctionKind,
)


def _error_text(exc: Exception) -> str:
    return exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages)


def hours_text(hours: int | None) -> str:
    """A duration as people read it: days when whole, else hours; none is permanent."""
    if hours is None:
        return _("permanent (a supervisor approves)")
    if hours % 24 == 0:
        days = hours // 24
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


# --- the measures form of a case -----------------------------------------------------------------------


def case_targets(case: Case) -> dict[str, tuple[str, object, object]]:
    """What a measure from this case may be taken on: its group, the member reported (or the message's
    sender), and the group's owner. key -> (label, group, person)."""
    group = case.group
    targets = {
        "group": (_("The group %(name)s (%(code)s)") % {"name": group.name, "code": group.code}, group, None)
    }
    if case.subject is not None:
        label = _("The member reported: %(name)s") % {"name": case.subject.display_name}
        targets["subject"] = (label, None, case.subject)
    owner = (
        Membership.objects.filter(group=group, role="owner", left_at__isnull=True)
        .select_related("user")
        .first()
    )
    if owner is not None and (case.subject is None or owner.user_id != case.subject_id):
        targets["owner"] = (
            _("The group's owner: %(name)s") % {"name": owner.user.display_name},
            None,
            owner.user,
        )
    return targets


def ladder_defaults(targets: dict) -> tuple[dict, list[dict]]:
    """The escalation ladder's defaults for each target and kind: a map for the form's script (which
    fills the duration in) and rows for the table beside the form."""
    mapping, rows = {}, []
    for key, (label, group, person) in targets.items():
        prior = selectors.sanction_prior_count(target_group=group, target_user=person)
        kinds = (
            [*GROUP_SANCTIONS, SanctionKind.BLACKLIST]
            if group is not None
            else [*USER_SANCTIONS, SanctionKind.BLACKLIST]
        )
        for kind in SanctionKind:
            if kind not in kinds:
                continue
            if kind == SanctionKind.USER_CREDIT:
                text = ngettext("%(n)d point", "%(n)d points", ladder.default_points(prior)) % {
                    "n": ladder.default_points(prior)
                }
                mapping[f"{key}:{kind}"] = {"points": ladder.default_points(prior)}
            else:
                hours = ladder.default_hours(kind, prior)
                text = hours_text(hours)
                mapping[f"{key}:{kind}"] = {"hours": hours, "permanent": hours is None}
            rows.append({"target": label, "kind": kind.label, "default": text, "prior": prior})
    return mapping, rows


NEXT_MAX = 2000


def local_next(target) -> str:
    """Where to go after a measure: a local address only (a path on this site, never another host or
    scheme), else ""."""
    if not isinstance(target, str) or not target or len(target) > NEXT_MAX:
        return ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return ""
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts=set()) else ""


def measures_context(case: Case, form: SanctionForm | None = None, next_url: str = "") -> dict:
    targets = case_targets(case)
    mapping, rows = ladder_defaults(targets)
    subject = case.subject
    return {
        "case": case,
        "measures_form": form
        or SanctionForm(targets=[(k, v[0]) for k, v in targets.items()], initial={"category": case.category}),
        "fields_json": json.dumps(fields_by_kind()),
        "next_url": next_url,
        "ladder_json": json.dumps(mapping),
        "ladder_rows": rows,
        "history_days": ladder.history_days(),
        "case_sanctions": selectors.sanctions_for_case(case),
        "group_history": selectors.sanction_history(target_group=case.group),
        "subject_history": selectors.sanction_history(target_user=subject) if subject is not None else [],
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_measures(request, pk):
    """R11.1-R11.3: decide a measure from a case (on its group, the member reported, or the owner); the
    duration starts from the escalation ladder. Closures, blacklisting and permanent measures wait for a
    supervisor. ``next`` (a local address only: the queue's item page of the case) is where it returns;
    otherwise the case page."""
    actor = Actor.from_request(request)
    policies.require_issue_sanction(request.user)
    case = Case.objects.select_related("group", "subject").filter(pk=pk).first()
    if case is None:
        raise Http404
    targets = case_targets(case)
    form = SanctionForm(request.POST or None, targets=[(k, v[0]) for k, v in targets.items()])
    next_url = local_next(request.POST.get("next") or request.GET.get("next"))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            _label, group, person = targets[data["target"]]
            try:
                sanction = services.sanction_issue(
                    actor=actor,
                    kind=data["kind"],
                    category=data["category"],
                    target_group=group,
                    target_user=person,
                    blacklist_role=data["blacklist_role"] or _role_for(data["kind"], group),
                    note=data["note"],
                    duration_hours=data["duration_hours"],
                    permanent=data["permanent"],
                    points=data["points"],
                    level=data["level"],
                    case=case,
                )
            except (ValidationError, PolicyDenied) as exc:
                form.add_error(None, _error_text(exc))
            else:
                if sanction.status == "pending":
                    messages.info(
                        request, _("The measure is recorded and waits for a supervisor's approval.")
                    )
                else:
                    messages.success(request, _("The measure is in force; those affected have been told."))
                return redirect(next_url or reverse("case-detail", args=[case.pk]))
    return render(
        request,
        "moderation/case_measures.html",
        measures_context(case, form, next_url=next_url),
        status=status,
    )


def _role_for(kind: str, group) -> str:
    """A group's blacklisting needs no choice of role."""
    return BlacklistTarget.GROUP if kind == SanctionKind.BLACKLIST and group is not None else ""


# --- compliance: sanctions, approval, appeals, the blacklist -------------------------------------------


@login_required
@require_GET
def sanction_list(request):
    """R11.1-R11.3: every measure, newest first, filtered by status, kind, target and a code or name."""
    policies.require_view_sanctions(request.user)
    form = SanctionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sanctions = selectors.sanction_list_for_staff(
        request.user,
        status=filters.get("status", ""),
        kind=filters.get("kind", ""),
        target=filters.get("target", ""),
        query=filters.get("q", ""),
    )
    return render(request, "moderation/sanction_list.html", {"form": form, "sanctions": sanctions})


@login_required
@require_http_methods(["GET", "POST"])
def sanction_detail(request, pk):
    """A measure with its evidence, approval and appeal. Supervisors approve or refuse a pending one (not
    their own); a reviewer who did not decide it decides its appeal."""
    actor = Actor.from_request(request)
    sanction = selectors.sanction_get_for_staff(request.user, pk)
    appeal = selectors.appeal_of(sanction)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect("sanction-detail", pk=sanction.pk)
        note = form.cleaned_data["note"]
        try:
            if action in ("approve", "refuse"):
                services.sanction_decide(
                    actor=actor, sanction=sanction, approve=action == "approve", note=note
                )
                done = _("Approved: the measure is in force.") if action == "approve" else _("Refused.")
            elif action in ("uphold", "reject") and appeal is not None:
                services.appeal_decide(actor=actor, appeal=appeal, uphold=action == "uphold", note=note)
                done = (
                    _("Appeal upheld: the measure is reversed.")
                    if action == "uphold"
                    else _("Appeal rejected.")
                )
            else:
                raise ValidationError(_("Choose what to do."), code="action_invalid")
        except (ValidationError, PolicyDenied) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, done)
        return redirect("sanction-detail", pk=sanction.pk)
    return render(
        request,
        "moderation/sanction_detail.html",
        {
            "sanction": sanction,
            "appeal": appeal,
            "form": form,
            "can_approve": policies.can_approve_sanction(request.user, sanction).allowed,
            "can_decide_appeal": appeal is not None
            and policies.can_decide_appeal(request.user, appeal).allowed,
            "evidence_json": json.dumps(sanction.evidence, ensure_ascii=False, indent=2),
            "report_json": json.dumps(sanction.report_data, ensure_ascii=False, indent=2),
        },
    )


@login_required
@require_GET
def blacklist(request):
    """R11.3: the blacklist (groups, creators, admins, members), pending, in force, ended or reversed."""
    policies.require_view_sanctions(request.user)
    form = BlacklistFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.blacklist_for_staff(role=filters.get("role", ""), status=filters.get("status", ""))
    return render(request, "moderation/blacklist.html", {"form": form, "entries": entries})


# --- the people concerned ------------------------------------------------------------------------------


@login_required
@require_GET
def my_sanctions(request):
    """R11.1-R11.3: the measures on the person and on the groups they own: what, why, until when, and the
    appeal (one per measure)."""
    rows = [
        {
            "sanction": sanction,
            "appeal": getattr(sanction, "appeal", None),
            "can_appeal": policies.can_appeal(request.user, sanction).allowed,
            "form": AppealForm(auto_id=f"appeal{sanction.pk}_%s"),
        }
        for sanction in selectors.sanctions_concerning(request.user)
    ]
    return render(request, "moderation/my_sanctions.html", {"rows": rows})


@login_required
@require_POST
def sanction_appeal(request, pk):
    """File the appeal of a measure that concerns the person (anything else is 404)."""
    sanction = selectors.sanction_get_for_appellant(request.user, pk)
    form = AppealForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("my-sanctions")
    try:
        services.appeal_file(
            actor=Actor.from_request(request), sanction=sanction, text=form.cleaned_data["text"]
        )
    except (ValidationError, PolicyDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Your appeal was sent. You will be told the decision."))
    return redirect("my-sanctions")
