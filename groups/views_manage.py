"""Owner and admin pages under /groups/<code>/manage/ (R9.2, R8.6).

Every page fetches the group with ``group_get_for_actor`` (404 for non-members) and then requires
``policies.can_manage`` (403 for members who are not the owner or an admin). Every change goes through
its service; a refusal (``PolicyDenied``) or invalid input (``ValidationError``) becomes a flash message,
and every POST redirects (PRG).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditEvent
from common.actors import Actor
from common.policies import PolicyDenied
from groups import policies, selectors, services
from groups.forms_manage import (
    AnnouncementForm,
    DissolveForm,
    MemberActionForm,
    MemberFilterForm,
    SettingsForm,
)
from groups.models import ChatGroup, JoinMode, JoinRequest, JoinRequestStatus, Membership, Role

MEMBERS_PER_PAGE = 50
REQUESTS_PER_PAGE = 100
LOG_PER_PAGE = 50


# --- reading (small selectors of these pages) ---------------------------------------------------------


def manage_member_page(group: ChatGroup, *, q: str = "", role: str = ""):
    """Active members, owner first, then admins, then members by joining date; one query per page."""
    members = selectors.membership_list(group).annotate(
        rank=Case(
            When(role=Role.OWNER, then=Value(0)),
            When(role=Role.ADMIN, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )
    if q:
        members = members.filter(user__nickname__icontains=q)
    if role == "muted":
        members = members.filter(muted_until__gt=timezone.now())
    elif role in Role.values:
        members = members.filter(role=role)
    return members.order_by("rank", "joined_at", "pk")


def manage_join_requests(group: ChatGroup):
    return (
        JoinRequest.objects.filter(group=group, status=JoinRequestStatus.PENDING)
        .select_related("user")
        .order_by("created_at", "pk")
    )


def manage_activity(group: ChatGroup):
    """The group's own events in the audit trail (``groups.*``), newest first."""
    return (
        AuditEvent.objects.filter(group_code=group.code, event_type__startswith="groups.")
        .select_related("actor")
        .order_by("-occurred_at", "-pk")
    )


EVENT_LABELS = {
    "groups.group_created": gettext_lazy("created the group"),
    "groups.member_joined": gettext_lazy("joined"),
    "groups.member_left": gettext_lazy("left the group"),
    "groups.admin_appointed": gettext_lazy("appointed an admin"),
    "groups.admin_dismissed": gettext_lazy("dismissed an admin"),
    "groups.member_muted": gettext_lazy("muted a member"),
    "groups.member_unmuted": gettext_lazy("unmuted a member"),
    "groups.member_removed": gettext_lazy("removed a member"),
    "groups.ownership_transferred": gettext_lazy("transferred ownership"),
    "groups.dissolved": gettext_lazy("dissolved the group"),
    "groups.settings_changed": gettext_lazy("changed the settings"),
    "groups.announcement_set": gettext_lazy("set the announcement"),
    "groups.message_removed": gettext_lazy("removed a message"),
    "groups.join_requested": gettext_lazy("asked to join"),
    "groups.join_request_approved": gettext_lazy("approved a join request"),
    "groups.join_request_declined": gettext_lazy("declined a join request"),
    "groups.invite_reset": gettext_lazy("made a new invitation link"),
    "groups.invitation_sent": gettext_lazy("sent an invitation"),
    "groups.invitation_accepted": gettext_lazy("accepted an invitation"),
    "groups.invitation_declined": gettext_lazy("declined an invitation"),
    "groups.creation_approved": gettext_lazy("staff approved the group"),
    "groups.creation_refused": gettext_lazy("staff refused the group"),
}
SETTING_LABELS = {
    "name": gettext_lazy("Group name"),
    "description": gettext_lazy("Description"),
    "rules_text": gettext_lazy("Group rules"),
    "join_mode": gettext_lazy("How people join"),
    "slow_mode_seconds": gettext_lazy("Slow mode"),
    "announcement_only": gettext_lazy("Only the owner and admins post"),
}


def _whom_ids(event: AuditEvent) -> list[int]:
    data = event.data or {}
    ids = [data.get("user_id"), data.get("to"), data.get("sender")]
    return [i for i in ids if isinstance(i, int)]


def _log_rows(events) -> list[dict]:
    """Readable rows; the people acted on are fetched in one query for the whole page."""
    ids = {i for event in events for i in _whom_ids(event)}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "nickname") if ids else [])
    rows = []
    for event in events:
        data = event.data or {}
        whom = [names.get(i) or f"#{i}" for i in _whom_ids(event) if i != event.actor_id]
        details = []
        if event.event_type == "groups.member_muted" and data.get("until"):
            try:
                until = timezone.localtime(datetime.fromisoformat(data["until"]))
                details.append(_("until %(until)s") % {"until": f"{until:%Y-%m-%d %H:%M}"})
            except (TypeError, ValueError):
                pass
        if event.event_type == "groups.member_removed" and data.get("barred"):
            details.append(_("barred from rejoining"))
        if event.event_type == "groups.settings_changed":
            changed = (data.get("after") or {}).keys()
            details.append(", ".join(str(SETTING_LABELS.get(field, field)) for field in changed))
        rows.append(
            {
                "when": event.occurred_at,
                "who": event.actor.display_name if event.actor_id and event.actor else _("the platform"),
                "what": EVENT_LABELS.get(event.event_type, event.event_type),
                "whom": ", ".join(whom),
                "details": "; ".join(d for d in details if d),
                "reason": event.reason,
            }
        )
    return rows


# --- helpers ---------------------------------------------------------------------------------------------


def _managed(request, code) -> tuple[Actor, ChatGroup, Membership]:
    actor = Actor.from_request(request)
    group = selectors.group_get_for_actor(actor, code)  # 404 for non-members
    policies.require_manage(request.user, group)  # 403 (with the reason) for everyone else
    mine = selectors.membership_get(request.user, group)
    return actor, group, mine


def _refusal(exc: Exception) -> str:
    if isinstance(exc, PolicyDenied):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _nav(group: ChatGroup, active: str, mine: Membership) -> dict:
    return {
        "group": group,
        "active": active,
        "mine": mine,
        "pending_count": JoinRequest.objects.filter(group=group, status=JoinRequestStatus.PENDING).count(),
    }


def _back(request, fallback: str) -> str:
    """Back to the page (with its filters) the form was posted from, if it is one of ours."""
    target = request.POST.get("next", "")
    if target.startswith(fallback):
        return target
    return fallback


# --- members ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def manage_members(request, code):
    _actor, group, mine = _managed(request, code)
    filters = MemberFilterForm(request.GET or None)
    q, role = "", ""
    if filters.is_valid():
        q, role = filters.cleaned_data["q"].strip(), filters.cleaned_data["role"]
    paginator = Paginator(manage_member_page(group, q=q, role=role), MEMBERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    owner = policies.can_own_action(request.user, group).allowed
    my_rank = policies.RANK[Role(mine.role)]
    now = timezone.now()
    rows = []
    for membership in page.object_list:
        # For showing buttons only, from the row already loaded (no query per row): the same ranks the
        # policy compares. The service checks the rule again and decides.
        below = membership.user_id != request.user.pk and policies.RANK[Role(membership.role)] < my_rank
        rows.append(
            {
                "m": membership,
                "muted": bool(membership.muted_until and membership.muted_until > now),
                "can_moderate": below,
                "can_appoint": owner and membership.role == Role.MEMBER,
                "can_dismiss": owner and membership.role == Role.ADMIN,
                "can_transfer": owner and membership.user_id != request.user.pk,
            }
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "groups/manage/members.html",
        {
            **_nav(group, "members", mine),
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "action_form": MemberActionForm(),
            "total": selectors.group_member_count(group),
            "is_owner": owner,
        },
    )


@login_required
@require_POST
def manage_member_action(request, code, user_id):
    actor, group, _mine = _managed(request, code)
    back = _back(request, reverse("group-manage", args=[group.code]))
    target = (
        Membership.objects.filter(group=group, user_id=user_id, left_at__isnull=True)
        .select_related("user")
        .first()
    )
    if target is None:
        raise Http404
    member = target.user
    form = MemberActionForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for errs in form.errors.values() for e in errs]
        messages.error(request, " ".join(errors) or _("The form was not complete."))
        return redirect(back)
    data = form.cleaned_data
    action, name = data["action"], member.display_name
    try:
        if action == "mute":
            updated = services.membership_mute(
                actor=actor, group=group, member=member, minutes=data["minutes"], reason=data["reason"]
            )
            until = timezone.localtime(updated.muted_until)
            done = _("%(name)s is muted until %(until)s.") % {
                "name": name,
                "until": f"{until:%Y-%m-%d %H:%M}",
            }
        elif action == "unmute":
            services.membership_unmute(actor=actor, group=group, member=member)
            done = _("%(name)s may speak again.") % {"name": name}
        elif action == "remove":
            services.membership_remove(
                actor=actor,
                group=group,
                member=member,
                reason=data["reason"],
                bar=data["bar"],
                bar_days=data["bar_days"] if data["bar"] else None,
            )
            done = (
                _("%(name)s was removed and may not rejoin.")
                if data["bar"]
                else _("%(name)s was removed from the group.")
            ) % {"name": name}
        elif action == "appoint":
            services.membership_appoint_admin(actor=actor, group=group, member=member)
            done = _("%(name)s is now an admin.") % {"name": name}
        elif action == "dismiss":
            services.membership_dismiss_admin(actor=actor, group=group, member=member)
            done = _("%(name)s is no longer an admin.") % {"name": name}
        else:  # transfer
            services.group_transfer_ownership(actor=actor, group=group, member=member)
            done = _("%(name)s is now the owner; you stay as an admin.") % {"name": name}
    except (PolicyDenied, ValidationError) as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, done)
    return redirect(back)


# --- messages (from the chat page) ---------------------------------------------------------------------


@login_required
@require_POST
def manage_message_action(request, code, seq):
    """R9.2: pin, unpin or remove a message from the chat page's message menu (the page's script uses the
    API instead; this is the same action without it). Back to the chat with the outcome."""
    actor, group, _mine = _managed(request, code)
    message = selectors.message_get(group, seq)
    action = request.POST.get("action", "")
    try:
        if action == "pin":
            services.message_pin(actor=actor, message=message, group=group)
            done = _("The message is pinned for everyone.")
        elif action == "unpin":
            services.message_pin(actor=actor, message=None, group=group)
            done = _("The message is no longer pinned.")
        elif action == "remove":
            services.message_remove(actor=actor, message=message, reason=request.POST.get("reason", ""))
            done = _("The message was removed; it is kept as evidence.")
        else:
            raise ValidationError(_("Choose pin, unpin or remove."))
    except (PolicyDenied, ValidationError) as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, done)
    return redirect("group-chat", code=group.code)


# --- join requests ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def manage_requests(request, code):
    actor, group, mine = _managed(request, code)
    url = reverse("group-manage-requests", args=[group.code])
    if request.method == "POST":
        one = request.POST.get("decide", "")
        if one:  # a row's own button: "approve:<id>" or "decline:<id>"
            verb, _sep, raw = one.partition(":")
            ids = [raw]
        else:
            verb, ids = request.POST.get("bulk", ""), request.POST.getlist("ids")
        if verb not in ("approve", "decline"):
            messages.error(request, _("Choose to approve or to decline."))
            return redirect(url)
        wanted = [int(i) for i in ids if str(i).isdigit()][:REQUESTS_PER_PAGE]
        if not wanted:
            messages.error(request, _("Select at least one request."))
            return redirect(url)
        found = {
            r.pk: r for r in JoinRequest.objects.filter(group=group, pk__in=wanted).select_related("user")
        }
        succeeded, failures = 0, []
        for pk in wanted:
            join_request = found.get(pk)
            if join_request is None:
                failures.append(_("request #%(id)d: not found") % {"id": pk})
                continue
            try:
                services.join_request_decide(
                    actor=actor, join_request=join_request, approve=verb == "approve"
                )
            except (PolicyDenied, ValidationError) as exc:
                failures.append(f"{join_request.user.display_name}: {_refusal(exc)}")
            else:
                succeeded += 1
        if succeeded:
            text = (
                _("Approved %(n)d request(s).") if verb == "approve" else _("Declined %(n)d request(s).")
            ) % {"n": succeeded}
            messages.success(request, text)
        if failures:
            messages.error(
                request,
                _("%(n)d could not be decided: %(why)s") % {"n": len(failures), "why": "; ".join(failures)},
            )
        return redirect(url)
    pending = list(manage_join_requests(group)[:REQUESTS_PER_PAGE])
    rules = selectors.group_rules(group)
    return render(
        request,
        "groups/manage/requests.html",
        {**_nav(group, "requests", mine), "pending": pending, "rules": rules},
    )


# --- settings, announcement, dissolving --------------------------------------------------------------------


def _settings_context(group: ChatGroup, mine: Membership, rules, settings_form, announcement_form) -> dict:
    return {
        **_nav(group, "settings", mine),
        "rules": rules,
        "form": settings_form,
        "announcement_form": announcement_form,
        "is_owner": mine.role == Role.OWNER,
        "join_mode_label": dict(JoinMode.choices).get(group.join_mode, group.join_mode),
    }


@login_required
@require_http_methods(["GET", "POST"])
def manage_settings(request, code):
    actor, group, mine = _managed(request, code)
    rules = selectors.group_rules(group)
    initial = {
        "name": group.name,
        "description": group.description,
        "rules_text": group.rules_text,
        "join_mode": group.join_mode,
        "slow_mode_seconds": group.slow_mode_seconds,
        "announcement_only": group.announcement_only,
    }
    form = SettingsForm(
        request.POST or None,
        initial=initial,
        join_modes=rules.join_modes,
        current_slow_mode=group.slow_mode_seconds,
    )
    if request.method == "POST":
        if form.is_valid():
            # Only what changed goes to the service: an unchanged text is not screened again, and an
            # unchanged join mode the group's size no longer offers does not block the other changes.
            changes = {
                field: value
                for field, value in form.cleaned_data.items()
                if value != initial[field] and not (field == "join_mode" and not value)
            }
            try:
                services.group_settings_update(actor=actor, group=group, **changes)
            except (PolicyDenied, ValidationError) as exc:
                messages.error(request, _refusal(exc))
            else:
                messages.success(request, _("Settings saved.") if changes else _("Nothing was changed."))
                return redirect("group-manage-settings", code=group.code)
        else:
            messages.error(request, _("Please correct the fields marked below."))
        # A refused change stays on the page with what was typed (a POST that fails is shown, not lost).
        return render(
            request,
            "groups/manage/settings.html",
            _settings_context(
                group, mine, rules, form, AnnouncementForm(initial={"text": group.announcement})
            ),
        )
    return render(
        request,
        "groups/manage/settings.html",
        _settings_context(group, mine, rules, form, AnnouncementForm(initial={"text": group.announcement})),
    )


@login_required
@require_POST
def manage_announcement(request, code):
    actor, group, _mine = _managed(request, code)
    form = AnnouncementForm(request.POST)
    if form.is_valid():
        try:
            group = services.group_announcement_set(actor=actor, group=group, text=form.cleaned_data["text"])
        except (PolicyDenied, ValidationError) as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(
                request,
                _("Announcement published; every member is told.")
                if group.announcement
                else _("Announcement removed."),
            )
    else:
        messages.error(request, _("The announcement is too long: at most 1000 characters."))
    return redirect("group-manage-settings", code=group.code)


@login_required
@require_http_methods(["GET", "POST"])
def manage_dissolve(request, code):
    actor, group, mine = _managed(request, code)
    policies.require_own_action(request.user, group)
    form = DissolveForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        try:
            services.group_dissolve(actor=actor, group=group, reason=form.cleaned_data["reason"])
        except (PolicyDenied, ValidationError) as exc:
            messages.error(request, _refusal(exc))
            return redirect("group-manage-dissolve", code=group.code)
        messages.success(request, _("%(name)s was dissolved.") % {"name": group.name})
        return redirect("home")
    return render(request, "groups/manage/dissolve.html", {**_nav(group, "settings", mine), "form": form})


# --- activity log ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def manage_log(request, code):
    _actor, group, mine = _managed(request, code)
    page = Paginator(manage_activity(group), LOG_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "groups/manage/log.html",
        {**_nav(group, "log", mine), "page": page, "rows": _log_rows(list(page.object_list))},
    )


@login_required
@require_POST
def manage_invite(request, code):
    """R8.5: invite someone by account name or mobile number; small groups add them at once, larger
    ones wait for them to confirm (the service decides, by the group's tier)."""
    actor, group, _mine = _managed(request, code)
    invitee = selectors.user_find_for_invitation(request.POST.get("who", ""))
    back = reverse("group-manage", kwargs={"code": group.code})
    if invitee is None:
        messages.error(request, _("Nobody found with that account name or mobile number."))
        return redirect(back)
    try:
        result = services.invitation_create(actor=actor, group=group, invitee=invitee)
    except (ValidationError, PolicyDenied) as exc:
        messages.error(request, _refusal(exc))
        return redirect(back)
    if isinstance(result, Membership):
        messages.success(request, _("%(name)s was added to the group.") % {"name": invitee.display_name})
    else:
        messages.success(
            request, _("%(name)s was invited and joins once they confirm.") % {"name": invitee.display_name}
        )
    return redirect(back)
