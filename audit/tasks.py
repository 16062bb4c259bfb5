"""Periodic jobs (Celery beat): seal the network logs, verify everything, purge what has expired."""

from celery import shared_task

from audit import services, verify
from common.actors import Actor, Door


@shared_task(name="audit.network_log_seal", acks_late=True)
def network_log_seal() -> int:
    sealed = 0
    while (digest := services.network_log_seal(actor=Actor.system(door=Door.TASK))) is not None:
        sealed += digest.row_count
    return sealed


@shared_task(name="audit.verify", acks_late=True)
def audit_verify() -> bool:
    report = verify.verify_and_record()
    return report.ok


@shared_task(name="audit.retention_purge", acks_late=True)
def retention_purge() -> dict:
    removed = {}
    for record_class in services.retention_classes():
        run = services.retention_purge(actor=Actor.system(door=Door.TASK), record_class=record_class)
        removed[record_class] = run.removed
    return removed
