"""The database out of reach (issue 13): pages answer 503 with a clear page in the visitor's language, the
API answers 503 with ``{"code": "service_unavailable"}``, both with ``Retry-After``; a write cut off
between two of its statements leaves nothing behind; the next request after the database is back succeeds
in the same process (in process here, and under a real uvicorn server with its connections killed).

Related fault tests elsewhere: the Redis restart during chat (tests/groups/test_redis_restart.py) and the
chat socket's dropped database connection (tests/groups/test_send_path.py,
``test_socket_recovers_from_a_dropped_database_connection``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, close_old_connections, connection, transaction
from django.db.utils import OperationalError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from guardian.models import UserObjectPermission

from audit import middleware as audit_middleware
from audit.models import AuditEvent, NetworkLog
from common import unavailable
from groups import selectors as group_selectors
from groups import services as group_services
from groups.models import ChatGroup, Membership
from tests.factories import UserFactory
from tests.faults.conftest import free_port, terminate_backends, wait_for

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "The service is briefly unavailable. Please try again in a moment."

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="injects PostgreSQL connection faults",
)


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


def _assert_page(response, language: str) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == str(unavailable.DEFAULT_RETRY_AFTER)
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Language"] == language
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert _in(language, MESSAGE) in page
    assert "css/app.css" in page and 'class="topbar"' in page  # the site's look, without the database
    return page


def _assert_json(response) -> dict:
    assert response.status_code == 503
    assert response["Retry-After"] == str(unavailable.DEFAULT_RETRY_AFTER)
    body = json.loads(response.content)
    assert body == {"code": "service_unavailable", "detail": _in("zh-hans", MESSAGE)}
    return body


class OutOfReach:
    """Points the test's connection at a port where nothing listens (the database host gone), and back."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.real_port = connection.settings_dict["PORT"]

    def cut(self) -> None:
        connection.close()
        self.monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))

    def back(self) -> None:
        connection.close()
        connection.settings_dict["PORT"] = self.real_port


@pytest.fixture
def database(monkeypatch):
    out_of_reach = OutOfReach(monkeypatch)
    yield out_of_reach
    out_of_reach.back()


@pytest.mark.django_db(transaction=True)
def test_database_out_of_reach_pages_and_api_answer_503_then_recover_in_process(client, database, caplog):
    user = UserFactory(username="down-page")
    client.force_login(user)
    client.raise_request_exception = False  # a failure in a middleware (the user loaded) is re-raised else
    assert client.get("/").status_code == 200
    assert client.get("/api/groups/").status_code == 200
    logged = NetworkLog.objects.filter(user_id=user.pk).count()

    database.cut()
    caplog.set_level(logging.WARNING)
    page = _assert_page(client.get("/"), "zh-hans")
    assert "Traceback" not in page
    _assert_json(client.get("/api/groups/"))
    _assert_json(client.get("/healthz/"))  # container health checks see 503 too
    # A POST (a form) fails the same way; nothing half-done is possible: nothing reached the database.
    _assert_page(client.post(reverse("group-create"), {"name": "不在线", "description": ""}), "zh-hans")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _assert_page(client.get("/"), "en")
    assert MESSAGE in english
    # R13.2: the rows that could not be written went to the log instead (and the answer stayed a 503).
    lines = [r.getMessage() for r in caplog.records if r.name == "audit.network"]
    assert any("path=/api/groups/" in line and "status=503" in line for line in lines)
    assert all("database unavailable" in line for line in lines)

    database.back()  # the database is back: the same process, no restart
    assert client.get("/").status_code == 200
    assert client.get("/api/groups/").status_code == 200
    assert client.get("/healthz/").status_code == 200
    assert NetworkLog.objects.filter(user_id=user.pk).count() == logged + 3


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_between_two_writes_leaves_nothing_half_written(client, monkeypatch):
    """The group-create service writes the group, the owner's membership, the permission and the audit
    record in one transaction; the connection is killed (pg_terminate_backend from a second connection)
    after the first three: the answer is 503, and after recovery none of them exists."""
    user = UserFactory(username="down-write")
    client.force_login(user)
    client.raise_request_exception = False
    real_audit_record = group_services.audit_record
    killed = []

    def dying_audit_record(**kwargs):
        killed.append(terminate_backends(only=connection.connection.info.backend_pid))
        return real_audit_record(**kwargs)

    monkeypatch.setattr(group_services, "audit_record", dying_audit_record)
    response = client.post(reverse("group-create"), {"name": "断线群", "description": ""})
    assert killed == [1]
    _assert_page(response, "zh-hans")

    monkeypatch.setattr(group_services, "audit_record", real_audit_record)
    assert not ChatGroup.objects.filter(name="断线群").exists()
    assert not Membership.objects.filter(user=user).exists()
    assert not UserObjectPermission.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(event_type="groups.group_created").exists()

    # Recovery without a restart: the same request again succeeds, once.
    response = client.post(reverse("group-create"), {"name": "断线群", "description": ""})
    assert response.status_code == 302
    group = ChatGroup.objects.get(name="断线群")
    assert Membership.objects.filter(user=user, group=group).count() == 1
    assert AuditEvent.objects.filter(event_type="groups.group_created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_r13_2_a_network_log_row_that_cannot_be_written_does_not_turn_the_answer_into_an_error(
    client, monkeypatch, caplog
):
    """The page was made; the database goes away just before its network-log row: the visitor still gets
    the page (a 500 or 503 would make them repeat what was done), and the row's fields go to the log."""
    user = UserFactory(username="down-log")
    client.force_login(user)
    client.raise_request_exception = False
    real_write = audit_middleware.network_log_write

    def cut_then_write(**kwargs):
        terminate_backends(only=connection.connection.info.backend_pid)
        return real_write(**kwargs)

    monkeypatch.setattr(audit_middleware, "network_log_write", cut_then_write)
    caplog.set_level(logging.WARNING)
    response = client.get("/")
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "audit.network"]
    assert len(lines) == 1
    assert f"user={user.pk} " in lines[0] and "path=/ " in lines[0] and "status=200" in lines[0]
    monkeypatch.setattr(audit_middleware, "network_log_write", real_write)
    close_old_connections()  # what the server does when a request ends (the test client does not)
    assert client.get("/").status_code == 200  # and the next request writes its row again
    assert NetworkLog.objects.filter(user_id=user.pk, path="/", status=200).exists()


@pytest.mark.django_db(transaction=True)
def test_only_connection_failures_become_503_a_programming_error_stays_500(client, monkeypatch, database):
    user = UserFactory(username="down-bug")
    client.force_login(user)

    def broken(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_anywhere")

    monkeypatch.setattr(group_selectors, "group_list_for_user", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500

    # The classification itself, on real errors.
    with pytest.raises(ProgrammingError) as programming, transaction.atomic():
        broken()
    assert not unavailable.is_unavailable(programming.value)
    with pytest.raises(IntegrityError) as integrity, transaction.atomic():
        UserFactory(username="down-bug")
    assert not unavailable.is_unavailable(integrity.value)
    database.cut()
    with pytest.raises(OperationalError) as refused:
        connection.ensure_connection()
    assert unavailable.is_unavailable(refused.value)


# --- under a real server -------------------------------------------------------------------------------


def _get(url: str, cookie: str = "", accept: str = "text/html") -> tuple[int, Message, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Accept": accept})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture
def uvicorn_through_proxy(db_proxy):
    """uvicorn serving the platform, its database reached through ``db_proxy`` (persistent connections
    with health checks, as in production)."""
    port = free_port()
    settings_dict = connection.settings_dict
    log = Path(tempfile.gettempdir()) / f"qunzu-faults-uvicorn-{port}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": f"postgres://{settings_dict['USER']}@127.0.0.1:{db_proxy.port}/{settings_dict['NAME']}",
        "DATABASE_CONN_MAX_AGE": "60",
        "DATABASE_CONNECT_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
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
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    origin = f"http://127.0.0.1:{port}"

    def started() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited: {log.read_text()[-2000:]}")
        try:
            return _get(f"{origin}/healthz/")[0] == 200
        except OSError:
            return False

    try:
        wait_for(started, timeout=90, interval=0.2, what="uvicorn to start")
        yield origin, process, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


def _server_backends() -> list[int]:
    from tests.faults.conftest import admin_connection

    with admin_connection() as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            [connection.settings_dict["NAME"], connection.connection.info.backend_pid],
        ).fetchall()
    return [pid for (pid,) in rows]


@pytest.mark.django_db(transaction=True)
def test_under_uvicorn_killed_connections_give_503_then_the_next_request_succeeds(
    client, db_proxy, uvicorn_through_proxy
):
    origin, process, log = uvicorn_through_proxy
    user = UserFactory(username="down-asgi")
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    connection.ensure_connection()
    status, _headers, page = _get(f"{origin}/", cookie)
    assert status == 200 and user.display_name in page

    # The server's connections killed between requests: the health check replaces them, nothing fails.
    assert wait_for(_server_backends, what="the server's database connection")
    assert terminate_backends(spare=(connection.connection.info.backend_pid,)) >= 1
    assert _get(f"{origin}/", cookie)[0] == 200

    # The database out of reach: connections killed and new ones refused. Pages and the API answer 503.
    db_proxy.down()
    terminate_backends(spare=(connection.connection.info.backend_pid,))
    status, headers, page = _get(f"{origin}/", cookie)
    assert status == 503, page[:500]
    assert headers["Retry-After"] == str(unavailable.DEFAULT_RETRY_AFTER)
    assert _in("zh-hans", MESSAGE) in page and '<html lang="zh-hans">' in page
    status, headers, body = _get(f"{origin}/api/groups/", cookie, accept="application/json")
    assert status == 503 and json.loads(body)["code"] == "service_unavailable"
    assert headers["Retry-After"] == str(unavailable.DEFAULT_RETRY_AFTER)

    # Back: the very next request succeeds, in the same server process.
    db_proxy.up()
    status, _headers, page = _get(f"{origin}/", cookie)
    assert status == 200 and user.display_name in page
    assert _get(f"{origin}/api/groups/", cookie, accept="application/json")[0] == 200
    assert process.poll() is None
    assert "503 for GET /: a backing service is unavailable" in log.read_text()


@pytest.mark.django_db
def test_redis_out_of_reach_a_page_that_needs_it_answers_503_then_recovers(client, settings):
    """The sign-in throttle keeps its counters in Redis (the cache): with Redis gone, signing in answers
    503 (not 500, and not a sign-in without the throttle); with Redis back, it works."""
    from tests.factories import PASSWORD

    UserFactory(username="down-redis")
    client.raise_request_exception = False
    form = {"identifier": "down-redis", "password": PASSWORD}
    real_caches = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    _assert_page(client.post(reverse("login"), form), "zh-hans")
    assert settings.SESSION_COOKIE_NAME not in client.cookies

    settings.CACHES = real_caches
    response = client.post(reverse("login"), form)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
