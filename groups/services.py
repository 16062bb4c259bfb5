"""Group services: the one door for every change to groups, memberships and messages.

Order inside each: policy → write → audit in the same transaction → publish after commit.
"""

from __future__ import annotations

import re
import time
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from audit.models import NetworkLogKind
from audit.services import audit_record, network_log_entry
from common import input_guard, ratelimit
from common.actors import Actor
from common.policies import PolicyDenied
from common.realtime import group_channel, in_turn, publish_now, publish_on_commit, user_channel
from credit.selectors import capabilities_for
from groups import attachments, codes, policies, search, selectors
from groups.models import (
    Attachment,
    ChatGroup,
    EmergencyKind,
    EmergencyMeasure,
    GroupBan,
    GroupCategory,
    GroupRestriction,
    GroupRestrictionKind,
    GroupStatus,
    GroupTier,
    Invitation,
    InvitationStatus,
    JoinMode,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Message,
    MessageStatus,
    Role,
    _invite_token,
)
from groups.selectors import message_event, message_payload
from notifications.services import notify, notify_group
from screening.models import ACTION_STRENGTH
from screening.services import screen, screen_file

MANAGE_PERMISSION = "manage_chatgroup"
BIDI_CONTROLS = input_guard.BIDI_CONTROLS  # display order differs from what is stored (and screened)


def _lock_user(user) -> None:
    """Serialise what one person does against their own caps (groups owned, groups joined)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _group_summary(group: ChatGroup) -> dict:
    return {"id": group.pk, "code": group.code, "name": group.name, "last_seq": group.last_seq}


def _clean_text(
    value: str, *, field: str, label: str, max_length: int, required: bool = True, name: bool = False
) -> str:
    """Trimmed text within its length, free of control characters, lone surrogates and direction
    overrides; a ``name`` is held to the rule of nicknames (``common.input_guard.name_has_hidden_characters``:
    one line, no zero-width or other format characters), so that no name can pass for another."""
    text = (value or "").strip() if isinstance(value, str) else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a browser's textarea sends CR LF line breaks
    if required and not text:
        raise ValidationError(_("%(field)s cannot be empty.") % {"field": label}, code=f"{field}_empty")
    if len(text) > max_length:
        raise ValidationError(
            _("%(field)s is too long: at most %(max)d characters.") % {"field": label, "max": max_length},
            code=f"{field}_too_long",
        )
    if (name and input_guard.name_has_hidden_characters(text)) or any(
        (ord(ch) < 32 and ch not in "\n\t") or 0xD800 <= ord(ch) <= 0xDFFF or ch in BIDI_CONTROLS
        for ch in text
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
    name = _clean_text(name, field="name", label=_("Group name"), max_length=40, name=True)
    description = _clean_text(
        description, field="description", label=_("Description"), max_length=500, required=False
    )
    _require_screened(actor, name, kind="group_name")
    _require_screened(actor, description, kind="group_description")
    with transaction.atomic():
        _lock_user(actor.user)  # two creates at once wait here, then see each other's group
        policies.require_create_group(actor.user, category)
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


def membership_join(
    *, actor: Actor, group: ChatGroup, invite_token: str, accept_rules: bool = False
) -> Membership:
    """R8.5, R9.1: join a group through its current invitation link, after accepting its rules if it has
    any.

    The group row is locked and the rule checked again inside the transaction, so a double click or a
    link reset racing the join cannot let a second join, or a join by the old link, through.
    """
    policies.require_join(actor.user, group, invite_token)
    with transaction.atomic():
        _lock_user(actor.user)  # the joiner's own cap: joins into different groups queue here
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        policies.require_join(actor.user, group, invite_token)
        if group.rules_text and not accept_rules:
            raise ValidationError(_("Please read and accept the group's rules."), code="rules_not_accepted")
        membership = _membership_add(group, actor.user, rules_accepted=accept_rules)
        audit_record(
            actor=actor,
            event_type="groups.member_joined",
            target=group,
            data={"code": group.code, "user_id": actor.user.pk, "via": "invite_link"},
        )
        membership.refresh_from_db()
    return membership


def membership_leave(*, actor: Actor, group: ChatGroup) -> None:
    """R8.6: a member (not the owner) leaves; their management rights go with them."""
    policies.require_leave(actor.user, group)
    with transaction.atomic():
        Membership.objects.filter(group=group, user=actor.user, left_at__isnull=True).update(
            left_at=timezone.now(), role=Role.MEMBER
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


def group_config_save(*, actor: Actor, config: GroupCategory | GroupTier, changed: list[str]) -> None:
    """R7.1, R7.2: staff define categories and tiers (the admin's one door); each change is audited."""
    policies.require_configure_groups(actor.user)
    config.full_clean()
    if isinstance(config, GroupCategory):
        modes = config.join_modes
        if not isinstance(modes, list) or not modes or any(mode not in JoinMode.values for mode in modes):
            raise ValidationError(
                {"join_modes": _("Choose one or more of: link, request, invite.")}, code="join_modes_invalid"
            )
    else:
        clash = GroupTier.objects.exclude(pk=config.pk).filter(
            Q(number__lt=config.number, min_members__gte=config.min_members)
            | Q(number__gt=config.number, min_members__lte=config.min_members)
        )
        if clash.exists():
            raise ValidationError(
                {"min_members": _("Each tier must start at more members than the tier below it.")},
                code="tier_order",
            )
    with transaction.atomic():
        created = config.pk is None
        config.save()
        audit_record(
            actor=actor,
            event_type=f"groups.{config._meta.model_name}_{'created' if created else 'changed'}",
            target=config,
            data={field: _plain(getattr(config, field)) for field in changed},
        )


def _plain(value):
    return value if isinstance(value, (str, int, bool, list, dict, type(None))) else str(value)


def group_creation_decide(*, actor: Actor, group: ChatGroup, approve: bool, note: str = "") -> ChatGroup:
    """R8.4: staff approve or refuse a group whose category needs review; the creator is told."""
    policies.require_review_group_creation(actor.user)
    if group.created_by_id == actor.user_id:  # R8.4: a second person decides
        raise PolicyDenied("own_matter", _("Nobody decides a matter about themselves or a group they run."))
    if approve:
        policies.require_creation_open()  # R5.1: no group goes live during a freeze of group creation
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
    client_msg_id = _valid_client_msg_id(client_msg_id)
    existing = _message_by_client_id(actor, group, client_msg_id)
    if existing is not None:
        return existing, False
    body = _clean_text(body, field="message", label=_("Message"), max_length=settings.CHAT_MESSAGE_MAX_LENGTH)
    _require_within_rate(actor.user)
    _require_slow_mode(actor.user, group)
    verdict = screen(actor=actor, text=body, context={"kind": "message", "group": group.code})
    if not verdict.publishable:
        raise verdict.refusal()
    return _message_create(actor, group, body=body, client_msg_id=client_msg_id, verdict=verdict)


def message_send_file(
    *, actor: Actor, group: ChatGroup, data: bytes, name: str, caption: str, client_msg_id: str
) -> tuple[Message, bool]:
    """R6.2, R7.3, R10.1, R13.2: post a picture or file (with an optional caption) as a message: the same
    policies, rate limits, sequence numbers and idempotency as text. The real type is read from the
    content; a picture is re-encoded without its metadata; the name and caption go through the text
    screening and the file through ``screen_file`` (known prohibited pictures, viruses when configured).
    Nothing is stored for a refused file."""
    policies.require_send_file(actor.user, group, len(data))
    client_msg_id = _valid_client_msg_id(client_msg_id)
    existing = _message_by_client_id(actor, group, client_msg_id)
    if existing is not None:
        return existing, False
    caption = _clean_text(
        caption,
        field="caption",
        label=_("Caption"),
        max_length=settings.CHAT_MESSAGE_MAX_LENGTH,
        required=False,
    )
    prepared = attachments.prepare(data, name)
    _require_within_rate(actor.user)
    _require_slow_mode(actor.user, group)
    context = {"kind": "attachment", "group": group.code}
    verdicts = [
        screen(actor=actor, text=caption, context=context),
        screen_file(actor=actor, data=prepared.data, name=prepared.name, context=context),
    ]
    verdict = max(verdicts, key=lambda v: ACTION_STRENGTH.get(v.action, 0))
    if not verdict.publishable:
        raise verdict.refusal()
    stored_name, thumbnail_name = attachments.save(prepared)
    attachment = Attachment(
        group=group,
        uploader=actor.user,
        kind=prepared.kind,
        name=prepared.name,
        content_type=prepared.content_type,
        size=len(prepared.data),
        sha256=prepared.sha256,
        stored_name=stored_name,
        thumbnail_name=thumbnail_name,
        width=prepared.width,
        height=prepared.height,
    )
    try:
        return _message_create(
            actor, group, body=caption, client_msg_id=client_msg_id, verdict=verdict, attachment=attachment
        )
    except BaseException:
        attachments.discard(stored_name, thumbnail_name)
        raise


def _valid_client_msg_id(client_msg_id: str) -> str:
    """The client's id of a message, checked before it reaches any query (``codes.client_msg_id_clean``)."""
    cleaned = codes.client_msg_id_clean(client_msg_id)
    if cleaned is None:
        raise ValidationError(
            _("A client message id of 1 to 64 printable characters is required."),
            code="client_msg_id_invalid",
        )
    return cleaned


def _message_create(
    actor: Actor, group: ChatGroup, *, body: str, client_msg_id: str, verdict, attachment=None
) -> tuple[Message, bool]:
    """Record a screened message (with its attachment, if any) and publish it after commit."""
    membership_role = _sender_role(actor.user, group)
    # R10.1 screening, or R5.1 an emergency hold on the group's category.
    held = verdict.held or policies.emergency_holds_messages(group)
    # Read before the group's row is locked for the sequence number: a large group's other senders wait
    # only for the insert.
    mentioned = [] if held else _mentioned_members(group, body, actor.user)
    message = Message(
        group=group,
        sender=actor.user,
        client_msg_id=client_msg_id,
        body=body,
        # R10.1: a held message is kept for its author and the reviewers; the group sees nothing.
        status=MessageStatus.HELD if held else MessageStatus.VISIBLE,
        screening_evidence_id=verdict.evidence_id,
        mentions=[user_id for user_id, _nickname in mentioned],
        search_text=search.document_lexemes(body),
    )
    # Message metadata goes to the network log (R13.2), not the audit chain: no global lock.
    log_entry = network_log_entry(actor=actor, kind=NetworkLogKind.MESSAGE, group_code=group.code)
    alone = not mentioned and attachment is None  # then the insert is one statement, its own transaction
    try:
        # In turn with the group's other senders in this process (each socket's send may be in a thread of
        # its own): the group's sockets hear its messages in sequence order.
        with in_turn(group_channel(group.pk)), nullcontext() if alone else transaction.atomic():
            if attachment is not None:
                attachment.save()
                message.attachment = attachment
                log_entry.detail = {"attachment": attachment.sha256}
            _message_insert(message, log_entry)
            if message.status == MessageStatus.VISIBLE:
                payload = message_payload(message, sender_role=membership_role)
                publish_on_commit(group_channel(group.pk), message_event(payload))
                _notify_mentioned(actor, group, message, mentioned)
    except IntegrityError:
        existing = _message_by_client_id(actor, group, client_msg_id)  # a concurrent retry won the race
        if existing is None:
            raise
        if attachment is not None:
            attachments.discard(attachment.stored_name, attachment.thumbnail_name)
        return existing, False
    message.sender_role = membership_role
    return message, True


def _mentioned_members(group: ChatGroup, body: str, sender) -> list[tuple[int, str]]:
    """Members named as ``@nickname`` followed by a space, punctuation or the end (longest nickname first,
    so @张伟伟 is not also @张伟; every member of a shared nickname is named)."""
    if "@" not in body:
        return []
    members = (
        Membership.objects.filter(group=group, left_at__isnull=True)
        .exclude(user=sender)
        .exclude(user__nickname="")
        .values_list("user_id", "user__nickname")
    )
    by_nickname: dict[str, list[int]] = {}
    for user_id, nickname in members:
        by_nickname.setdefault(nickname, []).append(user_id)
    found, rest = [], body
    for nickname in sorted(by_nickname, key=len, reverse=True):
        pattern = re.compile(re.escape(f"@{nickname}") + r"(?![^\W_])")
        if pattern.search(rest):
            rest = pattern.sub(" ", rest)
            found.extend((user_id, nickname) for user_id in by_nickname[nickname])
            if len(found) >= settings.CHAT_MENTIONS_MAX:
                break
    return found[: settings.CHAT_MENTIONS_MAX]


def _notify_mentioned(actor: Actor, group: ChatGroup, message: Message, mentioned) -> None:
    if not mentioned:
        return
    users = get_user_model().objects.in_bulk([user_id for user_id, _nickname in mentioned])
    # No excerpt: a notice outlives a recall or a removal, the message's text must not.
    context = {
        "group": group.code,
        "group_name": group.name,
        "who": actor.user.display_name,
        "seq": message.seq,
    }
    for user in users.values():
        notify(actor=actor, recipient=user, kind="chat.mentioned", context=context)


def message_recall(*, actor: Actor, message: Message) -> Message:
    """The sender recalls their message within ``CHAT_RECALL_SECONDS``: members see that it was recalled,
    not what it said; the record and its text stay as evidence for the retention period (R13.2)."""
    policies.require_recall(actor.user, message)
    return _message_hide(
        actor,
        message,
        status=MessageStatus.RECALLED,
        changes={"recalled_at": timezone.now()},
        refusal=PolicyDenied("not_recallable", _("This message can no longer be recalled.")),
        event="recalled",
    )


def _message_hide(
    actor: Actor,
    message: Message,
    *,
    status,
    changes: dict,
    refusal: PolicyDenied,
    event: str,
    reason: str = "",
) -> Message:
    """Hide a shown message (removed or recalled) and keep its record: members get a tombstone in its place
    and lose it from the top if it was pinned. Only one of two hiders at once succeeds."""
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status=MessageStatus.VISIBLE).update(
            status=status, **changes
        )
        if not changed:
            raise refusal
        unpinned = ChatGroup.objects.filter(pk=message.group_id, pinned_message=message).update(
            pinned_message=None
        )
        audit_record(
            actor=actor,
            event_type=f"groups.message_{event}",
            target=message.group,
            reason=reason,
            data={
                "code": message.group.code,
                "message_id": message.pk,
                "seq": message.seq,
                "sender": message.sender_id,
            },
        )
        code, channel = message.group.code, group_channel(message.group_id)
        publish_on_commit(
            channel, {"type": f"chat.{event}", "group": code, "seq": message.seq, "id": message.pk}
        )
        if unpinned:
            publish_on_commit(channel, {"type": "chat.pinned", "group": code, "message": None})
    message.refresh_from_db()
    return message


def membership_mark_read(*, actor: Actor, group: ChatGroup, seq: int) -> int:
    """The member has seen the group up to ``seq`` (never beyond its last message, never backwards);
    their other tabs are told, so the unread badge clears everywhere. Returns the read position."""
    policies.require_view(actor.user, group)
    last = ChatGroup.objects.values_list("last_seq", flat=True).get(pk=group.pk)
    seq = max(0, min(int(seq), last))
    moved = Membership.objects.filter(
        group=group, user=actor.user, left_at__isnull=True, last_read_seq__lt=seq
    ).update(last_read_seq=seq)
    if moved:
        publish_on_commit(user_channel(actor.user.pk), {"type": "chat.read", "group": group.code, "seq": seq})
    return seq


def _require_within_rate(user) -> None:
    """R7.3: messages per minute follow the sender's credit level. The first message opens a one-minute
    window in the shared cache (every process counts together); the refusal says how long to wait."""
    limit = capabilities_for(user).messages_per_minute
    wait = ratelimit.consume(f"chat:rate:{user.pk}", limit=limit, window=60)
    if wait:
        raise PolicyDenied(
            "rate_limited",
            _("At your credit level you may send %(limit)d messages a minute. Wait %(wait)d seconds.")
            % {"limit": limit, "wait": wait},
            retry_after=wait,
        )


def _insert_values(instance, sql_for: dict[str, str]) -> tuple[str, str, list]:
    """Column list, VALUES list and parameters to insert an unsaved ``instance`` (every field as the ORM
    would save it, except those given as SQL in ``sql_for``, by attribute name; a ``%s`` in that SQL
    stands for the field's own value)."""
    columns, values, params = [], [], []
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in sql_for:
            values.append(sql_for[field.attname])
            if "%s" in sql_for[field.attname]:  # the field's own value completes the expression
                params.append(field.get_db_prep_save(getattr(instance, field.attname), connection))
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection))
    return ", ".join(columns), ", ".join(values), params


def _message_insert(message: Message, log_entry) -> None:
    """R13.2, house rule 7: the message and its network-log row in one statement (one round trip). A shown
    message also takes the group's next sequence number (the row lock of that UPDATE serialises the group's
    senders until commit: gapless) and moves the sender's own read position to it (their own message is
    never unread for them); a held one takes no number. A repeated client message id fails the whole
    statement on the unique constraint, so no number is used up."""
    numbered = message.status == MessageStatus.VISIBLE
    if connection.vendor != "postgresql":  # no data-modifying WITH: the same steps, one transaction
        _message_insert_portable(message, log_entry, numbered=numbered)
        return
    seq_sql = "(SELECT last_seq FROM next_seq)" if numbered else "NULL"
    message_columns, message_values, message_params = _insert_values(message, {"seq": seq_sql})
    log_columns, log_values, log_params = _insert_values(
        log_entry,
        {
            "message_id": "(SELECT id FROM new_message)",
            "detail": "(SELECT jsonb_build_object('seq', seq, 'status', status) FROM new_message) || %s",
        },
    )
    groups, messages = ChatGroup._meta.db_table, Message._meta.db_table
    memberships, logs = Membership._meta.db_table, log_entry._meta.db_table
    # Table and column names from the models; every value a parameter.
    parts, params = [], []
    if numbered:
        next_seq = f"UPDATE {groups} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"  # noqa: S608
        parts.append(f"next_seq AS ({next_seq})")
        params.append(message.group_id)
    insert = f"INSERT INTO {messages} ({message_columns}) VALUES ({message_values})"  # noqa: S608
    parts.append(f"new_message AS ({insert} RETURNING id, seq, status)")
    params += message_params
    parts.append(f"new_log AS (INSERT INTO {logs} ({log_columns}) VALUES ({log_values}))")  # noqa: S608
    params += log_params
    if numbered:
        read = "(SELECT seq FROM new_message)"
        own_read = f"UPDATE {memberships} SET last_read_seq = {read} WHERE group_id = %s AND user_id = %s"  # noqa: S608
        parts.append(f"own_read AS ({own_read} AND last_read_seq < {read})")
        params += [message.group_id, message.sender_id]
    sql = "WITH " + ", ".join(parts) + " SELECT id, seq FROM new_message"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        message.pk, message.seq = cursor.fetchone()
    message._state.adding = False


def _message_insert_portable(message: Message, log_entry, *, numbered: bool) -> None:
    with transaction.atomic():
        if numbered:
            ChatGroup.objects.filter(pk=message.group_id).update(last_seq=F("last_seq") + 1)
            message.seq = ChatGroup.objects.values_list("last_seq", flat=True).get(pk=message.group_id)
        message.save(force_insert=True)
        log_entry.message_id = message.pk
        log_entry.detail = {**log_entry.detail, "seq": message.seq, "status": message.status}
        log_entry.save(force_insert=True)
        if numbered:
            Membership.objects.filter(
                group_id=message.group_id, user_id=message.sender_id, last_read_seq__lt=message.seq
            ).update(last_read_seq=message.seq)


def _sender_role(user, group: ChatGroup) -> str | None:
    """The sender's role, from the membership read with the group when the socket's send loaded it."""
    loaded = group.__dict__.get("viewer_membership")
    if loaded is not None and loaded.user_id == user.pk:
        return loaded.role
    return Membership.objects.filter(group=group, user=user).values_list("role", flat=True).first()


def _require_slow_mode(user, group: ChatGroup) -> None:
    """R9.2: in slow mode a member waits between messages; the owner and admins do not."""
    if not group.slow_mode_seconds:
        return
    role = _sender_role(user, group)
    if role in (Role.OWNER, Role.ADMIN):
        return
    key = f"chat:slow:{group.pk}:{user.pk}"
    now = time.time()
    if not cache.add(key, now, group.slow_mode_seconds):
        wait = max(1, int(group.slow_mode_seconds - (now - (cache.get(key) or now))) + 1)
        raise PolicyDenied(
            "slow_mode",
            _("Slow mode: wait %(wait)d seconds before your next message.") % {"wait": wait},
            retry_after=wait,
        )


def _message_by_client_id(actor: Actor, group: ChatGroup, client_msg_id: str) -> Message | None:
    repeated = group.__dict__.get("repeated_message")  # (client message id, earlier message id or None)
    if repeated is not None and repeated[0] == client_msg_id and repeated[1] is None:
        return None  # the send's own query found no earlier message with this id
    existing = (
        Message.objects.select_related("sender", "group", "attachment")
        .filter(sender=actor.user, client_msg_id=client_msg_id)
        .first()
    )
    if existing is not None and existing.group_id != group.pk:
        raise ValidationError(
            _("This client message id was already used in another group."), code="client_msg_id_reused"
        )
    if existing is not None:
        existing.sender_role = _sender_role(actor.user, group)
    return existing


__all__ = [
    "group_create",
    "group_invite_reset",
    "membership_appoint_admin",
    "membership_join",
    "membership_leave",
    "membership_mark_read",
    "message_recall",
    "message_send",
    "message_send_file",
]


# --- management powers (R9.2) and roles (R8.6) ------------------------------------------------------


def _member_event(group: ChatGroup, user, event: str, **extra) -> None:
    publish_on_commit(
        group_channel(group.pk),
        {
            "type": "chat.member",
            "event": event,
            "group": group.code,
            "user": {"id": user.pk, "nickname": user.display_name},
            **extra,
        },
    )


def _reason(reason: str, *, required: bool = False) -> str:
    reason = (reason or "").strip()[:200]
    if required and not reason:
        raise ValidationError(_("Give a reason; the member is told."), code="reason_required")
    return reason


MUTE_MAX = timedelta(days=30)


def membership_mute(*, actor: Actor, group: ChatGroup, member, minutes: int, reason: str = "") -> Membership:
    """R9.2: mute a member for a period (at most 30 days); their next send is refused with ``muted`` until
    the end, through every door; they are told, with the end time."""
    policies.require_moderate_member(actor.user, group, member)
    if not isinstance(minutes, int) or not 1 <= minutes <= MUTE_MAX // timedelta(minutes=1):
        raise ValidationError(_("A mute lasts from one minute to 30 days."), code="mute_length")
    reason = _reason(reason)
    until = timezone.now() + timedelta(minutes=minutes)
    with transaction.atomic():
        Membership.objects.filter(group=group, user=member, left_at__isnull=True).update(
            muted_until=until, mute_reason=reason
        )
        audit_record(
            actor=actor,
            event_type="groups.member_muted",
            target=group,
            reason=reason,
            data={"code": group.code, "user_id": member.pk, "until": until.isoformat()},
        )
        notify(
            actor=actor,
            recipient=member,
            kind="group.muted",
            context={
                "group": group.code,
                "group_name": group.name,
                "until": f"{timezone.localtime(until):%Y-%m-%d %H:%M}",
                "reason": reason,
            },
        )
        _member_event(group, member, "muted", until=until.isoformat())
    return Membership.objects.get(group=group, user=member)


def membership_unmute(*, actor: Actor, group: ChatGroup, member) -> None:
    """R9.2: lift a mute before it ends; the member is told (nothing happens if they were not muted)."""
    policies.require_moderate_member(actor.user, group, member)
    with transaction.atomic():
        lifted = Membership.objects.filter(
            group=group, user=member, left_at__isnull=True, muted_until__gt=timezone.now()
        ).update(muted_until=None, mute_reason="")
        if not lifted:
            return
        audit_record(
            actor=actor,
            event_type="groups.member_unmuted",
            target=group,
            data={"code": group.code, "user_id": member.pk},
        )
        notify(
            actor=actor,
            recipient=member,
            kind="group.unmuted",
            context={"group": group.code, "group_name": group.name, "who": actor.user.display_name},
        )
        _member_event(group, member, "unmuted")


def membership_remove(
    *,
    actor: Actor,
    group: ChatGroup,
    member,
    reason: str = "",
    bar_days: int | None = None,
    bar: bool = False,
) -> None:
    """R9.2: remove a member; optionally bar them from rejoining (for ``bar_days``, or for good). Their open
    sockets leave the group at once."""
    policies.require_moderate_member(actor.user, group, member)
    reason = _reason(reason)
    if bar and bar_days is not None and (not isinstance(bar_days, int) or not 1 <= bar_days <= 36_500):
        raise ValidationError(_("Bar for 1 to 36,500 days, or for good."), code="bar_days")
    with transaction.atomic():
        Membership.objects.filter(group=group, user=member, left_at__isnull=True).update(
            left_at=timezone.now(), role=Role.MEMBER, muted_until=None
        )
        remove_perm(MANAGE_PERMISSION, member, group)
        until = None
        if bar:
            until = timezone.now() + timedelta(days=bar_days) if bar_days else None
            GroupBan.objects.create(
                group=group, user=member, until=until, reason=reason, created_by=actor.user
            )
        audit_record(
            actor=actor,
            event_type="groups.member_removed",
            target=group,
            reason=reason,
            data={
                "code": group.code,
                "user_id": member.pk,
                "barred": bar,
                "barred_until": until.isoformat() if until else None,
            },
        )
        notify(
            actor=actor,
            recipient=member,
            kind="group.removed",
            context={"group": group.code, "group_name": group.name, "reason": reason},
        )
        publish_on_commit(
            user_channel(member.pk), {"type": "membership.left", "group": _group_summary(group)}
        )
        _member_event(group, member, "removed")


def membership_dismiss_admin(*, actor: Actor, group: ChatGroup, member) -> Membership:
    """R8.6, R9.2: the owner dismisses an admin; the management right goes at once."""
    policies.require_own_action(actor.user, group)
    with transaction.atomic():
        changed = Membership.objects.filter(
            group=group, user=member, role=Role.ADMIN, left_at__isnull=True
        ).update(role=Role.MEMBER)
        if not changed:
            raise PolicyDenied("not_admin", _("This member is not an admin."))
        remove_perm(MANAGE_PERMISSION, member, group)
        audit_record(
            actor=actor,
            event_type="groups.admin_dismissed",
            target=group,
            data={"code": group.code, "user_id": member.pk},
        )
        notify(
            actor=actor,
            recipient=member,
            kind="group.role_changed",
            context={"group": group.code, "group_name": group.name, "role": "Member"},
        )
    return Membership.objects.get(group=group, user=member)


def group_transfer_ownership(*, actor: Actor, group: ChatGroup, member) -> None:
    """R8.6: the owner hands the group to a member, who must be allowed to own one more group; the
    former owner stays as an admin."""
    policies.require_own_action(actor.user, group)
    target = Membership.objects.filter(group=group, user=member, left_at__isnull=True).first()
    if target is None or member.pk == actor.user.pk:
        raise PolicyDenied("not_member", _("Choose another member of the group."))
    policies.can_create_group(member).require()  # their owned-groups cap and standing
    with transaction.atomic():
        _lock_user(member)  # racing creates or transfers to the same person see each other
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        policies.require_own_action(actor.user, group)  # a second transfer at once finds a new owner
        if not Membership.objects.filter(group=group, user=member, left_at__isnull=True).exists():
            raise PolicyDenied("not_member", _("Choose another member of the group."))
        policies.can_create_group(member).require()
        Membership.objects.filter(group=group, user=member).update(role=Role.OWNER)
        Membership.objects.filter(group=group, user=actor.user).update(role=Role.ADMIN)
        assign_perm(MANAGE_PERMISSION, member, group)
        audit_record(
            actor=actor,
            event_type="groups.ownership_transferred",
            target=group,
            data={"code": group.code, "from": actor.user.pk, "to": member.pk},
        )
        notify(
            actor=actor,
            recipient=member,
            kind="group.role_changed",
            context={"group": group.code, "group_name": group.name, "role": "Owner"},
        )
        notify(
            actor=actor,
            recipient=actor.user,
            kind="group.role_changed",
            context={"group": group.code, "group_name": group.name, "role": "Admin"},
        )


def group_dissolve(*, actor: Actor, group: ChatGroup, reason: str = "") -> ChatGroup:
    """R8.6: the owner dissolves the group; its records stay for their retention period."""
    policies.require_own_action(actor.user, group)
    reason = _reason(reason)
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        group.status, group.dissolved_at = GroupStatus.DISSOLVED, timezone.now()
        group.save(update_fields=["status", "dissolved_at"])
        audit_record(
            actor=actor, event_type="groups.dissolved", target=group, reason=reason, data={"code": group.code}
        )
        notify_group(
            actor=actor,
            group_id=group.pk,
            group_key=group.code,
            kind="group.dissolved",
            context={"group_name": group.name, "reason": reason},
        )
    return group


def group_settings_update(
    *,
    actor: Actor,
    group: ChatGroup,
    name: str | None = None,
    description: str | None = None,
    rules_text: str | None = None,
    join_mode: str | None = None,
    slow_mode_seconds: int | None = None,
    announcement_only: bool | None = None,
) -> ChatGroup:
    """R9.2, R9.1: the owner and admins edit the group's name, description and rules (screened), how
    people join (among what its category and tier allow), slow mode and announcement-only mode. A new
    name, description or rules is publishing (``require_publish_in_group``)."""
    policies.require_manage(actor.user, group)
    texts = {"name": name, "description": description, "rules_text": rules_text}
    if any(isinstance(v, str) and v.strip() != getattr(group, k) for k, v in texts.items()):
        policies.require_publish_in_group(actor.user, group)
    changes = {}
    if name is not None:
        changes["name"] = _clean_text(name, field="name", label=_("Group name"), max_length=40, name=True)
        _require_screened(actor, changes["name"], kind="group_name", group_code=group.code)
    if description is not None:
        changes["description"] = _clean_text(
            description, field="description", label=_("Description"), max_length=500, required=False
        )
        _require_screened(actor, changes["description"], kind="group_description", group_code=group.code)
    if rules_text is not None:
        changes["rules_text"] = _clean_text(
            rules_text, field="rules", label=_("Group rules"), max_length=2000, required=False
        )
        _require_screened(actor, changes["rules_text"], kind="group_rules", group_code=group.code)
    if join_mode is not None and join_mode != group.join_mode:
        if join_mode not in selectors.group_rules(group).join_modes:
            raise ValidationError(
                _("This way of joining is not open to the group's category and size."), code="join_mode"
            )
        changes["join_mode"] = join_mode
    if slow_mode_seconds is not None:
        if not isinstance(slow_mode_seconds, int) or not 0 <= slow_mode_seconds <= 3600:
            raise ValidationError(_("Slow mode is from 0 to 3600 seconds."), code="slow_mode")
        changes["slow_mode_seconds"] = slow_mode_seconds
    if announcement_only is not None:
        changes["announcement_only"] = bool(announcement_only)
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        before = {field: getattr(group, field) for field in changes}
        changed = {field: value for field, value in changes.items() if before[field] != value}
        if not changed:
            return group
        for field, value in changed.items():
            setattr(group, field, value)
        group.save(update_fields=list(changed))
        audit_record(
            actor=actor,
            event_type="groups.settings_changed",
            target=group,
            data={"code": group.code, "before": {f: before[f] for f in changed}, "after": changed},
        )
    return group


def group_announcement_set(*, actor: Actor, group: ChatGroup, text: str) -> ChatGroup:
    """R9.2: the owner and admins set the announcement (screened); every member is told, with one notice
    for the whole group. Saving the same text again changes nothing and tells nobody."""
    policies.require_manage(actor.user, group)
    if isinstance(text, str) and text.strip():  # clearing it is always allowed
        policies.require_publish_in_group(actor.user, group)
    text = _clean_text(text, field="announcement", label=_("Announcement"), max_length=1000, required=False)
    _require_screened(actor, text, kind="group_announcement", group_code=group.code)
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        if group.announcement == text:
            return group
        group.announcement, group.announcement_at = text, timezone.now() if text else None
        group.save(update_fields=["announcement", "announcement_at"])
        audit_record(
            actor=actor,
            event_type="groups.announcement_set",
            target=group,
            data={"code": group.code, "text": text},
        )
        if text:
            notify_group(
                actor=actor,
                group_id=group.pk,
                group_key=group.code,
                kind="group.announcement",
                context={"group_name": group.name, "text": text[:200]},
            )
    return group


def messages_purge_expired(
    *, actor: Actor, cutoff, held_users, held_groups, batch_size=5_000, progress=None
) -> int:
    """R13.2: removed and recalled messages past their retention period (``removed_messages``) lose their
    text and their picture or file (the stored bytes are deleted); the tombstone, its number and the file's
    name, size and SHA-256 stay. A legal hold on the sender or the group keeps them whole. Registered with
    the audit app's retention job."""
    expired = (
        Message.objects.filter(
            Q(status=MessageStatus.REMOVED, removed_at__lt=cutoff)
            | Q(status=MessageStatus.RECALLED, recalled_at__lt=cutoff)
        )
        .filter(Q(purged_at__isnull=True))
        .exclude(sender_id__in=held_users)
        .exclude(group__code__in=held_groups)
    )
    removed = 0
    while batch := list(expired.select_related("attachment").order_by("pk")[:batch_size]):
        files = [
            name
            for message in batch
            if message.attachment_id
            for name in (message.attachment.stored_name, message.attachment.thumbnail_name)
            if name
        ]
        ids = [message.pk for message in batch]
        with transaction.atomic():
            Message.objects.filter(pk__in=ids).update(
                body="", search_text="", mentions=[], purged_at=timezone.now()
            )
            Attachment.objects.filter(message__pk__in=ids).update(stored_name="", thumbnail_name="")
            audit_record(
                actor=actor,
                event_type="groups.messages_purged",
                data={"count": len(ids), "files": len(files), "first_id": ids[0], "last_id": ids[-1]},
            )
        attachments.discard(*files)  # after the commit: a failed purge leaves the files in place
        removed += len(ids)
        if progress:
            progress(removed)
    return removed


def message_remove(*, actor: Actor, message: Message, reason: str = "") -> Message:
    """R9.2, house rule 8: an admin removes a message; members see that it was removed, the record and
    its text stay as evidence for the retention period."""
    policies.require_remove_message(actor.user, message)
    reason = _reason(reason)
    return _message_hide(
        actor,
        message,
        status=MessageStatus.REMOVED,
        changes={"removed_at": timezone.now(), "removed_by": actor.user, "removal_reason": reason},
        refusal=PolicyDenied("not_removable", _("This message is not shown, so it cannot be removed.")),
        event="removed",
        reason=reason,
    )


def join_request_create(
    *, actor: Actor, group: ChatGroup, message: str = "", accept_rules: bool = False
) -> JoinRequest:
    """R8.5, R9.1: ask to join; the group's rules are shown first and accepted; the owner and admins are
    told."""
    policies.require_request_join(actor.user, group)
    if group.rules_text and not accept_rules:
        raise ValidationError(_("Please read and accept the group's rules."), code="rules_not_accepted")
    message = _clean_text(message, field="message", label=_("Message"), max_length=200, required=False)
    with transaction.atomic():
        request, created = JoinRequest.objects.get_or_create(
            group=group, user=actor.user, status=JoinRequestStatus.PENDING, defaults={"message": message}
        )
        if created:
            audit_record(
                actor=actor,
                event_type="groups.join_requested",
                target=group,
                data={"code": group.code, "user_id": actor.user.pk},
            )
            for manager in selectors.group_managers(group):
                notify(
                    actor=actor,
                    recipient=manager,
                    kind="group.join_requested",
                    context={"group": group.code, "group_name": group.name, "who": actor.user.display_name},
                )
    return request


def join_request_decide(*, actor: Actor, join_request: JoinRequest, approve: bool) -> JoinRequest:
    """R8.5: the owner or an admin approves or declines; an approval checks every cap again, under the
    group's lock, as any other way in does."""
    group = join_request.group
    policies.require_manage(actor.user, group)
    with transaction.atomic():
        _lock_user(join_request.user)  # always the person first, then the group: one lock order
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        join_request = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
        if join_request.status != JoinRequestStatus.PENDING:
            raise PolicyDenied("already_decided", _("This request has already been decided."))
        if approve:
            policies.can_request_join(join_request.user, group).require()
            _membership_add(group, join_request.user, rules_accepted=True)
        join_request.status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.DECLINED
        join_request.decided_by, join_request.decided_at = actor.user, timezone.now()
        join_request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            event_type="groups.join_request_approved" if approve else "groups.join_request_declined",
            target=group,
            data={"code": group.code, "user_id": join_request.user_id},
        )
        notify(
            actor=actor,
            recipient=join_request.user,
            kind="group.join_decided",
            context={
                "group": group.code,
                "group_name": group.name,
                "outcome": "approved" if approve else "declined",
            },
        )
    return join_request


def _membership_add(group: ChatGroup, user, *, rules_accepted: bool) -> Membership:
    """Inside the caller's transaction, with the group row locked. The history before the join is not
    unread for the newcomer."""
    membership, created = Membership.objects.select_for_update().get_or_create(
        group=group, user=user, defaults={"role": Role.MEMBER, "last_read_seq": group.last_seq}
    )
    if not created:
        Membership.objects.filter(pk=membership.pk).update(
            left_at=None,
            role=Role.MEMBER,
            joined_at=timezone.now(),
            muted_until=None,
            last_read_seq=group.last_seq,
        )
    if rules_accepted:
        Membership.objects.filter(pk=membership.pk).update(rules_accepted_at=timezone.now())
    publish_on_commit(user_channel(user.pk), {"type": "membership.joined", "group": _group_summary(group)})
    _member_event(group, user, "joined")
    return membership


def invitation_create(*, actor: Actor, group: ChatGroup, invitee) -> Invitation | Membership:
    """R8.5: invite someone. While the group is small (its tier does not ask for confirmation) they are
    added at once and told; above that size the invitation waits for them to confirm it."""
    policies.require_invite(actor.user, group, invitee)
    with transaction.atomic():
        _lock_user(invitee)
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        policies.require_invite(actor.user, group, invitee)
        rules = selectors.group_rules(group)
        context = {"group": group.code, "group_name": group.name, "who": actor.user.display_name}
        if not rules.invite_needs_confirmation:
            membership = _membership_add(group, invitee, rules_accepted=False)
            audit_record(
                actor=actor,
                event_type="groups.member_joined",
                target=group,
                data={"code": group.code, "user_id": invitee.pk, "via": "invitation", "by": actor.user.pk},
            )
            notify(actor=actor, recipient=invitee, kind="group.added", context=context)
            return membership
        invitation, created = Invitation.objects.get_or_create(
            group=group, invitee=invitee, status=InvitationStatus.PENDING, defaults={"inviter": actor.user}
        )
        if created:
            audit_record(
                actor=actor,
                event_type="groups.invitation_sent",
                target=group,
                data={"code": group.code, "user_id": invitee.pk},
            )
            notify(actor=actor, recipient=invitee, kind="group.invited", context=context)
    return invitation


def invitation_respond(
    *, actor: Actor, invitation: Invitation, accept: bool, accept_rules: bool = False
) -> Invitation:
    """R8.5, R9.1: the invitee confirms (after accepting the group's rules, if any) or declines; caps are
    checked again at that moment."""
    if invitation.invitee_id != actor.user.pk:
        raise PolicyDenied("not_yours", _("This invitation is for someone else."))
    with transaction.atomic():
        _lock_user(actor.user)
        group = ChatGroup.objects.select_for_update().get(pk=invitation.group_id)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise PolicyDenied("already_answered", _("This invitation has already been answered."))
        if accept:
            if group.rules_text and not accept_rules:
                raise ValidationError(
                    _("Please read and accept the group's rules."), code="rules_not_accepted"
                )
            policies.require_accept_invitation(actor.user, group)
            _membership_add(group, actor.user, rules_accepted=accept_rules)
        invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
        invitation.answered_at = timezone.now()
        invitation.save(update_fields=["status", "answered_at"])
        audit_record(
            actor=actor,
            event_type="groups.invitation_accepted" if accept else "groups.invitation_declined",
            target=group,
            data={"code": group.code, "user_id": actor.user.pk, "inviter": invitation.inviter_id},
        )
    return invitation


def group_activity_compute(*, actor: Actor) -> int:
    """R7.1: every group's activity level from its last seven days of messages (a daily job; running it
    again the same day gives the same result)."""
    from django.db.models import Count, Q

    since = timezone.now() - timedelta(days=7)
    thresholds = settings.GROUP_ACTIVITY_THRESHOLDS  # ascending: (level, messages in 7 days)
    counts = ChatGroup.objects.annotate(
        recent=Count(
            "messages", filter=Q(messages__created_at__gte=since, messages__status=MessageStatus.VISIBLE)
        )
    ).values_list("pk", "recent")
    changed = 0
    with transaction.atomic():
        for pk, recent in counts.iterator():
            level = thresholds[0][0]
            for name, minimum in thresholds:
                if recent >= minimum:
                    level = name
            changed += (
                ChatGroup.objects.filter(pk=pk)
                .exclude(activity_level=level, activity_messages_7d=recent)
                .update(activity_level=level, activity_messages_7d=recent)
            )
        audit_record(actor=actor, event_type="groups.activity_computed", data={"changed": changed})
    return changed


def message_pin(*, actor: Actor, message: Message | None, group: ChatGroup) -> ChatGroup:
    """R9.2: the owner and admins pin a message for everyone (``None`` unpins; pinning is publishing)."""
    policies.require_manage(actor.user, group)
    if message is not None:
        policies.require_publish_in_group(actor.user, group)
    not_pinnable = PolicyDenied("not_pinnable", _("Only a message shown in this group can be pinned."))
    if message is not None and message.group_id != group.pk:
        raise not_pinnable
    with transaction.atomic():
        if message is not None:  # locked and read again: a recall or removal at this moment wins
            message = (
                Message.objects.select_for_update(of=("self",))
                .select_related("group", "sender")
                .filter(pk=message.pk, status=MessageStatus.VISIBLE)
                .first()
            )
            if message is None:
                raise not_pinnable
        ChatGroup.objects.filter(pk=group.pk).update(pinned_message=message)
        audit_record(
            actor=actor,
            event_type="groups.message_pinned" if message else "groups.message_unpinned",
            target=group,
            data={"code": group.code, "message_id": message.pk if message else None},
        )
        publish_on_commit(
            group_channel(group.pk),
            {
                "type": "chat.pinned",
                "group": group.code,
                "message": message_payload(message) if message else None,
            },
        )
    group.refresh_from_db()
    return group


# --- platform measures on groups (R11.1) ------------------------------------------------------------


def _restrictions_apply(group: ChatGroup, reopen_as: str = GroupStatus.ACTIVE) -> None:
    """Bring the group's own fields in line with its restriction rows (inside the caller's transaction,
    with the group locked): the end of the longest posting suspension in force, and the closure. A group
    no longer closed goes back to ``reopen_as`` (the status it had before the closure)."""
    now = timezone.now()
    in_force = GroupRestriction.objects.filter(group=group, lifted_at__isnull=True)

    def latest_end(kind):
        return (
            in_force.filter(kind=kind, until__gt=now)
            .order_by("-until")
            .values_list("until", flat=True)
            .first()
        )

    closed = in_force.filter(kind=GroupRestrictionKind.CLOSED).exists()
    changes = {
        "posting_suspended_until": latest_end(GroupRestrictionKind.POST),
        "rectify_by": latest_end(GroupRestrictionKind.WARNING),
    }
    if closed and group.status in (GroupStatus.ACTIVE, GroupStatus.PENDING_REVIEW):
        changes.update(status=GroupStatus.CLOSED, closed_at=now)
    elif not closed and group.status == GroupStatus.CLOSED:
        changes.update(status=reopen_as, closed_at=None)
    for field, value in changes.items():
        setattr(group, field, value)
    group.save(update_fields=list(changes))


def group_restriction_add(
    *, actor: Actor, group: ChatGroup, kind: str, until=None, reason: str = "", reason_ref: str = ""
) -> GroupRestriction:
    """R11.1: record a measure on a group and enforce it at once: a warning with its rectification
    deadline (``until``; a banner in the group's pages until then), a posting suspension until a time
    (``can_post`` refuses everyone, through every door, until then), or a closure (no end: the group is
    read-only at once, hidden from lists and closed to joins; its records stay). Moderation decides and
    tells the people concerned."""
    policies.require_restrict_group(actor)
    if kind not in GroupRestrictionKind.values:
        raise ValidationError(_("Unknown kind of group restriction."), code="kind_invalid")
    if kind == GroupRestrictionKind.CLOSED:
        until = None
    elif until is None:
        raise ValidationError(
            _("A warning or a posting suspension needs an end time."), code="until_required"
        )
    reason = _clean_text(reason, field="reason", label=_("Reason"), max_length=300, required=False)
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=group.pk)
        restriction = GroupRestriction.objects.create(
            group=group,
            kind=kind,
            until=until,
            reason=reason,
            reason_ref=reason_ref[:80],
            created_by=actor.user if actor.is_authenticated else None,
        )
        _restrictions_apply(group)
        audit_record(
            actor=actor,
            event_type="groups.restriction_added",
            target=group,
            reason=reason,
            data={
                "code": group.code,
                "restriction": restriction.pk,
                "kind": kind,
                "until": until.isoformat() if until else None,
                "reason_ref": reason_ref,
                "status": group.status,
            },
        )
    return restriction


def group_restriction_lift(
    *, actor: Actor, restriction: GroupRestriction, reason: str = "", reopen_as: str = GroupStatus.ACTIVE
) -> bool:
    """R11.1: end a measure on a group before its time (an appeal upheld): a lifted closure opens the
    group again, in the status it had before (``reopen_as``: active, or still waiting for its creation
    review, R8.4). The row stays, with ``lifted_at``. Returns False when it was already lifted."""
    policies.require_restrict_group(actor)
    if reopen_as not in (GroupStatus.ACTIVE, GroupStatus.PENDING_REVIEW):
        raise ValidationError(
            _("A closed group reopens as active or waiting for review."), code="status_invalid"
        )
    with transaction.atomic():
        group = ChatGroup.objects.select_for_update().get(pk=restriction.group_id)
        lifted = GroupRestriction.objects.filter(pk=restriction.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
        if lifted:
            _restrictions_apply(group, reopen_as=reopen_as)
            audit_record(
                actor=actor,
                event_type="groups.restriction_lifted",
                target=group,
                reason=(reason or "")[:300],
                data={
                    "code": group.code,
                    "restriction": restriction.pk,
                    "kind": restriction.kind,
                    "reason_ref": restriction.reason_ref,
                    "status": group.status,
                },
            )
    return bool(lifted)


# --- compliance review of messages (R10.1, R12.1) ------------------------------------------------------


def message_review_decide(*, actor: Actor, message: Message, release: bool, reason: str = "") -> Message:
    """R10.1: compliance staff decide a message held by screening. Released, it takes the group's next
    sequence number and reaches the group as any new message does (after commit, with its @mentions told);
    removed, it stays hidden as evidence (house rule 8) and takes no place in the group's sequence. The
    author is told either way. Only one of two reviewers deciding at once succeeds."""
    policies.require_review_messages(actor.user)
    if message.sender_id == actor.user_id:  # R10.1: a second person decides
        raise PolicyDenied("own_matter", _("Nobody decides a matter about themselves or a group they run."))
    reason = _reason(reason)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("group", "sender", "attachment")
            .filter(pk=message.pk)
            .first()
        )
        if message is None or message.status != MessageStatus.HELD:
            raise PolicyDenied("not_held", _("This message is no longer held for review."))
        group = message.group
        if release:
            if group.status != GroupStatus.ACTIVE:
                raise PolicyDenied(
                    "group_inactive", _("The group is not active, so the message can only be removed.")
                )
            may_post = policies.can_post(message.sender, group)  # R11: the sanctions in force now
            if not may_post:
                raise PolicyDenied(
                    "sender_cannot_post",
                    _(
                        "The author cannot post in this group now (%(why)s), so the message can only be "
                        "removed."
                    )
                    % {"why": may_post.reason},
                )
            mentioned = _mentioned_members(group, message.body, message.sender)
            ChatGroup.objects.filter(pk=group.pk).update(last_seq=F("last_seq") + 1)  # the row lock: gapless
            message.seq = ChatGroup.objects.values_list("last_seq", flat=True).get(pk=group.pk)
            message.status = MessageStatus.VISIBLE
            message.mentions = [user_id for user_id, _nickname in mentioned]
            message.save(update_fields=["seq", "status", "mentions"])
            Membership.objects.filter(
                group=group, user_id=message.sender_id, last_read_seq__lt=message.seq
            ).update(last_read_seq=message.seq)
            role = _sender_role(message.sender, group)
            publish_on_commit(
                group_channel(group.pk), message_event(message_payload(message, sender_role=role))
            )
            users = get_user_model().objects.in_bulk([user_id for user_id, _nickname in mentioned])
            for user in users.values():
                notify(
                    actor=actor,
                    recipient=user,
                    kind="chat.mentioned",
                    context={
                        "group": group.code,
                        "group_name": group.name,
                        "who": message.sender.display_name,
                        "seq": message.seq,
                    },
                )
        else:
            message.status = MessageStatus.REMOVED
            message.removed_at, message.removed_by, message.removal_reason = (
                timezone.now(),
                actor.user,
                reason,
            )
            message.save(update_fields=["status", "removed_at", "removed_by", "removal_reason"])
        audit_record(
            actor=actor,
            event_type="groups.held_message_released" if release else "groups.held_message_removed",
            target=group,
            reason=reason,
            data={
                "code": group.code,
                "message_id": message.pk,
                "seq": message.seq,
                "sender": message.sender_id,
                "screening_evidence": message.screening_evidence_id,
            },
        )
        notify(
            actor=actor,
            recipient=message.sender,
            kind="group.message_reviewed",
            context={
                "group": group.code,
                "group_name": group.name,
                "outcome": "released" if release else "removed",
                "note": reason,
            },
        )
    return message


def message_takedown(*, actor: Actor, message: Message, reason: str = "") -> Message:
    """R12.1, house rule 8: compliance staff take down a shown message reported to the platform; members
    see that it was removed, the record and its text stay as evidence for the retention period. Never
    their own message: nobody records a measure about themselves (R12.1)."""
    policies.require_review_messages(actor.user)
    if message.sender_id == actor.user_id:  # R12.1: a second person decides
        raise PolicyDenied("own_matter", _("Nobody decides a matter about themselves or a group they run."))
    reason = _reason(reason)
    return _message_hide(
        actor,
        message,
        status=MessageStatus.REMOVED,
        changes={"removed_at": timezone.now(), "removed_by": actor.user, "removal_reason": reason},
        refusal=PolicyDenied("not_removable", _("This message is not shown, so it cannot be removed.")),
        event="removed",
        reason=reason,
    )


# --- emergency measures (R5.1) ---------------------------------------------------------------------------

PLATFORM_CHANNEL = "chat.platform"  # every chat socket hears it: system notices


def _emergency_changed(measure: EmergencyMeasure, *, ended: bool) -> None:
    """After commit: this process forgets its memo at once (others within a second), and the sockets
    show or drop a system notice."""
    selectors.emergency_cache_reset()
    if measure.kind == EmergencyKind.NOTICE:
        publish_now(
            PLATFORM_CHANNEL,
            {
                "type": "platform.notice",
                "id": measure.pk,
                "text": "" if ended else measure.notice,
                "until": measure.ends_at.isoformat(),
            },
        )


def emergency_measure_declare(
    *, actor: Actor, kind: str, reason: str, ends_at, categories=(), notice: str = ""
) -> EmergencyMeasure:
    """R5.1: a supervisor throws an emergency switch, with a reason and an end: freeze group creation,
    hold new messages (of the chosen categories of groups, or all) for review, suspend posting in them,
    or broadcast a system notice. It takes effect at once (other server processes within a second)."""
    policies.require_declare_emergency(actor.user)
    if kind not in EmergencyKind.values:
        raise ValidationError(_("Choose a measure."), code="kind_invalid")
    reason = _clean_text(reason, field="reason", label=_("Reason"), max_length=500)
    notice = _clean_text(
        notice, field="notice", label=_("Notice"), max_length=500, required=kind == EmergencyKind.NOTICE
    )
    now = timezone.now()
    if ends_at is None or ends_at <= now:
        raise ValidationError(_("The end must be in the future."), code="ends_at_past")
    longest = timedelta(days=settings.EMERGENCY_MAX_DAYS)
    if ends_at - now > longest:
        raise ValidationError(
            _("An emergency measure lasts at most %(days)d days; declare a new one if it must go on.")
            % {"days": settings.EMERGENCY_MAX_DAYS},
            code="ends_at_too_far",
        )
    chosen = list(categories) if kind in (EmergencyKind.HOLD_MESSAGES, EmergencyKind.SUSPEND_POSTING) else []
    with transaction.atomic():
        measure = EmergencyMeasure.objects.create(
            kind=kind,
            reason=reason,
            notice=notice if kind == EmergencyKind.NOTICE else "",
            starts_at=now,
            ends_at=ends_at,
            created_by=actor.user,
        )
        measure.categories.set(chosen)
        audit_record(
            actor=actor,
            event_type="groups.emergency_declared",
            target=measure,
            data={
                "kind": kind,
                "reason": reason,
                "notice": measure.notice,
                "categories": sorted(c.code for c in chosen),
                "starts_at": now.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
        selectors.emergency_cache_reset()  # and again after commit: this process sees it at once
        transaction.on_commit(lambda: _emergency_changed(measure, ended=False))
    return measure


def emergency_measure_end(*, actor: Actor, measure: EmergencyMeasure, reason: str) -> EmergencyMeasure:
    """R5.1: a supervisor ends a measure before its time, with a reason."""
    policies.require_declare_emergency(actor.user)
    reason = _clean_text(reason, field="end_reason", label=_("Reason"), max_length=500)
    with transaction.atomic():
        measure = EmergencyMeasure.objects.select_for_update().get(pk=measure.pk)
        now = timezone.now()
        if measure.ended_at is not None or measure.ends_at <= now:
            raise ValidationError(_("This measure is no longer in force."), code="not_in_force")
        measure.ended_at, measure.ended_by, measure.end_reason = now, actor.user, reason
        measure.save(update_fields=["ended_at", "ended_by", "end_reason"])
        audit_record(
            actor=actor,
            event_type="groups.emergency_ended",
            target=measure,
            data={"kind": measure.kind, "reason": reason, "ended_at": now.isoformat()},
        )
        selectors.emergency_cache_reset()
        transaction.on_commit(lambda: _emergency_changed(measure, ended=True))
    return measure
