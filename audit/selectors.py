"""Searching the audit trail and the network logs (R13.2), for compliance staff and inspectors."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from audit.models import AuditEvent, LegalHold, NetworkLog


def audit_event_list(*, event_type: str | None = None, target=None):
    events = AuditEvent.objects.order_by("-seq")
    if event_type:
        events = events.filter(event_type=event_type)
    if target is not None:
        events = events.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return events


def audit_event_search(
    *,
    actor_id=None,
    target_type="",
    target_id="",
    group_code="",
    ip="",
    event_type="",
    since: datetime | None = None,
    until: datetime | None = None,
):
    events = AuditEvent.objects.order_by("-seq")
    if actor_id:
        events = events.filter(actor_id=actor_id)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if group_code:
        events = events.filter(group_code=group_code.upper())
    if ip:
        events = events.filter(ip=ip)
    if event_type:
        events = events.filter(event_type__startswith=event_type)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lt=until)
    return events


def network_log_search(
    *,
    user_id=None,
    group_code="",
    ip="",
    kind="",
    message_id=None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    logs = NetworkLog.objects.order_by("-id")
    if user_id:
        logs = logs.filter(user_id=user_id)
    if group_code:
        logs = logs.filter(group_code=group_code.upper())
    if ip:
        logs = logs.filter(ip=ip)
    if kind:
        logs = logs.filter(kind=kind)
    if message_id:
        logs = logs.filter(message_id=message_id)
    if since:
        logs = logs.filter(occurred_at__gte=since)
    if until:
        logs = logs.filter(occurred_at__lt=until)
    return logs


def legal_hold_list(*, active_only: bool = False):
    holds = LegalHold.objects.select_related("set_by", "lifted_by").order_by("-set_at")
    return holds.filter(lifted_at__isnull=True) if active_only else holds


def is_held(*, user_id=None, group_code="") -> bool:
    wanted = Q(pk__in=[])
    if user_id:
        wanted |= Q(target_type="user", target_id=str(user_id))
    if group_code:
        wanted |= Q(target_type="group", target_id=group_code.upper())
    return LegalHold.objects.filter(wanted, lifted_at__isnull=True).exists()
