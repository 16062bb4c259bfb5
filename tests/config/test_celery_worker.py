"""A real Celery worker against Redis runs the platform's tasks."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker():
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_real_worker_runs_ping_task_against_redis(worker, settings):
    assert settings.REDIS_URL, "the worker test needs REDIS_URL"
    app.conf.task_always_eager = False
    started = time.monotonic()
    result = app.send_task("common.ping")
    assert result.get(timeout=60) == {"pong": True, "database": True}
    assert time.monotonic() - started < 60
