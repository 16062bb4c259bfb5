"""A database (or Redis) that cannot be reached answers 503, never 500 (issue 13's fault list).

``ServiceUnavailableMiddleware`` turns a *connection-level* failure into HTTP 503 with a ``Retry-After``
header: a standalone page (``templates/503.html``, rendered without context processors, so nothing on it
needs the database) in the visitor's language, or ``{"code": "service_unavailable", "detail": ...}`` for
``/api/`` (and ``/healthz/``, and clients that ask for JSON only). Programming errors stay errors: a
ProgrammingError, an IntegrityError, a missing table on SQLite are still 500s.

Where it catches:

- an exception from a view (``process_exception``; DRF re-raises errors it does not know, so API views
  too);
- an exception raised by another middleware (the session saved in ``SessionMiddleware``, the user loaded
  lazily): Django turns those into 500 responses layer by layer, so ``got_request_exception`` marks the
  request and this middleware (placed before ``SessionMiddleware``) replaces that 500 by the 503.

R13.2: a request that met an unreachable database leaves no network-log row (it cannot be written); its
fields (user if known, address, port, method, path, status) are logged to ``audit.network`` at WARNING.

Nothing half-written is left behind: services write in ``transaction.atomic`` and PostgreSQL rolls back a
transaction whose connection died. Recovery needs no restart: ``CONN_HEALTH_CHECKS`` (config/settings.py)
replaces a dropped persistent connection at the next request, and Django closes an unusable one when the
failed request ends. ``SERVICE_UNAVAILABLE_RETRY_AFTER`` (seconds, default 30) sets the header.
"""

from __future__ import annotations

import logging
import sqlite3
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import utils as db_utils
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from common.actors import client_address

logger = logging.getLogger(__name__)
network_fallback_log = logging.getLogger("audit.network")

DEFAULT_RETRY_AFTER = 30
MARK = "_service_unavailable"
# PostgreSQL SQLSTATE classes of a lost or refused connection, an overloaded or restarting server, a
# cancelled statement and a transaction the server rolled back to break a deadlock: all pass by themselves.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")
SQLITE_TRANSIENT = ("database is locked", "unable to open database file", "disk i/o error")

try:  # Redis is optional (the embedded default runs without it)
    from redis import exceptions as redis_exceptions

    REDIS_ERRORS: tuple[type[BaseException], ...] = (
        redis_exceptions.ConnectionError,
        redis_exceptions.TimeoutError,
    )
except ImportError:  # pragma: no cover
    REDIS_ERRORS = ()


def is_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` says a backing service cannot be reached right now (the connection dropped or was
    refused, the server is restarting or full); False for everything a retry would not cure."""
    if exc is None:
        return False
    if isinstance(exc, REDIS_ERRORS):
        return True
    if isinstance(exc, db_utils.InterfaceError):  # the connection is closed or broken
        return True
    if not isinstance(exc, db_utils.OperationalError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).lower().startswith(SQLITE_TRANSIENT)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:  # psycopg: no answer from the server at all (refused, reset, timed out)
        return True
    return str(sqlstate)[:2] in TRANSIENT_SQLSTATE_CLASSES


def retry_after() -> int:
    return int(getattr(settings, "SERVICE_UNAVAILABLE_RETRY_AFTER", DEFAULT_RETRY_AFTER))


def _language(request) -> str:
    code = getattr(request, "LANGUAGE_CODE", "") or request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return code if code in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _wants_json(request) -> bool:
    if request.path.startswith(("/api/", "/healthz/")):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def unavailable_response(request) -> HttpResponse:
    """The 503 answer: JSON for the API, else the standalone page; both say to try again shortly."""
    seconds = retry_after()
    language = _language(request)
    with translation.override(language):
        detail = _("The service is briefly unavailable. Please try again in a moment.")
        if _wants_json(request):
            response = JsonResponse({"code": "service_unavailable", "detail": detail}, status=503)
        else:
            page = loader.get_template("503.html").render({"retry_after": seconds, "language": language})
            response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = language
    return response


# A cancelled statement (a statement timeout) and a deadlock pass by themselves too, but they may be the
# platform's own doing (a slow query, locks taken in two orders): still a 503, logged as an error to be seen.
OWN_DOING_SQLSTATES = ("57014", "40P01")


def _log(request, exc: BaseException) -> None:
    own_doing = str(getattr(exc.__cause__, "sqlstate", "") or "") in OWN_DOING_SQLSTATES
    (logger.error if own_doing else logger.warning)(
        "503 for %s %s: a backing service is unavailable (%s: %s)",
        request.method,
        request.path,
        type(exc).__name__,
        str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "",
    )


def _mark_request(sender, request=None, **kwargs) -> None:
    """``got_request_exception``: remember that the failure Django is turning into a 500 is a connection
    failure, so that the middleware can answer 503 instead."""
    exc = sys.exc_info()[1]
    if request is not None and is_unavailable(exc):
        setattr(request, MARK, exc)


got_request_exception.connect(_mark_request, dispatch_uid="common.unavailable.mark_request")


def database_unavailable(request) -> bool:
    """True once this request has met an unreachable database (other middleware then skip their own
    database work, e.g. the network-log row, instead of waiting for it again)."""
    return isinstance(getattr(request, MARK, None), db_utils.DatabaseError)


def mark_unavailable(request, exc: BaseException) -> None:
    """Another middleware met the outage (e.g. the network-log row could not be written)."""
    setattr(request, MARK, exc)


def _network_log_fallback(request, status: int) -> None:
    """R13.2: the network-log row of a request that met an unreachable database could not be written (or
    the request never reached the network-log middleware): its fields go to the log ``audit.network`` at
    WARNING instead, for the operator's log collection. The user only if already known (loading it would
    need the database)."""
    user = getattr(request, "_cached_user", None)
    user_id = getattr(user, "pk", None) if user is not None else None
    ip, port = client_address(request.META)
    network_fallback_log.warning(
        "network log row not written (database unavailable): kind=http user=%s ip=%s port=%s method=%s "
        "path=%s status=%s",
        user_id if user_id is not None else "-",
        ip,
        port,
        request.method[:8],
        request.path.replace("\x00", "")[:300],
        status,
    )


class ServiceUnavailableMiddleware:
    """Place it before ``SessionMiddleware`` (it then also covers the session save)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, MARK, None)
        if exc is not None and response.status_code >= 500 and response.status_code != 503:
            _log(request, exc)
            response = unavailable_response(request)
        if database_unavailable(request):
            _network_log_fallback(request, response.status_code)
        return response

    def process_exception(self, request, exception):
        if not is_unavailable(exception):
            return None  # a programming error stays a 500 (and is logged as one)
        setattr(request, MARK, exception)
        _log(request, exception)
        return unavailable_response(request)
