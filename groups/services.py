"""Group services: the one door for every change to groups, memberships and messages.

Order inside each: policy → write → audit in the same transaction → publish after commit.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from audit.models import NetworkLogKind
from audit.services import audit_record, network_log_write
from common.actors import Actor
from common.policies import PolicyDenied
from common.realtime import group_channel, publish_on_commit, user_channel
from credit.selectors import capabilities_for
from groups import policies
from groups.models import (
    ChatGroup,
    GroupCategory,
    GroupStatus,
    JoinMode,
    Membership,
    Message,
    MessageStatus,
    Role,
    _invite_token,
)
from groups.selectors import message_payload
from notifications.services import notify
from screening.services import screen

MANAGE_PERMISSION = "manage_chatgroup"
CLIENT_MSG_ID_MAX = 64


def _group_summary(group: ChatGroup) -> dict:
    return {"id": group.pk, "code": group.code, "name": group.name, "last_seq": group.last_seq}


def _clean_text(value: str, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    """Trimmed text within its length, free of control characters and lone surrogates."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(_("%(field)s cannot be empty.") % {"field": label}, code=f"{field}_empty")
    if len(text) > max_length:
        raise ValidationError(
            _("%(field)s is too long: at most %(max)d characters.") % {"field": label, "max": max_length},
            code=f"{field}_too_long",
        )
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text) or any(
        0xD800 <= ord(ch) <= 0xDFFF for ch in text
    ):
        raise ValidationError(
            _("%(field)s contains characters that cannot be shown.") % {"field": label},
            code=f"{field}_invalid",
        )
    return text


def _require_screened(actor: Actor, text: str, *, kind: str, group_code: str = "") -> None:
    """R10.1 for names and descriptions: they cannot wait for a reviewer, so a hold refuses as a block
    does (the evidence is kept either way)."""
    if text:
        verdict = screen(actor=actor, text=text, context={"kind": kind, "group": group_code})
        if verdict.action in ("block", "hold"):
            raise verdict.refusal()


def group_create(
    *, actor: Actor, name: str, description: str = "", category: GroupCategory | str | None = None
) -> ChatGroup:
    """R8.2, R8.4, R8.6: create a group of a category with its unique code; the creator becomes its owner.
    Where the category requires it, the group waits for staff review (the creator's qualifications are
    kept with the request) and cannot be used until approved."""
    category = _category(category)
    policies.require_create_group(actor.user, category)
    name = _clean_text(name, field="name", label=_("Group name"), max_length=40)
    description = _clean_text(
        description, field="description", label=_("Description"), max_length=500, required=False
    )
    _require_screened(actor, name, kind="group_name")
    _require_screened(actor, description, kind="group_description")
    with transaction.atomic():
        caps = capabilities_for(actor.user)
        review = category is not None and category.needs_review
        group = ChatGroup.objects.create(
            name=name,
            description=description,
            created_by=actor.user,
            member_cap=caps.max_group_size,
            category=category,
            status=GroupStatus.PENDING_REVIEW if review else GroupStatus.ACTIVE,
            join_mode=(
                category.join_modes[0] if category is not None and category.join_modes else JoinMode.LINK
            ),
            creator_qualifications={
                "credit_level": caps.level.number,
                "credit_score": caps.score,
                "groups_owned": Membership.objects.filter(
                    user=actor.user, role=Role.OWNER, left_at__isnull=True
                ).count(),
                "verified": True,  # the publishing gate let them through
            },
        )
        Membership.objects.create(group=group, user=actor.user, role=Role.OWNER)
        assign_perm(MANAGE_PERMISSION, actor.user, group)
        audit_record(
            actor=actor,
            event_type="groups.group_created",
            target=group,
            data={
                "code": group.code,
                "name": name,
                "category": category.code if category else "",
                "status": group.status,
            },
        )
        publish_on_commit(
            user_channel(actor.user.pk), {"type": "membership.joined", "group": _group_summary(group)}
        )
    return group


def membership_join(*, actor: Actor, group: ChatGroup, invite_token: str) -> Membership:
    """R8.5: join a group through its current invitation link.

    The group row is locked and the rule checked again inside the transaction, so a double click or a
    link reset racing the join cannot let a second join, or a join by the old link, through.
    """
    policies.require_join(actor.user, group, invite_token)
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        policies.require_join(actor.user, group, invite_token)
        membership, created = Membership.objects.select_for_update().get_or_create(
            group=group, user=actor.user, defaults={"role": Role.MEMBER}
        )
        if not created:  # a member who left comes back as a plain member
            Membership.objects.filter(pk=membership.pk).update(
                left_at=None, role=Role.MEMBER, joined_at=timezone.now()
            )
            membership.refresh_from_db()
        audit_record(
            actor=actor,
            event_type="groups.member_joined",
            target=group,
            data={"code": group.code, "user_id": actor.user.pk, "via": "invite_link"},
        )
        publish_on_commit(
            user_channel(actor.user.pk), {"type": "membership.joined", "group": _group_summary(group)}
        )
        publish_on_commit(
            group_channel(group.pk),
            {
                "type": "chat.member",
                "event": "joined",
                "group": group.code,
                "user": {"id": actor.user.pk, "nickname": actor.user.display_name},
            },
        )
    return membership


def membership_leave(*, actor: Actor, group: ChatGroup) -> None:
    """R8.6: a member (not the owner) leaves; their management rights go with them."""
    policies.require_leave(actor.user, group)
    with transaction.atomic():
        Membership.objects.filter(group=group, user=actor.user, left_at__isnull=True).update(
            left_at=timezone.now()
        )
        remove_perm(MANAGE_PERMISSION, actor.user, group)
        audit_record(
            actor=actor,
            event_type="groups.member_left",
            target=group,
            data={"code": group.code, "user_id": actor.user.pk},
        )
        publish_on_commit(
            user_channel(actor.user.pk), {"type": "membership.left", "group": _group_summary(group)}
        )
        publish_on_commit(
            group_channel(group.pk),
            {
                "type": "chat.member",
                "event": "left",
                "group": group.code,
                "user": {"id": actor.user.pk, "nickname": actor.user.display_name},
            },
        )


def membership_appoint_admin(*, actor: Actor, group: ChatGroup, member) -> Membership:
    """R8.6, R9.2: the owner makes a member an admin; the right to manage comes with the role."""
    policies.require_appoint_admin(actor.user, group, member)
    with transaction.atomic():
        Membership.objects.filter(group=group, user=member, left_at__isnull=True).update(role=Role.ADMIN)
        assign_perm(MANAGE_PERMISSION, member, group)
        audit_record(
            actor=actor,
            event_type="groups.admin_appointed",
            target=group,
            data={"code": group.code, "user_id": member.pk},
        )
    return Membership.objects.get(group=group, user=member)


def _category(category) -> GroupCategory | None:
    if isinstance(category, GroupCategory):
        return category
    code = category or settings.GROUP_DEFAULT_CATEGORY
    found = GroupCategory.objects.filter(code=code).first()
    if found is None and category:
        raise ValidationError(_("Choose one of the categories offered."), code="category_unknown")
    return found


def group_creation_decide(*, actor: Actor, group: ChatGroup, approve: bool, note: str = "") -> ChatGroup:
    """R8.4: staff approve or refuse a group whose category needs review; the creator is told."""
    policies.require_review_group_creation(actor.user)
    note = (note or "").strip()[:300]
    if not approve and not note:
        raise ValidationError(_("Say why the group is refused; the creator is told."), code="note_required")
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        if group.status != GroupStatus.PENDING_REVIEW:
            raise PolicyDenied("not_pending", _("This request has already been decided."))
        group.status = GroupStatus.ACTIVE if approve else GroupStatus.REJECTED
        group.review_note, group.reviewed_by, group.reviewed_at = note, actor.user, timezone.now()
        group.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=actor,
            event_type="groups.creation_approved" if approve else "groups.creation_refused",
            target=group,
            reason=note,
            data={"code": group.code, "category": group.category.code if group.category else ""},
        )
        notify(
            actor=actor,
            recipient=group.created_by,
            kind="group.creation_decided",
            context={
                "group": group.code,
                "group_name": group.name,
                "outcome": "approved" if approve else "refused",
                "note": note,
            },
        )
    return group


def group_invite_reset(*, actor: Actor, group: ChatGroup) -> ChatGroup:
    """R9.2: owners and admins replace the invitation link; the old one stops working at once."""
    policies.require_manage_invite(actor.user, group)
    with transaction.atomic():
        ChatGroup.objects.select_for_update().filter(pk=group.pk).update(invite_token=_invite_token())
        group.refresh_from_db(fields=["invite_token"])
        audit_record(actor=actor, event_type="groups.invite_reset", target=group, data={"code": group.code})
    return group


def message_send(*, actor: Actor, group: ChatGroup, body: str, client_msg_id: str) -> tuple[Message, bool]:
    """R6.2, R13.2: post a message. Persisted with a gapless per-group sequence number before it is
    broadcast; a repeated ``client_msg_id`` returns the original message (``created`` is False)."""
    policies.require_post(actor.user, group)
    client_msg_id = (client_msg_id or "").strip()
    if not client_msg_id or len(client_msg_id) > CLIENT_MSG_ID_MAX or not client_msg_id.isprintable():
        raise ValidationError(
            _("A client message id of 1 to 64 printable characters is required."),
            code="client_msg_id_invalid",
        )
    existing = _message_by_client_id(actor, group, client_msg_id)
    if existing is not None:
        return existing, False
    body = _clean_text(body, field="message", label=_("Message"), max_length=settings.CHAT_MESSAGE_MAX_LENGTH)
    _require_within_rate(actor.user)
    verdict = screen(actor=actor, text=body, context={"kind": "message", "group": group.code})
    if not verdict.publishable:
        raise verdict.refusal()
    membership_role = (
        Membership.objects.filter(group=group, user=actor.user).values_list("role", flat=True).first()
    )
    try:
        with transaction.atomic():
            if verdict.held:  # R10.1: kept for its author and the reviewers; the group sees nothing
                seq, status = None, MessageStatus.HELD
            else:
                # The row lock taken by this UPDATE serialises senders of one group until commit: gapless.
                ChatGroup.objects.filter(pk=group.pk).update(last_seq=F("last_seq") + 1)
                seq = ChatGroup.objects.values_list("last_seq", flat=True).get(pk=group.pk)
                status = MessageStatus.VISIBLE
            message = Message.objects.create(
                group=group,
                seq=seq,
                sender=actor.user,
                client_msg_id=client_msg_id,
                body=body,
                status=status,
                screening_evidence_id=verdict.evidence_id,
            )
            # Message metadata goes to the network log (R13.2), not the audit chain: no global lock.
            network_log_write(
                actor=actor,
                kind=NetworkLogKind.MESSAGE,
                group_code=group.code,
                message_id=message.pk,
                detail={"seq": seq, "status": status},
            )
            if status == MessageStatus.VISIBLE:
                payload = message_payload(message, sender_role=membership_role)
                publish_on_commit(group_channel(group.pk), {"type": "chat.message", "message": payload})
    except IntegrityError:
        existing = _message_by_client_id(actor, group, client_msg_id)  # a concurrent retry won the race
        if existing is None:
            raise
        return existing, False
    message.sender_role = membership_role
    return message, True


def _require_within_rate(user) -> None:
    """R7.3: messages per minute follow the sender's credit level. The first message opens a one-minute
    window in the shared cache (every process counts together); the refusal says how long to wait."""
    limit = capabilities_for(user).messages_per_minute
    now = time.time()
    key = f"chat:rate:{user.pk}"
    cache.add(f"{key}:start", now, 60)
    cache.add(key, 0, 60)
    try:
        sent = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(f"{key}:start", now, 60)
        cache.set(key, 1, 60)
        sent = 1
    if sent > limit:
        started = cache.get(f"{key}:start") or now
        wait = max(1, int(60 - (now - started)) + 1)
        raise PolicyDenied(
            "rate_limited",
            _("At your credit level you may send %(limit)d messages a minute. Wait %(wait)d seconds.")
            % {"limit": limit, "wait": wait},
        )


def _message_by_client_id(actor: Actor, group: ChatGroup, client_msg_id: str) -> Message | None:
    existing = (
        Message.objects.select_related("sender", "group")
        .filter(sender=actor.user, client_msg_id=client_msg_id)
        .first()
    )
    if existing is not None and existing.group_id != group.pk:
        raise ValidationError(
            _("This client message id was already used in another group."), code="client_msg_id_reused"
        )
    if existing is not None:
        existing.sender_role = (
            Membership.objects.filter(group=group, user=actor.user).values_list("role", flat=True).first()
        )
    return existing


__all__ = [
    "group_create",
    "group_invite_reset",
    "membership_appoint_admin",
    "membership_join",
    "membership_leave",
    "message_send",
]
