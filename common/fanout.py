"""A chat group's events, fanned out to its sockets inside each server process (house rule 7: wake-ups
only; the database is the record).

The channel layer's ``group_send`` queues one copy per socket in Redis, and the process pops each copy back
with a round trip of its own: at 50 sockets in a group that was most of what a message cost (the
chat_fanout benchmark). Here a group's event leaves the publisher as one Redis ``PUBLISH``; every server
process holds one subscription per group that has sockets on it, decodes the event once and puts it in
each of those sockets' inboxes. Personal events (``user.<id>``) still go through the channel layer.

Without Redis (the embedded default of ``make run``, one process) the hub hands events over in memory.

When the subscription is lost (Redis restarted), events published meanwhile are lost with it: every socket
that was subscribed is told (``fanout_lost``) and closes, so that its client reconnects and resumes from
its last sequence number. A socket whose inbox grows past ``CHAT_SOCKET_BACKLOG`` (a client that stopped
reading) is treated the same way rather than holding everyone else up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Protocol
from urllib.parse import urlparse

from django.conf import settings

log = logging.getLogger(__name__)

ALIVE = "alive"  # the hub's own channel: the subscription connection is never without a channel
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
SUBSCRIBE_TIMEOUT = 5.0


class Subscriber(Protocol):
    def fanout_deliver(self, event: dict) -> None:
        """Take ``event`` without waiting (called from the hub's event loop)."""

    def fanout_lost(self) -> None:
        """Events for this subscriber may have been lost: make the client resume."""


def handles(channel_group: str) -> bool:
    """Chat groups' channels go through the hub; everything else through the channel layer."""
    return channel_group.startswith("chat.")


def _redis_config() -> tuple[str, str] | None:
    """(Redis URL, channel prefix) of the Redis channel layer, or None without one."""
    layer = settings.CHANNEL_LAYERS.get("default", {})
    if not layer.get("BACKEND", "").startswith("channels_redis."):
        return None
    config = layer.get("CONFIG", {})
    host = (config.get("hosts") or ["redis://127.0.0.1:6379/0"])[0]
    url = host.get("address") if isinstance(host, dict) else host
    if not isinstance(url, str):  # (host, port) pairs of old configurations
        url = f"redis://{url[0]}:{url[1]}/0"
    # Redis' publish/subscribe spans all its databases: the database number keeps deployments (and test
    # runs) that share one server apart.
    database = urlparse(url).path.strip("/") or "0"
    return url, f"{config.get('prefix', 'asgi')}:fanout:{database}:"


def encode(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class _Hub:
    """One event loop's subscriptions: channel group -> the subscribers of this loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.subscribers: dict[str, set[Subscriber]] = {}

    def deliver(self, channel_group: str, event: dict) -> None:
        for subscriber in tuple(self.subscribers.get(channel_group, ())):
            try:
                subscriber.fanout_deliver(event)
            except Exception:  # one socket's failure must not cost the others their event
                log.exception("fan-out delivery failed")

    def lose_all(self) -> None:
        lost = {subscriber for group in self.subscribers.values() for subscriber in group}
        for subscriber in lost:
            try:
                subscriber.fanout_lost()
            except Exception:
                log.exception("fan-out loss notice failed")


class _MemoryHub(_Hub):
    async def subscribe(self, channel_group: str, subscriber: Subscriber) -> None:
        self.subscribers.setdefault(channel_group, set()).add(subscriber)

    async def unsubscribe(self, channel_group: str, subscriber: Subscriber) -> None:
        members = self.subscribers.get(channel_group)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self.subscribers[channel_group]


class _RedisHub(_Hub):
    """One subscription connection per event loop; a listener task reads it and delivers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, url: str, prefix: str):
        super().__init__(loop)
        self.url, self.prefix = url, prefix
        self.client = None  # for PUBLISH from this loop
        self.pubsub = None
        self.listener: asyncio.Task | None = None
        self.confirmations: dict[str, asyncio.Future] = {}
        self.connected = asyncio.Event()

    def _client(self):
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No silent reconnects: a lost subscription must be noticed (the events meanwhile are gone).
        return aioredis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), health_check_interval=0)

    async def publish(self, channel_group: str, data: bytes) -> None:
        if self.client is None:
            self.client = self._client()
        await self.client.publish(self.prefix + channel_group, data)

    async def subscribe(self, channel_group: str, subscriber: Subscriber) -> None:
        members = self.subscribers.setdefault(channel_group, set())
        first = not members
        members.add(subscriber)
        if not first:
            return
        try:
            await self._start()
            await self._subscribe_remote(channel_group)
        except BaseException:
            await self.unsubscribe(channel_group, subscriber)
            raise

    async def _start(self) -> None:
        if self.listener is None or self.listener.done():
            self.connected.clear()
            self.listener = self.loop.create_task(self._listen(), name="chat-fanout")
        await asyncio.wait_for(self.connected.wait(), SUBSCRIBE_TIMEOUT)

    async def _subscribe_remote(self, channel_group: str) -> None:
        """SUBSCRIBE, and wait for Redis to confirm it: an event published after this returns reaches us."""
        name = self.prefix + channel_group
        confirmed = self.confirmations.get(name)
        if confirmed is None:
            confirmed = self.confirmations[name] = self.loop.create_future()
            await self.pubsub.subscribe(name)
        await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)

    async def unsubscribe(self, channel_group: str, subscriber: Subscriber) -> None:
        members = self.subscribers.get(channel_group)
        if members is None:
            return
        members.discard(subscriber)
        if members:
            return
        del self.subscribers[channel_group]
        name = self.prefix + channel_group
        self.confirmations.pop(name, None)
        if self.pubsub is not None and self.connected.is_set():
            try:
                await self.pubsub.unsubscribe(name)
            except Exception:  # the listener notices a broken connection and starts over
                log.debug("fan-out unsubscribe failed", exc_info=True)

    async def _listen(self) -> None:
        """Read the subscription until the loop ends; after a lost connection, tell every subscriber and
        connect again with a growing delay."""
        failures = 0
        while True:
            client = self._client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.prefix + ALIVE, *(self.prefix + g for g in self.subscribers))
                self.pubsub = pubsub
                self.confirmations = {}
                self.connected.set()
                failures = 0
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("chat fan-out subscription lost; sockets will resume", exc_info=True)
            finally:
                self.connected.clear()
                self.pubsub = None
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:
                    log.debug("closing the lost subscription failed", exc_info=True)
            for confirmed in self.confirmations.values():
                if not confirmed.done():
                    confirmed.set_exception(ConnectionError("the chat fan-out subscription was lost"))
            self.confirmations = {}
            self.lose_all()
            self.subscribers.clear()  # each socket subscribes again when its client reconnects
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    def _on_message(self, message: dict) -> None:
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else name
        if message["type"] == "subscribe":
            confirmed = self.confirmations.get(name)
            if confirmed is None:  # subscribed when the connection was made
                confirmed = self.confirmations[name] = self.loop.create_future()
            if not confirmed.done():
                confirmed.set_result(True)
            return
        if message["type"] != "message":
            return
        try:
            event = json.loads(message["data"])
        except ValueError:
            log.warning("undecodable chat fan-out event on %s", name)
            return
        self.deliver(name.removeprefix(self.prefix), event)


_hubs: dict[tuple, _Hub] = {}  # (event loop, Redis URL and prefix or None) -> hub
_hubs_lock = threading.Lock()


def _hub() -> _Hub:
    loop = asyncio.get_running_loop()
    config = _redis_config()
    key = (loop, config)
    hub = _hubs.get(key)
    if hub is None:
        with _hubs_lock:
            for stale in [k for k in _hubs if k[0].is_closed()]:
                del _hubs[stale]
            hub = _hubs.setdefault(key, _RedisHub(loop, *config) if config else _MemoryHub(loop))
    return hub


async def subscribe(channel_group: str, subscriber: Subscriber) -> None:
    await _hub().subscribe(channel_group, subscriber)


async def unsubscribe(channel_group: str, subscriber: Subscriber) -> None:
    await _hub().unsubscribe(channel_group, subscriber)


_sync_clients: dict[str, object] = {}


def _memory_deliver(channel_group: str, event: dict) -> None:
    """Every loop's subscribers, each in its own loop (a service may publish from a worker thread)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for (loop, config), hub in list(_hubs.items()):
        if config is not None or loop.is_closed():
            continue
        if loop is running:
            hub.deliver(channel_group, event)
        else:
            loop.call_soon_threadsafe(hub.deliver, channel_group, event)


async def publish(channel_group: str, event: dict) -> None:
    """From async code in this process's event loop."""
    config = _redis_config()
    if config is None:
        _memory_deliver(channel_group, event)
        return
    await _hub().publish(channel_group, encode(event))


def publish_sync(channel_group: str, event: dict) -> None:
    """From sync code (a service after commit, in a request thread, a task or a command)."""
    config = _redis_config()
    if config is None:
        _memory_deliver(channel_group, event)
        return
    url, prefix = config
    client = _sync_clients.get(url)
    if client is None:
        import redis

        client = _sync_clients.setdefault(url, redis.Redis.from_url(url))
    client.publish(prefix + channel_group, encode(event))
