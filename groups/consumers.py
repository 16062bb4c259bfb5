"""The chat socket: one per signed-in browser tab, carrying all of the member's groups.

The protocol (frames, fields, error codes, versions) is documented in ``docs/protocol.md``; keep the two
together. Every frame goes through the same services and policies as the page and the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from audit.models import NetworkLogKind
from audit.services import network_log_write
from common import fanout, realtime
from common.actors import Actor
from common.policies import PolicyDenied
from common.realtime import group_channel, once_more, user_channel
from groups import codes, selectors, services
from identity import policies as identity_policies
from identity import selectors as identity_selectors
from notifications import selectors as notification_selectors

log = logging.getLogger(__name__)


CONNECTION_CHECK_SECONDS = 1.0
ACK_WAIT_SECONDS = 5.0  # at most this long does a socket hold its own message back for the ack


class FrameSyncToAsync(SyncToAsync):
    """A frame's database work in a thread beside the event loop.

    Channels checks the database connection before and after every call, which with health checks on is
    one more round trip per frame; here each thread checks its connection at most once a second, after
    any frame of its own that failed, and before its next frame once any thread lost its connection (the
    database restarted: every thread's connection is gone), so a dropped connection costs at most one
    frame and is replaced without a restart."""

    _checked = threading.local()
    connection_lost_at = 0.0

    def thread_handler(self, loop, *args, **kwargs):
        now = time.monotonic()
        kept = connection.settings_dict.get("CONN_MAX_AGE") != 0  # otherwise closed after every frame
        checked_at = getattr(self._checked, "at", 0.0)
        due = (
            now - checked_at >= CONNECTION_CHECK_SECONDS or checked_at <= FrameSyncToAsync.connection_lost_at
        )
        if not kept or due:
            self._checked.at = now
            close_old_connections()
            if checked_at <= FrameSyncToAsync.connection_lost_at and not _usable(connection):
                connection.close()  # a frame that opens a transaction first would not notice it is gone
        try:
            return super().thread_handler(loop, *args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, (InterfaceError, OperationalError)):
                FrameSyncToAsync.connection_lost_at = time.monotonic()
            close_old_connections()
            raise


def _usable(db) -> bool:
    return db.connection is None or db.is_usable()


def in_thread(function):
    """Reads, recalls and the like: the one thread Channels keeps for the sockets."""
    return FrameSyncToAsync(function, thread_sensitive=True)


_send_threads: ThreadPoolExecutor | None = None


def in_send_thread(function):
    """A send: one of ``CHAT_SEND_THREADS`` threads, each with its own database connection, so that while
    one send waits for PostgreSQL the others go on (a send is mostly waiting: about a quarter of its time is
    the interpreter's). A socket's own frames still go one after another, and a group's commits take turns
    (``realtime.in_turn``), so its members hear its messages in sequence order."""
    global _send_threads
    if _send_threads is None:
        _send_threads = ThreadPoolExecutor(settings.CHAT_SEND_THREADS, thread_name_prefix="chat-send")
    return FrameSyncToAsync(function, thread_sensitive=False, executor=_send_threads)


# A frame longer than this is refused unread (a send's body at its longest, every character escaped as
# a surrogate pair's two \uXXXX, fits with room to spare). Longer than the server's own limit (uvicorn's
# --ws-max-size, 16 MiB by default) it never arrives: the server closes the socket with 1009.
FRAME_MAX_CHARS = max(16 * 1024, settings.CHAT_MESSAGE_MAX_LENGTH * 12 + 1024)
PROTOCOL_VERSION = 2  # 2: recall, read, mentions, retry_after in errors
CLOSE_UNAUTHENTICATED = 4401
CLOSE_RESUME = 1012  # "service restart": the client reconnects at once and resumes from its last seq


def _valid_client_msg_id(value: str) -> bool:
    return codes.client_msg_id_clean(value) is not None


def _text(value) -> str:
    """A frame field as text: anything but a string counts as empty."""
    return value if isinstance(value, str) else ""


class FanoutInbox:
    """A socket's side of the process's fan-out hub (``common.fanout.Subscriber``): the events of its
    channel groups go into an inbox that the socket's own task drains in order, so that a slow client
    holds up nobody else."""

    inbox: asyncio.Queue | None = None
    pump: asyncio.Task | None = None
    in_fanout = False
    greeted: asyncio.Event | None = None  # set once the socket may carry events (after the chat's hello)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._leave_fanout()

    def fanout_channels(self) -> list[str]:
        raise NotImplementedError

    async def _join_fanout(self, *, hold: bool = False) -> None:
        """Subscribe; with ``hold``, events wait in the inbox until ``greeted`` is set."""
        self.inbox = asyncio.Queue()
        self.greeted = asyncio.Event()
        if not hold:
            self.greeted.set()
        self.pump = asyncio.get_running_loop().create_task(self._drain_inbox())
        self.in_fanout = True
        for channel_group in self.fanout_channels():
            await fanout.subscribe(channel_group, self)

    async def _leave_fanout(self) -> None:
        if not self.in_fanout:
            return
        self.in_fanout = False
        if self.pump is not None:
            self.pump.cancel()
            self.pump = None
        for channel_group in self.fanout_channels():
            await fanout.unsubscribe(channel_group, self)

    def fanout_deliver(self, event: dict) -> None:
        if self.inbox is None or self.pump is None:
            return
        if self.inbox.qsize() >= settings.CHAT_SOCKET_BACKLOG:  # the client stopped reading
            self.fanout_lost()
            return
        self.inbox.put_nowait(event)

    def fanout_lost(self) -> None:
        """Events of this socket's groups may have been lost: the client reconnects and resumes."""
        if self.pump is not None:
            self.pump.cancel()
            self.pump = None
            asyncio.get_running_loop().create_task(self._close_quietly(CLOSE_RESUME))

    async def _close_quietly(self, code: int) -> None:
        with contextlib.suppress(OSError):  # the client may have gone already
            await self.close(code=code)

    async def _drain_inbox(self) -> None:
        inbox = self.inbox
        await self.greeted.wait()
        while True:
            event = await inbox.get()
            try:
                await self.dispatch(event)
            except OSError:  # the client has gone (uvicorn's ClientDisconnected): nothing to close
                log.debug("chat event not delivered: the client has gone")
                self.pump = None
                return
            except Exception:  # one bad event: the client resumes on reconnect
                log.warning("chat event not delivered; closing the socket", exc_info=True)
                self.fanout_lost()
                return


class ChatConsumer(FanoutInbox, AsyncJsonWebsocketConsumer):
    """Personal events arrive through the channel layer; the events of the member's groups through the
    process's fan-out hub (``FanoutInbox``)."""

    personal: str | None = None  # the personal channel group this socket has joined

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # ``disconnect`` does not run when the client left while ``connect`` was under way (uvicorn then
            # ends the socket quietly) or a handler failed; the personal channel's membership would stay
            # in Redis for the layer's group expiry (a day), each personal event copied to a dead channel.
            try:
                await self._leave_personal()
            except Exception:
                log.warning("personal channel not left", exc_info=True)

    async def _leave_personal(self) -> None:
        personal, self.personal = self.personal, None
        if personal is not None:
            await self.channel_layer.group_discard(personal, self.channel_name)

    def fanout_channels(self) -> list[str]:
        groups = [group_channel(group_id) for group_id in getattr(self, "groups_by_id", {})]
        return [services.PLATFORM_CHANNEL, *groups]

    async def dispatch(self, message):
        """Channels closes stale database connections before every event, a hop into a shared thread for
        each frame on each socket; this consumer's database work goes through ``in_thread`` or
        ``database_sync_to_async``, which do that themselves, so events go straight to their handler."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.unacked: dict[str, asyncio.Event] = {}  # client message id -> set once its ack is sent
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        chosen = (self.scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME, "")
        self.language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        self.actor = Actor.from_scope(self.scope)
        # The personal channel first: a join or leave between reading the groups and subscribing is not lost.
        self.personal = user_channel(user.pk)
        await once_more(self.channel_layer.group_add, self.personal, self.channel_name)
        self.groups_by_id: dict[int, str] = await database_sync_to_async(selectors.group_ids_for_user)(user)
        # Subscribed before the groups are listed in hello (nothing published after it is missed), but the
        # events wait until hello has gone: the protocol's first frame is hello.
        await self._join_fanout(hold=True)
        await self.accept()
        await in_thread(network_log_write)(actor=self.actor, kind=NetworkLogKind.WS_CONNECT)
        await self.send_json(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "user": {"id": user.pk, "nickname": user.display_name},
                "groups": sorted(self.groups_by_id.values()),
            }
        )
        self.greeted.set()

    async def disconnect(self, code):
        if not hasattr(self, "groups_by_id"):
            return
        await in_thread(network_log_write)(
            actor=self.actor, kind=NetworkLogKind.WS_DISCONNECT, detail={"code": code}
        )
        await self._leave_fanout()
        await self._leave_personal()

    @classmethod
    async def decode_json(cls, text_data):
        return json.loads(text_data)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        with translation.override(self.language):
            await self._receive(text_data)

    async def _receive(self, text_data):
        if text_data is None:
            await self._error("bad_frame", _("Binary frames are not accepted: send a JSON text frame."))
            return
        if len(text_data) > FRAME_MAX_CHARS:
            await self._error(
                "frame_too_large",
                _("The frame is too large: at most %(n)d characters.") % {"n": FRAME_MAX_CHARS},
            )
            return
        try:
            content = json.loads(text_data)
        except (TypeError, ValueError):
            await self._error("bad_frame", _("The frame is not valid JSON."))
            return
        except RecursionError:  # nested deeper than the parser goes: never a frame of this protocol
            await self._error("bad_frame", _("The frame is nested too deeply."))
            return
        if not isinstance(content, dict):
            await self._error("bad_frame", _("A frame must be a JSON object."))
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        try:
            await self._dispatch(content)
        except Exception as exc:  # one bad frame must not cost the member their connection
            if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
                # uvicorn's ClientDisconnected: the client left while being answered; nobody to tell.
                log.debug("chat frame not answered: the client has gone")
                return
            log.exception("chat frame failed")
            ref = content.get("client_msg_id")  # the client retries that message with the same id
            await self._error(
                "server_error",
                _("Something went wrong; please try again."),
                group=_text(content.get("group")),
                ref=ref if isinstance(ref, str) else None,
            )

    async def _dispatch(self, content):
        frame_type = content.get("type")
        handlers = {
            "send": self._on_send,
            "resume": self._on_resume,
            "recall": self._on_recall,
            "read": self._on_read,
            "ping": self._on_ping,
        }
        handler = handlers.get(frame_type) if isinstance(frame_type, str) else None
        ref = content.get("client_msg_id") if isinstance(content.get("client_msg_id"), str) else None
        if handler is None:
            await self._error("unknown_type", _("Unknown frame type."), ref=ref)
            return
        try:
            await handler(content)
        except Http404:
            await self._error(
                "group_not_found",
                _("No such group, or you are not a member."),
                group=_text(content.get("group")),
                ref=ref,
            )
        except PolicyDenied as exc:
            await self._error(
                exc.code,
                exc.message,
                group=_text(content.get("group")),
                ref=ref,
                action_url=exc.action_url,
                retry_after=exc.retry_after,
                extra=exc.extra,
            )
        except ValidationError as exc:
            await self._error(
                exc.code or "invalid", " ".join(exc.messages), group=_text(content.get("group")), ref=ref
            )

    async def _on_ping(self, content):
        """Also renews the personal channel's subscription: after a Redis restart that lost it, or a day
        (the layer's group expiry), the next ping makes the socket hear its personal events again. (A lost
        subscription of the groups closes the socket: see ``fanout_lost``.)"""
        await once_more(self.channel_layer.group_add, user_channel(self.user.pk), self.channel_name)
        await self.send_json({"type": "pong"})

    async def _on_send(self, content):
        # The sender hears the ack before its own message comes round (``chat_message`` waits for it).
        acked = self.unacked.setdefault(_text(content.get("client_msg_id")), asyncio.Event())
        try:
            message, created, published = await in_send_thread(self._send)(content)
            await self.send_json(
                {
                    "type": "ack",
                    "group": message["group"],
                    "client_msg_id": message["client_msg_id"],
                    "seq": message["seq"],
                    "duplicate": not created,
                    "message": message,
                }
            )
        finally:
            acked.set()
            self.unacked.pop(_text(content.get("client_msg_id")), None)
        for channel_group, event in published:  # committed: other wake-ups go out from the event loop
            await realtime.publish(channel_group, event)

    def _fresh_actor(self) -> Actor:
        """The actor with the account as it is now: a deactivated or suspended account (R11.2) stops at its
        next frame, should the close at the suspension not have reached this socket."""
        user = get_user_model().objects.filter(pk=self.user.pk).first()
        if user is None or not user.is_active:
            raise PolicyDenied("account_inactive", _("This account is not active."))
        identity_policies.can_use_account(user).require()
        return Actor.for_user(user, door=self.actor.door, ip=self.actor.ip, port=self.actor.port)

    def _send(self, content) -> tuple[dict, bool, list]:
        """The hot path: the member with their publishing facts in one query, the group with their
        membership and any earlier message of this client message id in another, then the send."""
        user = identity_selectors.user_for_publishing(self.user.pk)
        if user is None or not user.is_active:
            raise PolicyDenied("account_inactive", _("This account is not active."))
        actor = Actor.for_user(user, door=self.actor.door, ip=self.actor.ip, port=self.actor.port)
        client_msg_id = _text(content.get("client_msg_id"))
        # An id the send will refuse (a NUL or a lone surrogate, which the database would fail on) takes no
        # part in the query; the send then refuses it after the group's own checks, as every door does.
        usable_id = client_msg_id if _valid_client_msg_id(client_msg_id) else ""
        group = selectors.group_for_posting(actor, _text(content.get("group")), usable_id)
        body = content.get("body")
        with realtime.collected() as published:
            message, created = services.message_send(
                actor=actor,
                group=group,
                body=body if isinstance(body, str) else "",
                client_msg_id=client_msg_id,
            )
        return selectors.message_payload(message), created, published

    @staticmethod
    def _seq(content) -> int:
        value = content.get("seq")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(_("'seq' must be a sequence number."), code="bad_frame")
        return value

    async def _on_recall(self, content):
        """Answered by the ``recalled`` broadcast, which reaches the sender's sockets too."""
        await in_thread(self._recall)(_text(content.get("group")), self._seq(content))

    def _recall(self, code: str, seq: int) -> None:
        actor = self._fresh_actor()
        group = selectors.group_get_for_actor(actor, code)
        try:
            message = selectors.message_get(group, seq)
        except Http404:
            raise PolicyDenied("message_not_found", _("There is no such message in this group.")) from None
        services.message_recall(actor=actor, message=message)

    async def _on_read(self, content):
        seq = self._seq(content)
        await in_thread(self._read)(_text(content.get("group")), seq)

    def _read(self, code: str, seq: int) -> None:
        actor = self._fresh_actor()
        group = selectors.group_get_for_actor(actor, code)
        services.membership_mark_read(actor=actor, group=group, seq=seq)

    async def _on_resume(self, content):
        after = content.get("after")  # absent or null: from the start
        if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
            raise ValidationError(_("'after' must be a sequence number."), code="bad_frame")
        after = max(0, after or 0)
        code, messages, more = await in_thread(self._history)(_text(content.get("group")), after)
        await self.send_json(
            {"type": "history", "group": code, "after": after, "messages": messages, "more": more}
        )

    def _history(self, code: str, after: int):
        group = selectors.group_get_for_actor(self._fresh_actor(), code)
        limit = settings.CHAT_HISTORY_PAGE_MAX
        messages = selectors.message_list(group, after=after, limit=limit + 1)
        return group.code, [selectors.message_payload(m) for m in messages[:limit]], len(messages) > limit

    async def _error(
        self, code: str, message: str, *, group=None, ref=None, action_url="", retry_after=None, extra=None
    ):
        frame = {**(extra or {}), "type": "error", "code": code, "message": message}
        if action_url:
            frame["action_url"] = action_url
        if retry_after is not None:
            frame["retry_after"] = retry_after
        if group:
            frame["group"] = group
        if ref:
            frame["client_msg_id"] = ref
        await self.send_json(frame)

    # Events from the channel layer (wake-ups only; the database is the record).

    async def chat_message(self, event):
        if event["group"] in self.groups_by_id.values():
            if event.get("sender") == self.user.pk and event.get("client_msg_id") in self.unacked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.unacked[event["client_msg_id"]].wait(), ACK_WAIT_SECONDS)
            await self.send(text_data=event["frame"])  # encoded once for the whole group

    async def platform_notice(self, event):
        """R5.1: a system notice broadcast by a supervisor (an empty text: it was ended)."""
        await self.send_json(
            {"type": "system_notice", "id": event["id"], "text": event["text"], "until": event["until"]}
        )

    async def chat_pinned(self, event):
        if event["group"] in self.groups_by_id.values():
            await self.send_json({"type": "pinned", "group": event["group"], "message": event["message"]})

    async def chat_removed(self, event):
        if event["group"] in self.groups_by_id.values():
            await self.send_json({"type": "removed", "group": event["group"], "seq": event["seq"]})

    async def chat_recalled(self, event):
        if event["group"] in self.groups_by_id.values():
            await self.send_json({"type": "recalled", "group": event["group"], "seq": event["seq"]})

    async def chat_read(self, event):
        """This member read a group in another tab (or here): badges follow."""
        if event["group"] in self.groups_by_id.values():
            await self.send_json({"type": "read", "group": event["group"], "seq": event["seq"]})

    async def chat_member(self, event):
        if event["event"] in ("left", "removed") and event["user"]["id"] == self.user.pk:
            # Arrives on the group's channel in order with its messages: even if the personal
            # "membership.left" wake-up is lost, this socket stops receiving the group from here on.
            await self._drop_group_by_code(event["group"])
            return
        if event["group"] in self.groups_by_id.values():
            frame = {
                "type": "member",
                "group": event["group"],
                "event": event["event"],
                "user": event["user"],
            }
            if "until" in event:
                frame["until"] = event["until"]
            await self.send_json(frame)

    async def membership_joined(self, event):
        group = event["group"]
        self.groups_by_id[group["id"]] = group["code"]
        await fanout.subscribe(group_channel(group["id"]), self)
        await self.send_json(
            {
                "type": "group_joined",
                "group": group["code"],
                "name": group["name"],
                "last_seq": group["last_seq"],
            }
        )

    # Notifications (pushed by notifications.services after commit), rendered in this member's language.

    def _render_notice(self, raw: dict) -> dict:
        with translation.override(self.language):
            return notification_selectors.render(raw)

    async def notification_new(self, event):
        await self.send_json(
            {
                "type": "notification",
                "notification": self._render_notice(event["notice"]),
                "unread": event["unread"],
            }
        )

    async def notice_group(self, event):
        notice = event["notice"]
        muted = await database_sync_to_async(notification_selectors.muted_kinds)(self.user)
        if notice.get("group") in self.groups_by_id.values() and notice["kind"] not in muted:
            await self.send_json(
                {"type": "notification", "notification": self._render_notice(notice), "unread": None}
            )

    async def notification_count(self, event):
        await self.send_json({"type": "notification_count", "unread": event["unread"]})

    async def account_suspended(self, event):
        """R11.2: the account was suspended: every socket of it closes, whatever its session."""
        await self.close(code=realtime.CLOSE_SUSPENDED)

    async def session_ended(self, event):
        """The browser behind this socket was signed out (logout, "sign out that browser", deletion)."""
        if event.get("session_key") == self.session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def membership_left(self, event):
        await self._drop_group_by_code(event["group"]["code"])

    async def _drop_group_by_code(self, code: str) -> None:
        group_id = next((pk for pk, known in self.groups_by_id.items() if known == code), None)
        if group_id is None:
            return  # already dropped (both wake-ups arrived)
        self.groups_by_id.pop(group_id, None)
        await fanout.unsubscribe(group_channel(group_id), self)
        await self.send_json({"type": "group_left", "group": code})


class BenchEchoConsumer(AsyncWebsocketConsumer):
    """The fan-out benchmark's baseline: relays what arrives to every socket, no database, no checks.

    Routed only when ``CHAT_BENCH_ECHO_ROUTE`` is on (benchmark settings).
    """

    channel_group = "bench.echo"
    dispatch = ChatConsumer.dispatch

    async def connect(self):
        await self.channel_layer.group_add(self.channel_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.channel_group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        await self.channel_layer.group_send(self.channel_group, {"type": "bench.echo", "text": text_data})

    async def bench_echo(self, event):
        await self.send(text_data=event["text"])


class BenchHubEchoConsumer(FanoutInbox, AsyncWebsocketConsumer):
    """For information beside the baseline: the bare echo route over the chat path's own fan-out
    (``common.fanout``) instead of the channel layer's ``group_send``. Benchmark settings only."""

    dispatch = ChatConsumer.dispatch

    def fanout_channels(self) -> list[str]:
        return ["chat.bench-echo"]

    async def connect(self):
        await self._join_fanout()
        await self.accept()

    async def disconnect(self, code):
        await self._leave_fanout()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        await realtime.publish("chat.bench-echo", {"type": "bench.echo", "text": text_data})

    async def bench_echo(self, event):
        await self.send(text_data=event["text"])
