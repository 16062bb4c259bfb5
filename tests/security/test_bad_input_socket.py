"""Issue 13: hostile frames on the chat socket. Each gets an error frame with a code and a message in the
member's language, the socket stays usable, and nothing is stored; a frame larger than the server takes is
closed with 1009, and a text frame that is not UTF-8 with 1007 (the WebSocket protocol's own codes).

One table: a row per hostile frame. Frames the ASGI test client can carry go through it; what only the
real server decides (sizes, bytes on the wire) goes through uvicorn (``badinput_server``).
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from audit.models import AuditEvent
from config.asgi import application
from groups.consumers import FRAME_MAX_CHARS
from groups.models import Message
from tests.groups.test_consumers import _session_cookie, open_socket, receive_type
from tests.security.badinput_server import serve, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def uvicorn_server():
    yield from serve()


GROUP = "{group}"  # replaced by the test's group code


def send(body, cmid="bad-1", group=GROUP):
    return json.dumps({"type": "send", "group": group, "body": body, "client_msg_id": cmid})


# (row id, the frame as sent (text, or bytes for a binary frame), the error code expected)
HOSTILE_FRAMES = [
    ("not_json", "not json", "bad_frame"),
    ("truncated_json", '{"type": "send", "body": "x', "bad_frame"),
    ("json_array", "[1, 2]", "bad_frame"),
    ("json_string", '"send"', "bad_frame"),
    ("binary_frame", b"\x00\xff\x00binary", "bad_frame"),
    ("binary_json", b'{"type": "ping"}', "bad_frame"),
    ("deeply_nested", '{"type": "send", "body": ' + "[" * 5000 + "]" * 5000 + "}", "bad_frame"),
    ("oversized_frame", json.dumps({"type": "ping", "pad": "x" * FRAME_MAX_CHARS}), "frame_too_large"),
    ("unknown_type", '{"type": "dance"}', "unknown_type"),
    ("type_not_text", '{"type": 7}', "unknown_type"),
    ("body_not_text", send(12), "message_empty"),
    ("body_object", send({"a": "b"}), "message_empty"),
    ("seq_as_text", json.dumps({"type": "recall", "group": GROUP, "seq": "1"}), "bad_frame"),
    ("seq_negative", json.dumps({"type": "read", "group": GROUP, "seq": -1}), "bad_frame"),
    ("after_as_list", json.dumps({"type": "resume", "group": GROUP, "after": []}), "bad_frame"),
    ("after_infinite", '{"type": "resume", "group": "' + GROUP + '", "after": 1e999}', "bad_frame"),
    ("body_empty", send("   "), "message_empty"),
    ("body_too_long", send("长" * 2001), "message_too_long"),
    ("body_nul", send("a\u0000b"), "message_invalid"),
    ("body_control", send("a\u0007\u001b[31mb"), "message_invalid"),
    ("body_lone_surrogate", send("a\ud800b"), "message_invalid"),
    ("body_rtl_override", send("invoice\u202egpj.exe"), "message_invalid"),
    ("body_isolate", send("a\u2066b\u2069"), "message_invalid"),
    ("client_msg_id_nul", send("好", cmid="a\u0000b"), "client_msg_id_invalid"),
    ("client_msg_id_surrogate", send("好", cmid="\udfff"), "client_msg_id_invalid"),
    ("client_msg_id_too_long", send("好", cmid="x" * 65), "client_msg_id_invalid"),
    ("client_msg_id_not_text", send("好", cmid=["x"]), "client_msg_id_invalid"),
    ("group_nul", send("好", group="\u0000"), "group_not_found"),
    ("group_surrogate", send("好", group="\ud800AAAAAAA"), "group_not_found"),
    ("group_huge", send("好", group="A" * 5000), "group_not_found"),
    ("group_not_text", send("好", group=["A"]), "group_not_found"),
    ("group_script", send("好", group="<script>alert(1)</script>"), "group_not_found"),
]


def _frame(raw, code: str):
    if isinstance(raw, bytes):
        return {"bytes_data": raw}
    return {"text_data": raw.replace(GROUP, code)}


@database_sync_to_async
def _stored() -> tuple[int, int]:
    return Message.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize(
    ("raw", "code"), [row[1:] for row in HOSTILE_FRAMES], ids=[r[0] for r in HOSTILE_FRAMES]
)
async def test_hostile_frame_gets_an_error_frame_and_nothing_is_stored(member, group, raw, code):
    socket, connected, _ = await open_socket(member)  # signing in is audited: count from here
    assert connected
    await receive_type(socket, "hello")
    before = await _stored()
    await socket.send_to(**_frame(raw, group.code))
    error = await receive_type(socket, "error")
    assert error["code"] == code
    # zh-hans first (no language chosen): never an untranslated English text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error["message"]
    # The socket stays usable, and a good message still goes through.
    await socket.send_json_to({"type": "ping"})
    assert (await receive_type(socket, "pong"))["type"] == "pong"
    assert await _stored() == before
    await socket.send_json_to({"type": "send", "group": group.code, "body": "好", "client_msg_id": "ok-1"})
    assert (await receive_type(socket, "ack"))["seq"] == 1
    await socket.disconnect()


async def test_error_frames_speak_english_when_chosen(member, group):
    cookie = (
        f"{settings.SESSION_COOKIE_NAME}={await _session_cookie(member)}; {settings.LANGUAGE_COOKIE_NAME}=en"
    )
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
    )
    assert (await socket.connect(timeout=5))[0]
    await receive_type(socket, "hello")
    for raw, _code in [row[1:] for row in HOSTILE_FRAMES]:
        await socket.send_to(**_frame(raw, group.code))
        message = (await receive_type(socket, "error"))["message"]
        assert message.isascii(), message
    await socket.disconnect()


async def test_zero_width_characters_in_a_message_are_kept_but_screening_sees_through_them(
    lexicon, member, group
):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_to(text_data=send("赌\u200b\u2060博", cmid="zw-1").replace(GROUP, group.code))
    assert (await receive_type(socket, "error"))["code"] == "content_blocked"
    await socket.send_to(text_data=send("你\u200d好", cmid="zw-2").replace(GROUP, group.code))
    ack = await receive_type(socket, "ack")
    assert ack["message"]["body"] == "你\u200d好"
    await socket.disconnect()


async def test_html_in_a_message_travels_as_text(member, owner, group):
    """The client renders bodies with textContent (static/js/chat.js); the server sends them unchanged."""
    sender, _, _ = await open_socket(member)
    receiver, _, _ = await open_socket(owner)
    await receive_type(sender, "hello")
    await receive_type(receiver, "hello")
    body = '<img src=x onerror="alert(1)"> <a href="javascript:alert(1)">点我</a>'
    await sender.send_to(text_data=send(body, cmid="h-1").replace(GROUP, group.code))
    assert (await receive_type(receiver, "message"))["message"]["body"] == body
    await sender.disconnect()
    await receiver.disconnect()


# --- the real server ------------------------------------------------------------------------------------


async def _real_socket(server, user):
    socket = await connect(
        server.ws_url,
        origin=server.origin,
        additional_headers={"Cookie": await session_cookie(user)},
        max_size=None,
        open_timeout=10,
    )
    hello = json.loads(await socket.recv())
    assert hello["type"] == "hello"
    return socket


async def _next_error(socket) -> dict:
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] == "error":
            return frame


async def test_real_server_refuses_an_oversized_frame_and_stays_usable(uvicorn_server, member, group):
    socket = await _real_socket(uvicorn_server, member)
    await socket.send(json.dumps({"type": "ping", "pad": "x" * (FRAME_MAX_CHARS + 1)}))
    assert (await _next_error(socket))["code"] == "frame_too_large"
    await socket.send(b"\x00\x01", text=False)
    assert (await _next_error(socket))["code"] == "bad_frame"
    await socket.send(json.dumps({"type": "ping"}))
    assert json.loads(await socket.recv())["type"] == "pong"
    await socket.close()
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_real_server_closes_1009_on_a_frame_over_its_size_limit(uvicorn_server, member, group):
    socket = await _real_socket(uvicorn_server, member)
    await socket.send("x" * (uvicorn_server.server.config.ws_max_size + 1))
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_real_server_closes_1007_on_a_text_frame_that_is_not_utf8(uvicorn_server, member, group):
    socket = await _real_socket(uvicorn_server, member)
    await socket.send(b'{"type": "send", "body": "\xff\xfe\xed\xa0\x80"}', text=True)
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    assert await database_sync_to_async(Message.objects.count)() == 0
