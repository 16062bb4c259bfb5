"""Periodic credit jobs (Celery beat)."""

from celery import shared_task

from common.actors import Actor, Door
from credit import services


@shared_task(name="credit.good_standing", acks_late=True)
def credit_good_standing() -> int:
    """Once a day; safe to run again (the day is counted once)."""
    return services.credit_good_standing_run(actor=Actor.system(door=Door.TASK))
