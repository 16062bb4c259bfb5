"""Text messages for notifications, sent outside the request; deferred ones go out after quiet hours."""

from celery import shared_task

from common.actors import Actor, Door
from notifications import services
from notifications.models import Notification


@shared_task(name="notifications.sms_send", acks_late=True)
def notification_sms_send(notification_id: int) -> str:
    notice = Notification.objects.filter(pk=notification_id).first()
    if notice is None:
        return "gone"
    return services.notification_sms_deliver(actor=Actor.system(door=Door.TASK), notification=notice)


@shared_task(name="notifications.sms_flush", acks_late=True)
def notification_sms_flush() -> int:
    return services.notification_sms_flush(actor=Actor.system(door=Door.TASK))
