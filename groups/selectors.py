"""Reading groups and messages. Fetch and authorise together: a group one may not see is a 404."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from groups import search
from groups.codes import group_code_is_valid, group_code_normalise
from groups.models import (
    ChatGroup,
    EmergencyKind,
    EmergencyMeasure,
    GroupCategory,
    GroupRestriction,
    GroupTier,
    JoinMode,
    Membership,
    Message,
    MessageStatus,
)
from identity.models import AccountRestriction, RestrictionKind


def group_list_for_user(user):
    """The user's groups, most recently active first, with member count and the last message. A group
    closed by the platform is no longer listed (R11.1): its members reach its read-only page by its
    address (from the notice they were sent)."""
    last = Message.objects.filter(group=OuterRef("pk"), status=MessageStatus.VISIBLE).order_by("-seq")
    members = (
        Membership.objects.filter(group=OuterRef("pk"), left_at__isnull=True)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mine = Membership.objects.filter(user=user, left_at__isnull=True).values("group_id")
    read = Membership.objects.filter(group=OuterRef("pk"), user=user).values("last_read_seq")
    return (
        ChatGroup.objects.filter(pk__in=mine)
        .exclude(status="closed")
        .annotate(
            member_count=Subquery(members[:1]),
            last_body=Subquery(last.values("body")[:1]),
            last_attachment=Subquery(last.values("attachment__kind")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            unread=Greatest(F("last_seq") - Coalesce(Subquery(read[:1]), Value(0)), Value(0)),
        )
        .order_by("-last_seq", "-created_at")
    )


def group_restrictions_in_force(group: ChatGroup) -> list:
    """R11.1: the platform's measures on the group in force now (warnings before their rectification
    deadline, posting suspensions before their end, a closure), newest first, for the group's banner. No
    query when the group's own fields show none."""
    now = timezone.now()
    if (
        group.status != "closed"
        and (group.posting_suspended_until is None or group.posting_suspended_until <= now)
        and (group.rectify_by is None or group.rectify_by <= now)
    ):
        return []
    return list(
        GroupRestriction.objects.filter(group=group, lifted_at__isnull=True)
        .filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
        .order_by("-created_at", "-pk")[:10]
    )


def group_ids_for_user(user) -> dict[int, str]:
    """Ids and codes of the user's groups, for subscribing their socket."""
    rows = Membership.objects.filter(user=user, left_at__isnull=True).values_list("group_id", "group__code")
    return dict(rows)


def group_get_for_actor(actor, code: str) -> ChatGroup:
    """The group with ``code`` if the actor is an active member of it; 404 otherwise (no probing)."""
    code = group_code_normalise(code) if isinstance(code, str) else ""
    if not actor.is_authenticated or not group_code_is_valid(code):
        raise Http404
    group = ChatGroup.objects.filter(
        code=code, memberships__user=actor.user, memberships__left_at__isnull=True
    ).first()
    if group is None:
        raise Http404
    return group


def _posting_sql() -> tuple[str, list[str], list[str]]:
    group_columns = [f.column for f in ChatGroup._meta.concrete_fields]
    membership_columns = [f.column for f in Membership._meta.concrete_fields]
    select = ", ".join([f"g.{c}" for c in group_columns] + [f"m.{c}" for c in membership_columns])
    # Table and column names from the models; every value a parameter.
    sql = f"""
        SELECT {select},
          (SELECT x.id FROM {Message._meta.db_table} x
           WHERE x.sender_id = %(user)s AND x.client_msg_id = %(client_msg_id)s) AS existing_id
        FROM {ChatGroup._meta.db_table} g
        JOIN {Membership._meta.db_table} m ON m.group_id = g.id AND m.user_id = %(user)s AND m.left_at IS NULL
        WHERE g.code = %(code)s
    """  # noqa: S608
    return sql, group_columns, membership_columns


_POSTING_SQL: list = []  # built on first use, once the models are loaded


def group_for_posting(actor, code: str, client_msg_id: str) -> ChatGroup:
    """``group_get_for_actor`` for a send, in the same single query: the group with the actor's
    membership (``viewer_membership``) and the id of their earlier message with this client message id
    (``repeated_message``: that id, and the message's id or None): what the publishing policy and the
    send's idempotency need."""
    code = group_code_normalise(code) if isinstance(code, str) else ""
    if not actor.is_authenticated or not group_code_is_valid(code):
        raise Http404
    if not _POSTING_SQL:
        _POSTING_SQL.extend(_posting_sql())
    sql, group_columns, membership_columns = _POSTING_SQL
    client_msg_id = client_msg_id.strip()  # as the send will use it
    params = {"user": actor.user.pk, "code": code, "client_msg_id": client_msg_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Http404
    split = len(group_columns)
    group = ChatGroup.from_db(
        connection.alias, [f.attname for f in ChatGroup._meta.concrete_fields], row[:split]
    )
    membership = Membership.from_db(
        connection.alias,
        [f.attname for f in Membership._meta.concrete_fields],
        row[split : split + len(membership_columns)],
    )
    membership.group = group
    group.viewer_membership = membership
    group.repeated_message = (client_msg_id, row[-1])
    return group


def group_get_by_invite(token: str) -> ChatGroup:
    if (
        not isinstance(token, str)
        or not token.isascii()
        or not token.replace("-", "").replace("_", "").isalnum()
    ):
        raise Http404
    group = ChatGroup.objects.filter(invite_token=token).first()
    if group is None:
        raise Http404
    return group


def group_member_count(group: ChatGroup) -> int:
    return Membership.objects.filter(group=group, left_at__isnull=True).count()


def membership_get(user, group: ChatGroup) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(group=group, user=user, left_at__isnull=True).first()


def membership_list(group: ChatGroup):
    return (
        Membership.objects.filter(group=group, left_at__isnull=True)
        .select_related("user")
        .annotate(rank=Case(When(role="owner", then=0), When(role="admin", then=1), default=2))
        .order_by("rank", "joined_at")
    )


def _with_sender(messages):
    role = Membership.objects.filter(group=OuterRef("group"), user=OuterRef("sender")).values("role")[:1]
    return messages.select_related("sender", "group", "attachment").annotate(sender_role=Subquery(role))


def message_list(group: ChatGroup, *, after: int | None = None, before: int | None = None, limit: int = 50):
    """Messages in sequence order: after a sequence number (resume), or the latest page before one."""
    # Removed and recalled messages stay in the sequence as tombstones (no text), so clients see no gap;
    # held ones have no number until released.
    messages = _with_sender(Message.objects.filter(group=group, seq__isnull=False))
    if after is not None:
        return list(messages.filter(seq__gt=after).order_by("seq")[:limit])
    if before is not None:
        messages = messages.filter(seq__lt=before)
    return list(reversed(messages.order_by("-seq")[:limit]))


HIDDEN_STATUSES = (MessageStatus.REMOVED, MessageStatus.RECALLED)


def message_payload(message: Message, *, sender_role: str | None = None) -> dict:
    """The one shape of a message for sockets, the API and the page script."""
    return {
        "id": message.pk,
        "group": message.group.code,
        "seq": message.seq,
        "client_msg_id": message.client_msg_id,
        "sender": {
            "id": message.sender_id,
            "nickname": message.sender.display_name,
            "role": sender_role or getattr(message, "sender_role", None) or "member",
        },
        # Removed and recalled messages keep their place, not their text (the record keeps it as evidence);
        # a held one is shown to its author only, who sees what they wrote.
        "body": "" if message.status in HIDDEN_STATUSES else message.body,
        "created_at": message.created_at.isoformat(),
        "status": message.status,
        "mentions": [] if message.status in HIDDEN_STATUSES else message.mentions,
        "attachment": attachment_payload(message),
    }


def attachment_payload(message: Message) -> dict | None:
    """The picture or file of a shown message: its addresses lead to the file view, which checks who asks
    before it hands out a short-lived link (so these may be cached, shared in the group, or kept)."""
    if message.attachment_id is None or message.status in HIDDEN_STATUSES:
        return None
    attachment = message.attachment
    return {
        "kind": attachment.kind,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "width": attachment.width,
        "height": attachment.height,
        "url": reverse("attachment", args=[attachment.token]),
        "thumbnail_url": reverse("attachment-thumbnail", args=[attachment.token])
        if attachment.thumbnail_name
        else None,
    }


def attachment_get_for_actor(actor, token: str):
    """The attachment behind ``token`` and its message, if the actor may see it; 404 otherwise (no probing,
    and a former member's or a removed file's link simply stops working)."""
    from groups.policies import can_view_attachment  # policies read selectors; this one reads a policy

    if not isinstance(token, str) or not 16 <= len(token) <= 32:
        raise Http404
    message = (
        Message.objects.filter(attachment__token=token)
        .select_related("attachment", "group", "sender")
        .first()
    )
    if message is None or not can_view_attachment(actor.user, message):
        raise Http404
    return message.attachment, message


def attachment_open_stored(attachment, *, thumbnail: bool = False):
    """The stored file of an attachment, opened for reading, for a reader already authorised elsewhere (an
    inspector within a grant's scope, R13.1); FileNotFoundError when there is none or it was purged."""
    from groups import attachments

    name = attachment.thumbnail_name if thumbnail else attachment.stored_name
    if not name:
        raise FileNotFoundError(attachment.token)
    return attachments.store().open(name, "rb")


def message_event(payload: dict) -> dict:
    """The channel-layer event that carries a new message to its group's sockets: the frame is encoded
    once here, not once per socket (in a group of 500, that is 500 encodings saved per message)."""
    frame = {"type": "message", "group": payload["group"], "message": payload}
    return {
        "type": "chat.message",
        "group": payload["group"],
        "frame": json.dumps(frame, ensure_ascii=False, separators=(",", ":")),
        # The sender's socket holds its own message back until it has sent the ack.
        "sender": (payload.get("sender") or {}).get("id"),
        "client_msg_id": payload.get("client_msg_id"),
    }


def message_get(group: ChatGroup, seq: int) -> Message:
    """A group's message by its sequence number; 404 when there is none."""
    message = (
        Message.objects.filter(group=group, seq=seq).select_related("group", "sender", "attachment").first()
    )
    if message is None:
        raise Http404
    return message


SEARCH_PAGE = 20


SEARCH_RECENT_WINDOW = 5000  # messages read in order before the index is asked


def message_search(group: ChatGroup, text: str, *, before: int | None = None, limit: int = SEARCH_PAGE):
    """Shown messages of the group matching ``text`` (Chinese by character pairs, see groups.search),
    newest first; ``before`` pages back. The embedded SQLite default matches the plain substring.

    On PostgreSQL the latest few thousand messages are read in order first, which answers common words
    at once; only when they hold fewer than a page is the GIN index asked for the rest, which answers
    rare words (and words that are not there) without reading the group's whole history."""
    messages = Message.objects.filter(group=group, status=MessageStatus.VISIBLE).select_related(
        "group", "sender"
    )
    if connection.vendor != "postgresql":
        if not text.strip():
            return []
        messages = messages.filter(body__icontains=text.strip())
        if before is not None:
            messages = messages.filter(seq__lt=before)
        return list(messages.order_by("-seq")[:limit])
    query = search.query_expression(text)
    if not query:
        return []
    last_seq = ChatGroup.objects.values_list("last_seq", flat=True).get(pk=group.pk)  # not the caller's copy
    upper = min(before if before is not None else last_seq + 1, last_seq + 1)
    window_start = max(upper - SEARCH_RECENT_WINDOW, 0)
    matches = RawSQL(
        "groups_message.search_text::tsvector @@ %s::tsquery", [query], output_field=BooleanField()
    )
    found = list(
        messages.filter(seq__lt=upper, seq__gte=window_start)
        .alias(matches=matches)
        .filter(matches=True)
        .order_by("-seq")[:limit]
    )
    if len(found) == limit or window_start == 0:
        return found
    with connection.cursor() as cursor:  # MATERIALIZED: the planner must use the index, not walk the group
        cursor.execute(
            "WITH hits AS MATERIALIZED ("
            " SELECT id, seq FROM groups_message"
            " WHERE search_text::tsvector @@ %s::tsquery AND group_id = %s AND status = %s AND seq < %s)"
            " SELECT id FROM hits ORDER BY seq DESC LIMIT %s",
            [query, group.pk, MessageStatus.VISIBLE, window_start, limit - len(found)],
        )
        older = [row[0] for row in cursor.fetchall()]
    return found + list(messages.filter(pk__in=older).order_by("-seq"))


def pinned_payload(group: ChatGroup) -> dict | None:
    """R9.2: the pinned message as members see it (nothing once it is no longer shown)."""
    message = (
        Message.objects.filter(pk=group.pinned_message_id, status=MessageStatus.VISIBLE)
        .select_related("group", "sender", "attachment")
        .first()
        if group.pinned_message_id
        else None
    )
    return message_payload(message) if message else None


def messages_held_for_author(group: ChatGroup, user) -> list[Message]:
    """R10.1: the author's own messages that screening holds; nobody else in the group sees them."""
    return list(
        _with_sender(
            Message.objects.filter(group=group, sender=user, status=MessageStatus.HELD).order_by("created_at")
        )[:20]
    )


def group_keys_joined(user) -> dict:
    """The user's current groups by code, with when they joined (for group notices). None while the account
    is suspended (R11.2: its groups are closed to it, their notices too), in the same query."""
    suspended = AccountRestriction.objects.filter(
        user=OuterRef("user"), kind=RestrictionKind.SUSPENDED, lifted_at__isnull=True
    ).filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
    return dict(
        Membership.objects.filter(user=user, left_at__isnull=True)
        .exclude(Exists(suspended))
        .values_list("group__code", "joined_at")
    )


@dataclass(frozen=True)
class GroupRules:
    """R7.1, R8.1, R8.5: what applies to a group now, from its category and the tier of its size."""

    tier: GroupTier | None
    member_count: int
    cap: int
    join_modes: tuple
    invite_needs_confirmation: bool
    joiners_must_be_verified: bool
    open_link_allowed: bool

    @property
    def full(self) -> bool:
        return self.member_count >= self.cap


def tier_for(member_count: int) -> GroupTier | None:
    return GroupTier.objects.filter(min_members__lte=member_count).order_by("-min_members").first()


def group_rules(group: ChatGroup, member_count: int | None = None) -> GroupRules:
    count = group_member_count(group) if member_count is None else member_count
    category = group.category
    tier = tier_for(count)
    caps = [settings.GROUP_MAX_MEMBERS if category is None else category.max_size]
    if group.member_cap:
        caps.append(group.member_cap)
    modes = tuple(category.join_modes) if category is not None else tuple(JoinMode.values)
    open_link = (tier is None or tier.open_link_allowed) and JoinMode.LINK in modes
    if not open_link:
        modes = tuple(mode for mode in modes if mode != JoinMode.LINK)
    verified_above = category.verified_above if category is not None else settings.GROUP_MAX_MEMBERS
    return GroupRules(
        tier=tier,
        member_count=count,
        cap=min(caps),
        join_modes=modes,
        invite_needs_confirmation=bool(tier and tier.invite_needs_confirmation),
        joiners_must_be_verified=bool(tier and tier.joiners_must_be_verified) or count > verified_above,
        open_link_allowed=open_link,
    )


def category_list(*, enabled_only: bool = True):
    categories = GroupCategory.objects.all()
    return list(categories.filter(enabled=True) if enabled_only else categories)


def group_creation_requests():
    return (
        ChatGroup.objects.filter(status="pending_review")
        .select_related("category", "created_by")
        .order_by("created_at")
    )


def group_managers(group: ChatGroup) -> list:
    """The owner and admins (they decide join requests and are told of them)."""
    return [
        m.user
        for m in Membership.objects.filter(
            group=group, left_at__isnull=True, role__in=["owner", "admin"]
        ).select_related("user")
    ]


def invitations_pending_for(user) -> list:
    """R8.5: the invitations waiting for ``user`` to answer, newest first."""
    from groups.models import Invitation

    return list(
        Invitation.objects.filter(invitee=user, status="pending", group__status="active")
        .select_related("group", "inviter")
        .order_by("-created_at")[:100]
    )


def user_find_for_invitation(who: str):
    """An active account by account name or mainland mobile number (never by real name)."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from identity.idnumber import parse_mobile

    who = (who or "").strip()[:64]
    if not who:
        return None
    users = get_user_model().objects.filter(is_active=True)
    found = users.filter(username__iexact=who).first()
    if found is None:
        try:
            found = users.filter(phone=parse_mobile(who)).first()
        except ValidationError:  # not a mobile number either
            found = None
    return found


# --- emergency measures (R5.1) ---------------------------------------------------------------------------

EMERGENCY_MEMO_SECONDS = 1.0  # another process sees a new measure within this time


@dataclass(frozen=True)
class EmergencyState:
    """The measures in force (or ending later), as read at ``read_at``; each entry keeps its end, so that
    policies compare it with now (house rule 9). ``categories`` of None means every category."""

    freeze_until: object = None
    holds: tuple = ()  # (ends_at, frozenset of category ids or None)
    suspensions: tuple = ()
    notices: tuple = ()  # (ends_at, id, text)

    def _covering(self, entries, category_id, now):
        ends = [end for end, cats in entries if end > now and (cats is None or category_id in cats)]
        return max(ends, default=None)

    def frozen_until(self, now):
        return self.freeze_until if self.freeze_until and self.freeze_until > now else None

    def held_until(self, category_id, now):
        return self._covering(self.holds, category_id, now)

    def suspended_until(self, category_id, now):
        return self._covering(self.suspensions, category_id, now)

    def notices_now(self, now) -> list[dict]:
        return [{"id": pk, "text": text} for end, pk, text in self.notices if end > now]


_emergency_memo: dict = {"state": None, "read_at": 0.0}


def emergency_cache_reset() -> None:
    _emergency_memo.update(state=None, read_at=0.0)


def emergency_state() -> EmergencyState:
    """R5.1: the emergency measures in force, read at most once a second per process (the send path asks
    for every message)."""
    now_mono = time.monotonic()
    state = _emergency_memo["state"]
    if state is not None and now_mono - _emergency_memo["read_at"] < EMERGENCY_MEMO_SECONDS:
        return state
    now = timezone.now()
    freeze, holds, suspensions, notices = None, [], [], []
    measures = EmergencyMeasure.objects.filter(
        starts_at__lte=now, ends_at__gt=now, ended_at__isnull=True
    ).prefetch_related("categories")
    for measure in measures:
        categories = frozenset(c.pk for c in measure.categories.all()) or None
        if measure.kind == EmergencyKind.FREEZE_CREATION:
            freeze = max(freeze or measure.ends_at, measure.ends_at)
        elif measure.kind == EmergencyKind.HOLD_MESSAGES:
            holds.append((measure.ends_at, categories))
        elif measure.kind == EmergencyKind.SUSPEND_POSTING:
            suspensions.append((measure.ends_at, categories))
        elif measure.kind == EmergencyKind.NOTICE:
            notices.append((measure.ends_at, measure.pk, measure.notice))
    state = EmergencyState(freeze, tuple(holds), tuple(suspensions), tuple(notices))
    _emergency_memo.update(state=state, read_at=now_mono)
    return state


def emergency_measures(*, in_force: bool | None = None):
    """The measures for the compliance page, newest first: in force now, or the history."""
    now = timezone.now()
    rows = EmergencyMeasure.objects.select_related("created_by", "ended_by").prefetch_related("categories")
    active = Q(starts_at__lte=now, ends_at__gt=now, ended_at__isnull=True)
    if in_force is True:
        return rows.filter(active)
    if in_force is False:
        return rows.exclude(active)
    return rows
