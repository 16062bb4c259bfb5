"""The platform under a real uvicorn, in a thread of the test process (so it sees the test database and
settings): for what only the real server decides, frame sizes, invalid UTF-8 on the wire, raw requests."""

from __future__ import annotations

import asyncio
import socket as sockets
import threading
import time

import uvicorn
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client


def _free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, **options):
        from config.asgi import application

        self.port = _free_port()
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.run(self.server.serve())

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def raw(self, request: bytes, *, timeout: float = 10) -> bytes:
        """Send ``request`` as it is (no client tidies it up) and return the whole answer."""
        with sockets.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            conn.sendall(request)
            chunks = []
            while True:
                try:
                    chunk = conn.recv(65536)
                except (ConnectionResetError, TimeoutError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


def serve():
    """For a module's fixture: ``yield from serve()``."""
    server = LiveServer().start()
    yield server
    server.stop()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def body_of(answer: bytes) -> str:
    return answer.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
