"""Realtime wake-ups, sent only after the transaction commits (house rule 7: persist before broadcast).

The channel layer may drop a wake-up; clients resume from their last sequence number, so the database
stays the record.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import contextmanager
from contextvars import ContextVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from common import fanout

log = logging.getLogger(__name__)


def group_channel(group_id: int) -> str:
    return f"chat.{group_id}"


# R11.2: the close code of a chat socket whose account is suspended (refused before it opens, or closed at the
# suspension): the client stops; reconnecting will not help until the suspension ends.
CLOSE_SUSPENDED = 4403


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


def _is_connection_error(exc: Exception) -> bool:
    # redis-py's ConnectionError is not the built-in one; both mean the command did not reach the server.
    return isinstance(exc, (ConnectionError, OSError)) or type(exc).__name__ == "ConnectionError"


async def once_more(call, *args):
    """Call the channel layer, and once more if the connection failed: after a Redis restart the first
    command on each pooled connection fails while the next one reconnects. Other failures are not retried,
    so nothing is delivered twice."""
    try:
        return await call(*args)
    except Exception as exc:
        if not _is_connection_error(exc):
            raise
        log.warning("channel layer connection failed; trying once more", exc_info=True)
        return await call(*args)


_outbox: ContextVar[list | None] = ContextVar("realtime_outbox", default=None)


@contextmanager
def collected():
    """Inside this block, what would be published (after commit, as always) is collected in the list it
    yields instead: the chat socket sends it from its own event loop with ``publish``, rather than
    holding its database thread while the loop does the sending."""
    box: list[tuple[str, dict]] = []
    token = _outbox.set(box)
    try:
        yield box
    finally:
        _outbox.reset(token)


# Striped, so that a process that has served a million groups does not keep a lock for each; two groups
# on one stripe only take turns with each other.
_turns = [threading.Lock() for _ in range(256)]
_turn: ContextVar[str | None] = ContextVar("realtime_turn", default=None)


@contextmanager
def in_turn(channel_group: str):
    """Commits whose events go to ``channel_group`` take turns in this process, and what each publishes on
    commit inside the block goes out at once, before the next one commits: its events leave in commit order
    (a group's sequence order) whichever thread committed them. Use it around the statement or transaction
    that commits, so that the lock is held only for that and the publishing."""
    with _turns[hash(channel_group) % len(_turns)]:
        token = _turn.set(channel_group)
        try:
            yield
        finally:
            _turn.reset(token)


_in_order: dict[tuple, list] = {}  # (event loop, channel group) -> [lock, callers holding or awaiting it]


async def publish(channel_group: str, event: dict) -> None:
    """Send ``event`` to ``channel_group`` now, from async code (the caller has committed). Calls for one
    group go out one after another in the order they were made (an asyncio lock is first come, first
    served): messages committed in sequence order reach the layer in that order, whichever pooled Redis
    connection each send takes."""
    if fanout.handles(channel_group):
        send = fanout.publish
    else:
        layer = get_channel_layer()
        if layer is None:
            return
        send = layer.group_send
    key = (id(asyncio.get_running_loop()), channel_group)  # a lock belongs to one event loop
    entry = _in_order.setdefault(key, [asyncio.Lock(), 0])
    entry[1] += 1
    try:
        async with entry[0]:
            await once_more(send, channel_group, event)
    except Exception:  # a lost wake-up is recovered by resume; it must never undo a committed action
        log.exception("realtime publish to %s failed", channel_group)
    finally:
        entry[1] -= 1
        if not entry[1]:
            _in_order.pop(key, None)


def publish_now(channel_group: str, event: dict) -> None:
    box = _outbox.get()
    if box is not None and _turn.get() != channel_group:
        box.append((channel_group, event))
        return
    if fanout.handles(channel_group):
        try:
            fanout.publish_sync(channel_group, event)
        except Exception:  # as in ``publish``: resume recovers a lost wake-up
            log.exception("realtime publish to %s failed", channel_group)
        return
    async_to_sync(publish)(channel_group, event)


def publish_on_commit(channel_group: str, event: dict) -> None:
    """Send ``event`` to ``channel_group`` once the surrounding transaction has committed."""
    transaction.on_commit(lambda: publish_now(channel_group, event))
