"""A Redis restart during live chat loses nothing (house rule 7): the channel layer's wake-ups are lost with
it, the sockets that depended on it are closed so that their clients reconnect, and a resume from the last
sequence number brings every message exactly once, in order. The test runs its own Redis on another port
and restarts it."""

import asyncio
import shutil
import socket as sockets
import subprocess
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from groups import services
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]


def _free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self):
        self.port = _free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                with sockets.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(settings):
    redis = PrivateRedis()
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{redis.port}/0"], "capacity": 1000, "expiry": 30},
        }
    }
    channel_layers.backends.clear()
    yield redis
    redis.stop()
    channel_layers.backends.clear()


def _send(user, group, body, cmid):
    return services.message_send(actor=actor_for(user), group=group, body=body, client_msg_id=cmid)


async def _outcome(socket, timeout=5.0):
    """What the server does with the socket next: a frame, a close, or the consumer's failure."""
    try:
        return await socket.receive_output(timeout=timeout)
    except TimeoutError:
        return {"type": "timeout"}
    except Exception as exc:  # the consumer died: the server closes the socket (1011), the client reconnects
        return {"type": "failed", "error": repr(exc)}


async def _reconnect_and_resume(user, group, *, after: int, attempts: int = 6):
    """What the page does: reconnect with a short backoff until a socket holds (right after the restart
    each process's pooled connections fail once more), then resume after the last sequence number."""
    failures = []
    for attempt in range(attempts):
        socket, connected, _ = await open_socket(user)
        if connected:
            try:
                await receive_type(socket, "hello")
                await socket.send_json_to({"type": "resume", "group": group.code, "after": after})
                return socket, await receive_type(socket, "history")
            except Exception as exc:  # the consumer died on a stale connection: the client tries again
                failures.append(repr(exc))
        await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError(f"the socket did not come back after the Redis restart: {failures}")


async def test_redis_restart_r13_2_loses_nothing(private_redis, owner, member, group):
    reader, connected, _ = await open_socket(member)
    assert connected
    await receive_type(reader, "hello")
    await database_sync_to_async(_send)(owner, group, "第一条", "rr1")
    assert (await receive_type(reader, "message"))["message"]["seq"] == 1

    private_redis.stop()
    await database_sync_to_async(_send)(owner, group, "Redis 停了也要保存", "rr2")  # committed; wake-up lost
    private_redis.start()
    await database_sync_to_async(_send)(owner, group, "Redis 回来了", "rr3")

    outcome = await _outcome(reader)
    assert outcome["type"] in ("websocket.close", "failed"), outcome  # the client is made to reconnect

    again, history = await _reconnect_and_resume(member, group, after=1)
    assert [m["seq"] for m in history["messages"]] == [2, 3]
    assert [m["body"] for m in history["messages"]] == ["Redis 停了也要保存", "Redis 回来了"]
    await database_sync_to_async(_send)(owner, group, "一切如常", "rr4")
    assert (await receive_type(again, "message"))["message"]["seq"] == 4  # live again after the restart
    await again.disconnect()
