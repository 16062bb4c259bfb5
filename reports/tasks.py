"""Periodic regulator report job (Celery beat; schedule ``regulator-reports`` in ``CELERY_BEAT_SCHEDULE``)."""

from celery import shared_task

from common.actors import Actor, Door
from reports import services


@shared_task(name="reports.reports_generate_and_deliver", acks_late=True)
def reports_generate_and_deliver() -> dict:
    """R11.4: every five minutes; reports for new measures and closed periods are generated (idempotent),
    then the due reports get one delivery attempt each, in the order generated (a failed one is due again
    after its backoff; an endpoint out of reach ends the run, and the rest wait with the first). Killed
    mid-run, it runs again (acks_late): generation is idempotent and a claimed report waits out its lease."""
    return services.reports_run(actor=Actor.system(door=Door.TASK))
