"""A Celery worker killed mid-task (issue 13): the task runs again on another worker and its effect happens
exactly once.

The task is the real network-log seal (R13.2, ``audit.network_log_seal``, every five minutes in
production), made long enough to be caught in the middle by the volume of rows (several batches of 50,000).
A real worker (``CELERY_TASK_ALWAYS_EAGER=false``, the broker on this test's Redis database) takes it; once
a first batch is sealed and the next one is being sealed (the seal's advisory lock held), the worker is
killed with SIGKILL: no warm shutdown, nothing acknowledged, its open transaction rolled back by
PostgreSQL. A second worker gets the same message again once the broker's visibility timeout has passed
(``CELERY_VISIBILITY_TIMEOUT``, 3600 s by default, a few seconds here; ``task_acks_late``), finishes the
seal, and every row is sealed exactly once: contiguous digests, one chain, each digest exported once, the
verifier content.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import export, verify
from audit.models import LogDigest, NetworkLog
from audit.services import SEAL_LOCK
from config.celery import app
from tests.faults.conftest import Worker, admin_connection, wait_for

ROWS = 160_000  # four batches of the seal
VISIBILITY_TIMEOUT = 4

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the broker)"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the worker shares the test's PostgreSQL database",
    ),
]


def _worker_env(export_path: Path) -> dict:
    settings_dict = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        ),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "AUDIT_DIGEST_EXPORT_PATH": str(export_path),
        "LOG_LEVEL": "WARNING",
    }


def _insert_rows(count: int) -> None:
    """Network-log rows old enough to be sealed, written in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_networklog (occurred_at, kind, user_id, ip, port, method, path, status, "
            "group_code, message_id, detail) "
            "SELECT %s - (%s - n) * interval '1 millisecond', 'http', n %% 97, "
            "('10.0.0.' || (n %% 250))::inet, 40000 + n %% 20000, 'GET', '/groups/' || n, 200, '', NULL, "
            "'{}'::jsonb "
            "FROM generate_series(1, %s) AS n",
            [timezone.now() - timedelta(minutes=10), count, count],
        )


def _seal_in_progress() -> bool:
    """A first batch sealed and the seal's lock held by a worker's transaction: the task is mid-way."""
    if not LogDigest.objects.exists():
        return False
    with admin_connection() as admin:
        (held,) = admin.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            [connection.settings_dict["NAME"], SEAL_LOCK],
        ).fetchone()
    return held > 0


@pytest.fixture
def broker(settings, tmp_path):
    """This test's Redis database, emptied (no message of an earlier run), and the digest export file."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    app.conf.task_always_eager = False
    settings.AUDIT_DIGEST_EXPORT_PATH = str(tmp_path / "digests.jsonl")
    workers: list[Worker] = []
    yield workers, Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    for worker in workers:
        worker.stop()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _wait_mid_seal(worker: Worker, result) -> None:
    try:
        wait_for(_seal_in_progress, timeout=120, interval=0.02, what="the worker to be mid-seal")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; digests: {LogDigest.objects.count()}; task: {result.state}; worker: {worker.tail()}"
        ) from None


def _killed_mid_seal() -> int:
    """The digests sealed before the kill (at least one, not all); the batch in progress left nothing."""
    sealed_before = LogDigest.objects.count()
    assert 1 <= sealed_before < -(-ROWS // 50_000), "the kill came after the task had finished"
    # Its transaction died with it: the lock is free, the batch in progress left nothing.
    wait_for(lambda: not _seal_in_progress(), timeout=30, what="the killed worker's transaction to end")
    assert LogDigest.objects.count() == sealed_before
    return sealed_before


def _assert_sealed_exactly_once(sealed_again: int, sealed_before: int) -> None:
    digests = list(LogDigest.objects.order_by("last_id"))
    assert sealed_again == ROWS - sum(d.row_count for d in digests[:sealed_before])
    assert sum(d.row_count for d in digests) == ROWS == NetworkLog.objects.count()
    expected_first = NetworkLog.objects.order_by("id").values_list("id", flat=True).first()
    for digest in digests:  # contiguous, no range sealed twice, one chain
        assert digest.first_id == expected_first
        expected_first = digest.last_id + 1
    assert digests[-1].last_id == NetworkLog.objects.order_by("-id").values_list("id", flat=True).first()
    contents = export.read()
    assert [d["last_id"] for _n, d in contents.digests] == [d.last_id for d in digests]  # each exported once
    report = verify.Report()
    verify.verify_digests(report, contents)
    verify.verify_export(report, contents)
    assert report.ok, report.problems
    assert report.checked_digests == len(digests)


@pytest.mark.django_db(transaction=True)
def test_r13_2_a_worker_killed_mid_seal_the_task_runs_again_and_seals_every_row_once(broker):
    """The whole worker killed (the host lost): a new worker gets the unacknowledged message once the
    visibility timeout has passed."""
    workers, export_path = broker
    _insert_rows(ROWS)
    env = _worker_env(export_path)
    first = Worker(env, "first")
    workers.append(first)
    result = app.send_task("audit.network_log_seal")
    _wait_mid_seal(first, result)
    first.kill()
    sealed_before = _killed_mid_seal()

    workers.append(Worker(env, "second"))
    sealed_again = result.get(timeout=120)  # the same message, redelivered after the visibility timeout
    _assert_sealed_exactly_once(sealed_again, sealed_before)


@pytest.mark.django_db(transaction=True)
def test_r13_2_a_pool_process_killed_mid_seal_the_task_is_requeued_at_once(broker):
    """Only the pool process running the task killed (out of memory): the worker rejects the message back
    to the queue at once (``task_reject_on_worker_lost``) and a new pool process runs it again."""
    workers, export_path = broker
    _insert_rows(ROWS)
    env = {**_worker_env(export_path), "CELERY_VISIBILITY_TIMEOUT": "3600"}  # no help from the broker
    worker = Worker(env, "prefork", pool="prefork")
    workers.append(worker)
    result = app.send_task("audit.network_log_seal")
    _wait_mid_seal(worker, result)
    children = psutil.Process(worker.process.pid).children()
    assert len(children) == 1
    children[0].send_signal(signal.SIGKILL)
    sealed_before = _killed_mid_seal()

    sealed_again = result.get(timeout=120)
    _assert_sealed_exactly_once(sealed_again, sealed_before)
    assert worker.process.poll() is None
