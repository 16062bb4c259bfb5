from audit.models import AuditEvent


def audit_event_list(*, event_type: str | None = None, target=None):
    events = AuditEvent.objects.order_by("-occurred_at", "-pk")
    if event_type:
        events = events.filter(event_type=event_type)
    if target is not None:
        events = events.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return events
