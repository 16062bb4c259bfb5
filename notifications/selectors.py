"""Reading notifications: payloads, the unread count, the list a person sees."""

from __future__ import annotations

from datetime import time as clock

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from notifications import kinds
from notifications.models import GroupNotice, GroupNoticeCursor, Notification, NotificationPreference

# Which groups a user is in, and since when: told by the groups app (above this one) at start-up, so
# that group notices count for members without this app knowing about groups.
_group_resolver = None


def register_group_resolver(resolver) -> None:
    """``resolver(user) -> {group_key: joined_at}`` for the user's current groups."""
    global _group_resolver
    _group_resolver = resolver


def groups_of(user) -> dict:
    return _group_resolver(user) if _group_resolver and user is not None and user.is_authenticated else {}


def render(raw: dict) -> dict:
    """Title, body, link and severity in the active language, added to a raw notice (which carries the
    kind and its context, so that a socket renders it in its own member's language)."""
    kind = kinds.KINDS.get(raw["kind"])
    rendered = (
        kind.render(raw["context"])
        if kind
        else {"title": raw["kind"], "body": "", "link": "", "severity": "info"}
    )
    return {**{k: v for k, v in raw.items() if k != "context"}, **rendered}


def _payload(kind_code: str, context: dict, **extra) -> dict:
    return render({"kind": kind_code, "context": context, **extra})


def raw_notice(notice) -> dict:
    """What goes over the channel layer: no text yet, only what each socket needs to render it."""
    raw = {
        "kind": notice.kind,
        "context": notice.context,
        "id": notice.pk,
        "created_at": notice.created_at.isoformat(),
        "read": False,
    }
    if isinstance(notice, GroupNotice):
        raw.update(scope="group", group=notice.group_key)
    else:
        raw.update(scope="personal")
    return raw


def notification_payload(notice: Notification) -> dict:
    return _payload(
        notice.kind,
        notice.context,
        id=notice.pk,
        scope="personal",
        created_at=notice.created_at.isoformat(),
        read=notice.read_at is not None,
    )


def group_notice_payload(notice: GroupNotice, *, read: bool = False) -> dict:
    return _payload(
        notice.kind,
        notice.context,
        id=notice.pk,
        scope="group",
        group=notice.group_key,
        created_at=notice.created_at.isoformat(),
        read=read,
    )


def muted_kinds(user) -> list[str]:
    """Kinds the person turned off in the app (never required ones: those cannot be saved off)."""
    return list(NotificationPreference.objects.filter(user=user, in_app=False).values_list("kind", flat=True))


def _unread_group_notices(user):
    groups = groups_of(user)
    if not groups:
        return GroupNotice.objects.none()
    cursors = dict(
        GroupNoticeCursor.objects.filter(user=user, group_key__in=list(groups)).values_list(
            "group_key", "last_read_id"
        )
    )
    condition = Q()
    for key, joined_at in groups.items():
        condition |= Q(group_key=key, created_at__gte=joined_at, pk__gt=cursors.get(key, 0))
    return GroupNotice.objects.filter(condition).exclude(kind__in=muted_kinds(user))


def unread_count(user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    personal = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    return personal + _unread_group_notices(user).count()


def notification_list(user, *, unread_only: bool = False, kind: str = "", limit: int = 100) -> list[dict]:
    """Personal and group notices together, newest first."""
    personal = Notification.objects.filter(recipient=user)
    if unread_only:
        personal = personal.filter(read_at__isnull=True)
    if kind:
        personal = personal.filter(kind=kind)
    items = [notification_payload(n) for n in personal.order_by("-created_at", "-pk")[:limit]]
    groups = groups_of(user)
    if groups:
        unread_ids = set(_unread_group_notices(user).values_list("pk", flat=True))
        condition = Q()
        for key, joined_at in groups.items():
            condition |= Q(group_key=key, created_at__gte=joined_at)
        notices = GroupNotice.objects.filter(condition).exclude(kind__in=muted_kinds(user))
        if unread_only:
            notices = notices.filter(pk__in=unread_ids)
        if kind:
            notices = notices.filter(kind=kind)
        items += [
            group_notice_payload(n, read=n.pk not in unread_ids)
            for n in notices.order_by("-created_at")[:limit]
        ]
    items.sort(key=lambda item: item["created_at"], reverse=True)
    return items[:limit]


def in_quiet_hours(moment=None) -> bool:
    """``NOTIFY_QUIET_HOURS`` (start, end) in local time; the span may cross midnight."""
    start, end = settings.NOTIFY_QUIET_HOURS
    local = timezone.localtime(moment or timezone.now()).time()
    start, end = clock(start), clock(end)
    return (local >= start or local < end) if start > end else (start <= local < end)
