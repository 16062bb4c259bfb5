"""Optional virus scanning of files by ClamAV's daemon, clamd, over TCP (R10.1). No package needed.

Off unless ``SCREENING_CLAMD_HOST`` is set. The INSTREAM command: ``zINSTREAM\\0``, then the data in chunks,
each prefixed with its length as a 4-byte big-endian number, then a zero-length chunk; clamd answers
``stream: OK`` or ``stream: <signature> FOUND`` (NUL-terminated after a ``z`` command), or a line ending
in ``ERROR`` (for instance when the data is longer than its ``StreamMaxLength``, 25 MB by default).

Anything but a clear answer raises ``ScanUnavailable``: the caller refuses the file rather than publish
it unscanned (fail closed).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from django.conf import settings

CHUNK_BYTES = 64 * 1024
REPLY_LIMIT = 4096  # clamd's answers are one short line


class ScanUnavailable(Exception):
    """clamd could not be reached, timed out, refused the stream or answered something unexpected."""


@dataclass(frozen=True)
class ScanResult:
    signature: str = ""  # the name of what clamd found; empty when the data is clean

    @property
    def found(self) -> bool:
        return bool(self.signature)


def _host() -> str:
    return str(getattr(settings, "SCREENING_CLAMD_HOST", "") or "").strip()


def enabled() -> bool:
    """Virus scanning is on when a clamd host is configured (off by default)."""
    return bool(_host())


def _address() -> tuple[str, int, float]:
    port = int(getattr(settings, "SCREENING_CLAMD_PORT", 3310))
    timeout = float(getattr(settings, "SCREENING_CLAMD_TIMEOUT", 10.0))
    return _host(), port, timeout


def _read_reply(connection: socket.socket) -> str:
    reply = b""
    while b"\0" not in reply and len(reply) < REPLY_LIMIT:
        chunk = connection.recv(1024)
        if not chunk:
            break
        reply += chunk
    return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def parse_reply(reply: str) -> ScanResult:
    """``stream: OK`` is clean, ``stream: <name> FOUND`` is a find; anything else is no answer."""
    if reply.endswith("FOUND"):
        body = reply.split(":", 1)[1] if ":" in reply else reply
        signature = body[: -len("FOUND")].strip()
        return ScanResult(signature or "unknown")
    if reply.endswith(": OK") or reply == "OK":
        return ScanResult()
    raise ScanUnavailable(f"clamd answered {reply[:200]!r}" if reply else "clamd closed without an answer")


def scan(data: bytes) -> ScanResult:
    """Send ``data`` to clamd with INSTREAM and read its verdict. Raises ``ScanUnavailable``."""
    host, port, timeout = _address()
    if not host:
        raise ScanUnavailable("virus scanning is not configured")
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            try:
                connection.sendall(b"zINSTREAM\0")
                view = memoryview(data)
                for start in range(0, len(view), CHUNK_BYTES):
                    chunk = view[start : start + CHUNK_BYTES]
                    connection.sendall(struct.pack(">I", len(chunk)))
                    connection.sendall(chunk)
                connection.sendall(struct.pack(">I", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stops reading when the stream is over its limit; its answer says why
            reply = _read_reply(connection)
    except TimeoutError as error:
        raise ScanUnavailable(f"clamd at {host}:{port} did not answer in {timeout:g} s") from error
    except OSError as error:
        raise ScanUnavailable(f"clamd at {host}:{port}: {error}") from error
    return parse_reply(reply)
