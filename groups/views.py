"""Member pages: the group list, the chat page, creating, inviting, joining and leaving."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied, deny
from groups import policies, search, selectors, services
from groups.forms import GroupCreateForm, GroupReviewForm, MessageForm
from groups.forms_manage import JoinForm
from groups.models import JoinMode, JoinRequest, JoinRequestStatus


def home(request):
    if not request.user.is_authenticated:
        return render(request, "groups/landing.html")
    return render(request, "groups/chat.html", {"groups": selectors.group_list_for_user(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request):
    form = GroupCreateForm(request.POST or None, categories=selectors.category_list())
    denied = None
    if request.method == "GET":
        decision = policies.can_create_group(request.user)
        denied = None if decision else decision
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:  # on its field where the code names one (name_invalid, say)
            field = next((f for f in form.fields if (exc.code or "").startswith(f"{f}_")), None)
            form.add_error(field, exc)
        except PolicyDenied as exc:
            form.add_error(None, exc.message)
            denied = exc
        else:
            if group.status == "pending_review":
                messages.info(
                    request,
                    _("Your request was sent. Staff review groups of this category; you will be told."),
                )
            else:
                messages.success(request, _("Group created. Invite people with the group's link."))
            return redirect("group-chat", code=group.code)
    return render(request, "groups/create.html", {"form": form, "denied": denied})


@login_required
@require_http_methods(["GET", "POST"])
def group_chat(request, code):
    actor = Actor.from_request(request)
    group = selectors.group_get_for_actor(actor, code)
    if request.method == "POST":  # no-script fallback; the chat script uses the socket
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                services.message_send(actor=actor, group=group, **form.cleaned_data)
            except (ValidationError, PolicyDenied) as exc:
                messages.error(
                    request, exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages)
                )
        else:
            messages.error(request, _("The message could not be sent: it is empty or too long."))
        return redirect("group-chat", code=group.code)
    history = selectors.message_list(group, limit=50)
    services.membership_mark_read(actor=actor, group=group, seq=group.last_seq)  # the page shows the latest
    members = list(selectors.membership_list(group))
    return render(
        request,
        "groups/chat.html",
        {
            "groups": selectors.group_list_for_user(request.user),
            "group": group,
            "history": [
                {**selectors.message_payload(m), "mine": m.sender_id == request.user.pk} for m in history
            ],
            "held": [
                selectors.message_payload(m) for m in selectors.messages_held_for_author(group, request.user)
            ],
            "member_count": selectors.group_member_count(group),
            "members": members[:200],
            "member_names": sorted(
                {m.user.nickname for m in members if m.user_id != request.user.pk and m.user.nickname}
            ),
            "recall_seconds": settings.CHAT_RECALL_SECONDS,
            "can_manage": policies.can_manage(request.user, group).allowed,
            "can_manage_invite": policies.can_manage_invite(request.user, group).allowed,
            "pinned": selectors.pinned_payload(group),
            "can_leave": policies.can_leave(request.user, group).allowed,
            "post_decision": policies.can_post(request.user, group),
            "new_client_msg_id": uuid.uuid4().hex,
            "max_length": settings.CHAT_MESSAGE_MAX_LENGTH,
            "upload_max": policies.upload_limit_bytes(request.user),
        },
    )


@login_required
@require_POST
def message_recall(request, code, seq):
    """Recall one's own message (the chat script sends a socket frame instead; this works without it)."""
    actor = Actor.from_request(request)
    group = selectors.group_get_for_actor(actor, code)
    try:
        services.message_recall(actor=actor, message=selectors.message_get(group, seq))
    except PolicyDenied as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You recalled the message."))
    return redirect("group-chat", code=group.code)


@login_required
@require_http_methods(["GET"])
def group_search(request, code):
    """Search a group's history: Chinese by any part of a phrase, other scripts by words (groups.search)."""
    group = selectors.group_get_for_actor(Actor.from_request(request), code)
    query = request.GET.get("q", "").strip()[:100]
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    refusal = None
    found = []
    if query:
        try:
            search.require_search_budget(request.user)
            found = selectors.message_search(group, query, before=before)
        except PolicyDenied as exc:
            refusal = exc.message
    return render(
        request,
        "groups/search.html",
        {
            "group": group,
            "query": query,
            "refusal": refusal,
            "results": found,
            "more": len(found) == selectors.SEARCH_PAGE,
            "next_before": found[-1].seq if found else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_invite(request, code):
    actor = Actor.from_request(request)
    group = selectors.group_get_for_actor(actor, code)
    policies.require_manage_invite(request.user, group)
    if request.method == "POST":
        services.group_invite_reset(actor=actor, group=group)
        messages.success(request, _("A new invitation link was made; the old one no longer works."))
        return redirect("group-invite", code=group.code)
    link = request.build_absolute_uri(reverse("group-join", args=[group.invite_token]))
    return render(request, "groups/invite.html", {"group": group, "invite_link": link})


@require_http_methods(["GET", "POST"])
def group_join(request, token):
    """R8.5, R9.1: join by the group's link, or ask to join where the group takes requests; the group's
    rules are shown first and must be accepted. Refusals come back to this page as messages."""
    group = selectors.group_get_by_invite(token)
    context = {"group": group, "member_count": selectors.group_member_count(group)}
    if not request.user.is_authenticated:
        return render(request, "groups/join.html", {**context, "needs_login": True})
    if selectors.membership_get(request.user, group) is not None:
        return redirect("group-chat", code=group.code)
    join_decision = policies.can_join(request.user, group, token)
    request_decision = policies.can_request_join(request.user, group)
    # The group's chosen way in: its link while that is its mode and its size allows it, otherwise a
    # request where the group takes requests.
    link_open = group.join_mode == JoinMode.LINK and join_decision.code != "link_closed"
    offer_request = not link_open and group.join_mode != JoinMode.INVITE and bool(request_decision)
    if request.method == "POST":
        form = JoinForm(request.POST)
        actor = Actor.from_request(request)
        try:
            if not form.is_valid():
                raise ValidationError(" ".join(e for errs in form.errors.values() for e in errs))
            accept_rules = form.cleaned_data["accept_rules"]  # the service refuses if rules go unaccepted
            if offer_request:
                services.join_request_create(
                    actor=actor, group=group, message=form.cleaned_data["message"], accept_rules=accept_rules
                )
                messages.success(
                    request, _("Your request was sent. You will be told when the owner or an admin decides.")
                )
                return redirect("group-join", token=token)
            if not link_open:
                raise PolicyDenied(
                    "link_closed", join_decision.reason or _("This group does not take joins by link.")
                )
            services.membership_join(actor=actor, group=group, invite_token=token, accept_rules=accept_rules)
        except (ValidationError, PolicyDenied) as exc:
            messages.error(request, exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages))
            return redirect("group-join", token=token)
        messages.success(request, _("Welcome to %(name)s.") % {"name": group.name})
        return redirect("group-chat", code=group.code)
    return render(
        request,
        "groups/join.html",
        {
            **context,
            "link_open": link_open,
            "offer_request": offer_request,
            "refusal": _join_refusal(group, link_open, offer_request, join_decision, request_decision),
            "pending_request": JoinRequest.objects.filter(
                group=group, user=request.user, status=JoinRequestStatus.PENDING
            ).exists(),
            "form": JoinForm(),
        },
    )


def _join_refusal(group, link_open, offer_request, join_decision, request_decision):
    """Why the page offers no way in (None when it offers one)."""
    if offer_request:
        return None
    if link_open:
        return None if join_decision else join_decision
    if group.join_mode == JoinMode.INVITE:
        return deny("invite_only", _("This group takes new members by invitation only."))
    return request_decision if not request_decision else join_decision


@login_required
@require_POST
def group_leave(request, code):
    actor = Actor.from_request(request)
    group = selectors.group_get_for_actor(actor, code)
    services.membership_leave(actor=actor, group=group)
    messages.success(request, _("You left %(name)s.") % {"name": group.name})
    return redirect("home")


def _require_reviewer(request) -> None:
    decision = policies.can_review_group_creation(request.user)
    if not decision:
        raise PermissionDenied(decision.reason)


@login_required
@require_http_methods(["GET"])
def group_requests(request):
    """R8.4: groups waiting for staff review, oldest first, with the creator's qualifications."""
    _require_reviewer(request)
    return render(
        request,
        "groups/requests.html",
        {"requests": list(selectors.group_creation_requests()[:200]), "form": GroupReviewForm()},
    )


@login_required
@require_POST
def group_request_decide(request, code):
    _require_reviewer(request)
    group = get_object_or_404(selectors.group_creation_requests(), code=code)
    form = GroupReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    approve = request.POST.get("action") == "approve"
    try:
        services.group_creation_decide(
            actor=Actor.from_request(request), group=group, approve=approve, note=note
        )
    except (ValidationError, PolicyDenied) as exc:
        messages.error(request, exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages))
    else:
        messages.success(
            request,
            (_("Approved: %(name)s (%(code)s).") if approve else _("Refused: %(name)s (%(code)s)."))
            % {"name": group.name, "code": group.code},
        )
    return redirect("group-requests")


@login_required
@require_http_methods(["GET"])
def invitations(request):
    """R8.5: invitations waiting for the signed-in person, with the group's rules to accept."""
    return render(
        request, "groups/invitations.html", {"invitations": selectors.invitations_pending_for(request.user)}
    )


@login_required
@require_POST
def invitation_respond(request, pk):
    invitation = next((i for i in selectors.invitations_pending_for(request.user) if i.pk == pk), None)
    if invitation is None:
        raise Http404
    accept = request.POST.get("action") == "accept"
    try:
        services.invitation_respond(
            actor=Actor.from_request(request),
            invitation=invitation,
            accept=accept,
            accept_rules=request.POST.get("accept_rules") == "on",
        )
    except (ValidationError, PolicyDenied) as exc:
        messages.error(request, exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages))
        return redirect("invitations")
    if accept:
        messages.success(request, _("Welcome to %(name)s.") % {"name": invitation.group.name})
        return redirect("group-chat", code=invitation.group.code)
    messages.info(request, _("You declined the invitation to %(name)s.") % {"name": invitation.group.name})
    return redirect("invitations")
