"""Browser tests: the real platform under uvicorn (PostgreSQL, Redis), driven in the system Chromium."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
SMS_FILE = ROOT / "test-results" / f"sms-{os.getpid()}.jsonl"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_connection():
    return psycopg.connect(
        os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1), autocommit=True
    )


@pytest.fixture(scope="session")
def live_url():
    """A fresh database, migrated, served by uvicorn on a free port; torn down after the session."""
    name = f"qunzu_e2e_{os.getpid()}"
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(name),
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "SMS_BACKEND": "common.sms.FileBackend",
        "SMS_FILE_PATH": str(SMS_FILE),
        "IDENTITY_VERIFIER": "fake",
        "DJANGO_MEDIA_ROOT": str(ROOT / "test-results" / "media"),
    }
    SMS_FILE.unlink(missing_ok=True)
    for command in (["migrate", "--noinput"], ["seed_demo"]):  # the demo members, groups and lexicon
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    port = _free_port()
    log = open(ROOT / "test-results" / "e2e-server.log", "w")  # noqa: SIM115 (kept open for the server's life)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz/", timeout=2)  # noqa: S310 (loopback only)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the e2e server did not start; see test-results/e2e-server.log") from None
            time.sleep(0.3)
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:  # open sockets outlived the graceful stop: the session is over anyway
        server.kill()
        server.wait(timeout=10)
    log.close()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _result_dirs():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def shoot():
    def save(page, name: str):
        page.bring_to_front()  # a page in a background tab may fail: "Unable to capture screenshot"
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    return save


@pytest.fixture
def sms_code():
    """The last code texted to a number (the server writes texts to a file in the browser tests)."""

    def read(phone_e164: str) -> str:
        import json
        import re

        for line in reversed(SMS_FILE.read_text(encoding="utf-8").splitlines()):
            text = json.loads(line)
            if text["phone"] == phone_e164:
                return re.search(r"\d{6}", text["text"]).group()
        raise AssertionError(f"no text to {phone_e164}")

    return read


@pytest.fixture(autouse=True)
def no_content_security_policy_violations(request):
    """Every page of every browser test runs under the Content-Security-Policy; a script, handler, socket or
    picture the policy refuses shows in the console as "Refused to …", and fails the test."""
    if "browser" not in request.fixturenames and "page" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    refused: list[str] = []

    def watch(page):
        page.on("console", lambda message: _note_refusal(refused, page, message.text))

    def watch_context(context):
        context.on("page", watch)
        for page in context.pages:
            watch(page)

    original = browser.new_context

    def new_context(*args, **kwargs):
        context = original(*args, **kwargs)
        watch_context(context)
        return context

    browser.new_context = new_context
    for context in browser.contexts:  # pytest-playwright's own context, for tests that take ``page``
        watch_context(context)
    yield
    browser.new_context = original
    assert not refused, refused


def _note_refusal(refused: list, page, text: str) -> None:
    if "Content Security Policy" in text or text.startswith("Refused to"):
        refused.append(f"{page.url}: {text}")
