"""The one place every app tells a person something: ``notify`` (one person) and ``notify_group``.

Stored first, then, after the transaction commits, pushed to the recipient's open tabs over their socket
(their personal channel, or the group's channel for a group notice) together with the new unread count.
Kinds marked ``sms`` also go by text message, at most ``NOTIFY_SMS_PER_DAY`` a day per person and never
in the quiet hours (they wait, and the periodic job sends them when the quiet hours end).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_record
from common.actors import Actor
from common.realtime import group_channel, publish_now, user_channel
from common.sms import send_sms
from notifications import kinds, selectors
from notifications.models import GroupNotice, GroupNoticeCursor, Notification, NotificationPreference


def _preference(user, kind: kinds.Kind) -> NotificationPreference | None:
    if kind.required:
        return None
    return NotificationPreference.objects.filter(user=user, kind=kind.code).first()


def notify(*, actor: Actor, recipient, kind: str, context: dict | None = None) -> Notification | None:
    """Tell ``recipient`` something of ``kind`` (registered in ``notifications.kinds``). Returns the stored
    notice, or ``None`` if the person turned this kind off (never for required kinds)."""
    registered = kinds.get(kind)
    context = dict(context or {})
    preference = _preference(recipient, registered)
    if preference is not None and not preference.in_app and not preference.sms:
        return None
    wants_sms = registered.sms and (preference is None or preference.sms)
    in_app = preference is None or preference.in_app
    with transaction.atomic():
        notice = Notification.objects.create(
            recipient=recipient,
            kind=kind,
            context={**context, "by": actor.user_id},
            sms_status="pending" if wants_sms else "",
            # Turned off in the app (a text message only): kept as history, never counted or pushed.
            read_at=None if in_app else timezone.now(),
        )
        if in_app:
            transaction.on_commit(lambda: _push(notice))
        if wants_sms:
            transaction.on_commit(lambda: _queue_sms(notice.pk))
    return notice


def _push(notice: Notification) -> None:
    publish_now(
        user_channel(notice.recipient_id),
        {
            "type": "notification.new",
            "notice": selectors.raw_notice(notice),
            "unread": selectors.unread_count(notice.recipient),
        },
    )


def _queue_sms(notification_id: int) -> None:
    from notifications.tasks import notification_sms_send

    notification_sms_send.delay(notification_id)


def notify_group(
    *, actor: Actor, group_id: int, group_key: str, kind: str, context: dict | None = None
) -> GroupNotice:
    """Tell every member of a group: one row, pushed once to the group's channel. Members' unread counts
    come from one cursor per member per group, so a 500-member group costs one row per notice."""
    registered = kinds.get(kind)
    if not registered.group:
        raise ValueError(f"{kind} is not a group notice")
    with transaction.atomic():
        notice = GroupNotice.objects.create(
            group_key=group_key,
            kind=kind,
            context={**(context or {}), "group": group_key, "by": actor.user_id},
        )
        transaction.on_commit(
            lambda: publish_now(
                group_channel(group_id),
                {"type": "notice.group", "notice": selectors.raw_notice(notice)},
            )
        )
    return notice


def notifications_mark_read(*, actor: Actor, ids: list[int] | None = None, group_key: str = "") -> int:
    """Mark the actor's own notices read: the given ones, a group's, or (no ids, no group) all of them.
    Every open tab of theirs gets the new count."""
    user = actor.user
    now = timezone.now()
    if group_key and group_key not in selectors.groups_of(user):
        return 0  # not their group: nothing of theirs to mark
    with transaction.atomic():
        mine = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if ids is not None:
            mine = mine.filter(pk__in=[i for i in ids if isinstance(i, int)])
        changed = mine.update(read_at=now) if not group_key else 0
        if ids is None:
            keys = [group_key] if group_key else list(selectors.groups_of(user))
            latest = dict(
                GroupNotice.objects.filter(group_key__in=keys)
                .values("group_key")
                .annotate(last=Max("pk"))
                .values_list("group_key", "last")
            )
            for key, last in latest.items():
                cursor, _created = GroupNoticeCursor.objects.get_or_create(user=user, group_key=key)
                if cursor.last_read_id < last:
                    GroupNoticeCursor.objects.filter(pk=cursor.pk).update(last_read_id=last)
                    changed += 1
        transaction.on_commit(
            lambda: publish_now(
                user_channel(user.pk), {"type": "notification.count", "unread": selectors.unread_count(user)}
            )
        )
    return changed


def notification_preferences_save(*, actor: Actor, choices: dict[str, dict]) -> None:
    """The person's choices per kind (``{"kind": {"in_app": bool, "sms": bool}}``). Required kinds are
    not theirs to turn off and are ignored."""
    saved = {}
    with transaction.atomic():
        for code, choice in choices.items():
            kind = kinds.KINDS.get(code)
            if kind is None or kind.required:
                continue
            values = {"in_app": bool(choice.get("in_app", True)), "sms": bool(choice.get("sms", True))}
            NotificationPreference.objects.update_or_create(user=actor.user, kind=code, defaults=values)
            saved[code] = values
        audit_record(actor=actor, event_type="notifications.preferences_saved", data={"choices": saved})


# --- text messages ----------------------------------------------------------------------------------


def notification_sms_deliver(*, actor: Actor, notification: Notification) -> str:
    """Send one pending text message, if the hour and the person's daily limit allow; returns the status:
    ``sent``, ``deferred`` (quiet hours: the periodic job retries), ``limited`` or ``no_phone``.

    At most once: the notice is marked ``sending`` and committed before the provider is called, so a task
    that runs again after a crash finds it taken and sends nothing."""
    with transaction.atomic():
        notice = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .get(pk=notification.pk)
        )
        if notice.sms_status not in ("pending", "deferred"):
            return notice.sms_status
        phone = getattr(notice.recipient, "phone", None)
        since = timezone.now() - timedelta(days=1)
        sent_today = Notification.objects.filter(
            recipient=notice.recipient, sms_status__in=["sent", "sending"], created_at__gte=since
        ).count()
        if not phone or getattr(notice.recipient, "retention_locked_at", None):
            status = "no_phone"
        elif selectors.in_quiet_hours():
            status = "deferred"
        elif sent_today >= settings.NOTIFY_SMS_PER_DAY:
            status = "limited"
        else:
            status = "sending"
        Notification.objects.filter(pk=notice.pk).update(sms_status=status)
    if status != "sending":
        return status
    rendered = kinds.get(notice.kind).render(notice.context)
    send_sms(phone, f"【{settings.SMS_SIGNATURE}】{rendered['title']}：{rendered['body']}")
    Notification.objects.filter(pk=notice.pk).update(sms_status="sent")
    return "sent"


def notification_sms_flush(*, actor: Actor) -> int:
    """The periodic job: text messages held back by the quiet hours go out once they end."""
    if selectors.in_quiet_hours():
        return 0
    sent = 0
    for notice in Notification.objects.filter(sms_status="deferred").order_by("pk")[:500]:
        if notification_sms_deliver(actor=actor, notification=notice) == "sent":
            sent += 1
    return sent
