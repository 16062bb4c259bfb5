"""Delivery backends of regulator reports (R11.4).

``REPORTS_ENDPOINT_URL`` set: HTTPS POST of the canonical payload with the headers ``Idempotency-Key`` (the
same on every attempt), ``X-Report-Signature`` ("alg=HMAC-SHA256;kid=...;sig=...") and a timeout
(``REPORTS_HTTP_TIMEOUT``). A 2xx answer whose JSON body says ``"acknowledged": true`` (or
``"status": "acknowledged"``) acknowledges the report (its ``receipt`` is kept); any other 2xx delivers it;
everything else (an error status, a timeout, a refused connection) fails the attempt.

Otherwise the directory drop (``REPORTS_DROP_DIR``): the signed document is written atomically (a temporary
file in the same directory, mode 0640, flushed and fsynced, then renamed, and the directory fsynced so that
the rename survives a crash), one file per idempotency key.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from reports import signing


@dataclass(frozen=True)
class Result:
    ok: bool
    backend: str
    acknowledged: bool = False
    receipt: str = ""
    error: str = ""
    # The endpoint itself is out of reach (refused, reset, timed out, 408/429/5xx), not this report: the
    # run stops and the reports after it wait with it (reports.services.reports_deliver_due).
    unavailable: bool = False


def document(report) -> dict:
    """The signed document: the payload and its signature (the file format of the directory drop)."""
    return {
        "payload": report.payload,
        "signature": {"alg": signing.ALGORITHM, "key_id": report.key_id, "value": report.signature},
    }


def document_bytes(report) -> bytes:
    return json.dumps(document(report), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def deliver(report) -> Result:
    """One attempt; whatever goes wrong (a malformed answer included) is a failed attempt, never an error
    that would stop the run or the register's redelivery."""
    backend = "https" if settings.REPORTS_ENDPOINT_URL else "directory"
    try:
        if settings.REPORTS_ENDPOINT_URL:
            return _post(report, settings.REPORTS_ENDPOINT_URL)
        return _drop(report, Path(settings.REPORTS_DROP_DIR))
    except Exception as exc:  # e.g. http.client.LineTooLong, BadStatusLine, IncompleteRead
        return Result(ok=False, backend=backend, error=f"{type(exc).__name__}: {exc}"[:500])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a bodyless GET (and send the signature elsewhere): it fails the
    attempt instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
UNAVAILABLE_STATUSES = (408, 429)  # and every 5xx


def endpoint_allowed(url: str) -> bool:
    """https only; plain http only to this machine (a local receiver, the tests' fake regulator)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0] in LOOPBACK_HOSTS


DROP_FILE_MODE = 0o640  # the owner writes, the collecting group reads, nobody else


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX: the directory entry is flushed)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        handle = os.open(directory, flags)
    except OSError:
        if os.name == "nt":  # directories cannot be opened (nor need to be synced) there
            return
        raise
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _drop(report, directory: Path) -> Result:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{report.idempotency_key}.json"
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "wb") as out:
                if hasattr(os, "fchmod"):
                    os.fchmod(out.fileno(), DROP_FILE_MODE)  # mkstemp makes 0600; the umask does not apply
                out.write(document_bytes(report))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
            _fsync_directory(directory)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        return Result(ok=False, backend="directory", error=f"{type(exc).__name__}: {exc}")
    return Result(ok=True, backend="directory", receipt=str(target))


def _post(report, url: str) -> Result:
    if not endpoint_allowed(url):  # never file:, other schemes, or plain http over the network
        return Result(ok=False, backend="https", error="REPORTS_ENDPOINT_URL must be an https:// address")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=signing.canonical(report.payload),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": report.idempotency_key,
            "X-Report-Signature": signing.header(report.key_id, report.signature),
            "X-Report-Format-Version": report.format_version,
        },
    )
    try:
        with _opener.open(request, timeout=settings.REPORTS_HTTP_TIMEOUT) as response:
            status, body = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        down = exc.code in UNAVAILABLE_STATUSES or exc.code >= 500
        return Result(ok=False, backend="https", error=f"HTTP {exc.code}", unavailable=down)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        down = isinstance(exc, OSError) and not isinstance(reason, ValueError)  # URLError is an OSError
        return Result(ok=False, backend="https", error=f"{type(exc).__name__}: {reason}", unavailable=down)
    if not 200 <= status < 300:
        return Result(ok=False, backend="https", error=f"HTTP {status}")
    try:
        answer = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    acknowledged = answer.get("acknowledged") is True or answer.get("status") == "acknowledged"
    return Result(
        ok=True, backend="https", acknowledged=acknowledged, receipt=str(answer.get("receipt", ""))[:200]
    )
