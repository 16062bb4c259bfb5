"""Periodic group jobs (Celery beat)."""

from celery import shared_task

from common.actors import Actor, Door
from groups import services


@shared_task(name="groups.activity_compute", acks_late=True)
def group_activity_compute() -> int:
    return services.group_activity_compute(actor=Actor.system(door=Door.TASK))
