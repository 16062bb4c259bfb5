"""Writing the audit trail. Every mutating service calls ``audit_record`` inside its transaction."""

from __future__ import annotations

from django.db import models

from audit.models import AuditEvent
from common.actors import Actor


def audit_record(
    *, actor: Actor, event_type: str, target: models.Model | None = None, data: dict | None = None
) -> AuditEvent:
    """R13.2: record who did what, through which door and from where, on which target."""
    return AuditEvent.objects.create(
        event_type=event_type,
        actor=actor.user if actor.is_authenticated else None,
        actor_kind=actor.kind.value,
        door=actor.door.value,
        ip=actor.ip,
        port=actor.port,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
