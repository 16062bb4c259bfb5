"""Periodic moderation jobs (Celery beat; schedules in ``CELERY_BEAT_SCHEDULE``, editable in the admin)."""

from celery import shared_task

from common.actors import Actor, Door
from moderation import services


@shared_task(name="moderation.review_queue_sync", acks_late=True)
def review_queue_sync() -> dict:
    """R12.1: every minute; the queue finds new held messages, group requests and real-name reviews, and
    drops items decided elsewhere. Safe to run again."""
    return services.review_queue_sync(actor=Actor.system(door=Door.TASK))


@shared_task(name="moderation.review_queue_escalate", acks_late=True)
def review_queue_escalate() -> int:
    """R12.1: every five minutes; overdue items are escalated once and supervisors told. Safe to run
    again (an escalated item is never escalated twice)."""
    return services.review_queue_escalate(actor=Actor.system(door=Door.TASK))


@shared_task(name="moderation.sanctions_expire", acks_late=True)
def sanctions_expire() -> int:
    """R11.1-R11.3: every five minutes; measures past their end are marked ended and those concerned told
    (policies compare ends with now already). Safe to run again."""
    return services.sanctions_expire(actor=Actor.system(door=Door.TASK))


@shared_task(name="moderation.sanction_rechecks", acks_late=True)
def sanction_rechecks() -> int:
    """R11.1: every fifteen minutes; a warning whose rectification deadline has passed goes back to the
    reviewers as a re-check (once per warning)."""
    return services.sanction_rechecks_create(actor=Actor.system(door=Door.TASK))
