from celery import shared_task
from django.db import connection


@shared_task(name="common.ping")
def ping() -> dict:
    """Health probe for the worker: answers and proves it reaches the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {"pong": True, "database": one == 1}
