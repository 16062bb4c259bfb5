"""A real Celery worker against Redis runs the platform's tasks."""

import os
import time

import pytest

from config.celery import app
from tests.faults.conftest import Worker


@pytest.fixture
def worker():
    started = Worker({**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}, "ping")
    yield started.process
    started.stop()


def test_real_worker_runs_ping_task_against_redis(worker, settings):
    assert settings.REDIS_URL, "the worker test needs REDIS_URL"
    app.conf.task_always_eager = False
    started = time.monotonic()
    result = app.send_task("common.ping")
    assert result.get(timeout=60) == {"pong": True, "database": True}
    assert time.monotonic() - started < 60
