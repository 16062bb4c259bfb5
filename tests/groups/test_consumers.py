"""The chat socket through the real ASGI stack: origin check, session auth, Redis channel layer."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from common import fanout
from config.asgi import application
from groups import services
from groups.models import Message
from tests.conftest import actor_for

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_socket(user=None, *, origin: str = "http://localhost"):
    headers = [(b"origin", origin.encode())]
    if user is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={await _session_cookie(user)}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive_type(communicator, frame_type: str, timeout: float = 5):
    """The next frame of ``frame_type``, skipping others."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == frame_type:
            return frame


async def test_anonymous_socket_is_refused_at_connect():
    _socket, connected, code = await open_socket(None)
    assert not connected
    assert code == 4401


async def test_socket_without_allowed_origin_is_refused(member, group):
    _socket, connected, _ = await open_socket(member, origin="http://evil.example")
    assert not connected


async def test_member_message_reaches_other_member_and_sender_gets_ack(owner, member, group):
    sender, ok1, _ = await open_socket(member)
    receiver, ok2, _ = await open_socket(owner)
    assert ok1 and ok2
    hello = await receive_type(receiver, "hello")
    assert group.code in hello["groups"]
    await receive_type(sender, "hello")

    await sender.send_json_to({"type": "send", "group": group.code, "body": "大家好", "client_msg_id": "c-1"})
    ack = await receive_type(sender, "ack")
    assert ack["seq"] == 1 and ack["client_msg_id"] == "c-1" and ack["duplicate"] is False
    frame = await receive_type(receiver, "message")
    assert frame["group"] == group.code
    assert frame["message"]["body"] == "大家好"
    assert frame["message"]["seq"] == 1
    assert frame["message"]["sender"]["nickname"] == "成员"
    await sender.disconnect()
    await receiver.disconnect()


async def test_repeated_send_acks_original_and_broadcasts_once(owner, member, group):
    sender, _, _ = await open_socket(member)
    receiver, _, _ = await open_socket(owner)
    await receive_type(sender, "hello")
    await receive_type(receiver, "hello")
    frame = {"type": "send", "group": group.code, "body": "只一次", "client_msg_id": "retry-1"}
    await sender.send_json_to(frame)
    first = await receive_type(sender, "ack")
    await sender.send_json_to(frame)
    second = await receive_type(sender, "ack")
    assert second["duplicate"] is True and second["seq"] == first["seq"]
    await receive_type(receiver, "message")
    assert await receiver.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(Message.objects.count)() == 1
    await sender.disconnect()
    await receiver.disconnect()


async def test_non_member_cannot_send_and_does_not_receive(owner, outsider, group):
    stranger, connected, _ = await open_socket(outsider)
    assert connected
    hello = await receive_type(stranger, "hello")
    assert group.code not in hello["groups"]
    await stranger.send_json_to({"type": "send", "group": group.code, "body": "hi", "client_msg_id": "x"})
    error = await receive_type(stranger, "error")
    assert error["code"] == "group_not_found" and error["client_msg_id"] == "x"
    await stranger.send_json_to({"type": "resume", "group": group.code, "after": 0})
    assert (await receive_type(stranger, "error"))["code"] == "group_not_found"
    await database_sync_to_async(services.message_send)(
        actor=actor_for(owner), group=group, body="secret", client_msg_id="o1"
    )
    assert await stranger.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(Message.objects.filter(body="hi").exists)() is False
    await stranger.disconnect()


async def test_joining_while_connected_subscribes_the_open_socket(owner, outsider, group):
    socket, _, _ = await open_socket(outsider)
    await receive_type(socket, "hello")
    await database_sync_to_async(services.membership_join)(
        actor=actor_for(outsider), group=group, invite_token=group.invite_token
    )
    joined = await receive_type(socket, "group_joined")
    assert joined["group"] == group.code
    await database_sync_to_async(services.message_send)(
        actor=actor_for(owner), group=group, body="欢迎", client_msg_id="w1"
    )
    frame = await receive_type(socket, "message")
    assert frame["message"]["body"] == "欢迎"
    await socket.disconnect()


async def test_resume_returns_messages_after_sequence_number_in_order(owner, member, group):
    for n in range(1, 6):
        await database_sync_to_async(services.message_send)(
            actor=actor_for(owner), group=group, body=f"m{n}", client_msg_id=f"r{n}"
        )
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "resume", "group": group.code, "after": 2})
    history = await receive_type(socket, "history")
    assert [m["seq"] for m in history["messages"]] == [3, 4, 5]
    assert history["more"] is False
    await socket.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "resume", "group": "X", "after": "abc"}', "bad_frame"),
        ('{"type": []}', "unknown_type"),
        ('{"type": "resume", "group": "X", "after": 1e999}', "bad_frame"),
        ('{"type": "resume", "group": "\\ud800", "after": 0}', "group_not_found"),
        ('{"type": "send", "group": "\\u0000", "body": "x", "client_msg_id": "n"}', "group_not_found"),
        ('{"type": "send", "group": ["A"], "body": "x", "client_msg_id": {"a": 1}}', "group_not_found"),
    ],
)
async def test_bad_frames_get_error_codes_and_socket_stays_open(member, group, raw, code):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_to(text_data=raw)
    assert (await receive_type(socket, "error"))["code"] == code
    await socket.send_json_to({"type": "ping"})
    assert (await receive_type(socket, "pong"))["type"] == "pong"
    await socket.disconnect()


async def test_send_of_empty_or_oversized_body_is_refused(member, group):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "send", "group": group.code, "body": " ", "client_msg_id": "e1"})
    assert (await receive_type(socket, "error"))["code"] == "message_empty"
    await socket.send_json_to(
        {"type": "send", "group": group.code, "body": "x" * 5000, "client_msg_id": "e2"}
    )
    assert (await receive_type(socket, "error"))["code"] == "message_too_long"
    await socket.send_json_to({"type": "send", "group": group.code, "body": 12, "client_msg_id": "e3"})
    assert (await receive_type(socket, "error"))["code"] == "message_empty"
    assert await database_sync_to_async(Message.objects.count)() == 0
    await asyncio.sleep(0)
    await socket.disconnect()


async def test_ack_carries_the_senders_role_label_r8_6(owner, group):
    socket, _, _ = await open_socket(owner)
    await receive_type(socket, "hello")
    await socket.send_json_to(
        {"type": "send", "group": group.code, "body": "群主发言", "client_msg_id": "o-1"}
    )
    ack = await receive_type(socket, "ack")
    assert ack["message"]["sender"]["role"] == "owner"
    await socket.send_json_to(
        {"type": "send", "group": group.code, "body": "群主发言", "client_msg_id": "o-1"}
    )
    again = await receive_type(socket, "ack")
    assert again["duplicate"] and again["message"]["sender"]["role"] == "owner"
    await socket.disconnect()


async def test_deactivated_account_cannot_send_on_an_open_socket_r6_2(member, group):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    member.is_active = False
    await database_sync_to_async(member.save)()
    await socket.send_json_to(
        {"type": "send", "group": group.code, "body": "still here?", "client_msg_id": "d1"}
    )
    assert (await receive_type(socket, "error"))["code"] == "account_inactive"
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.disconnect()


async def test_a_socket_that_stops_reading_is_closed_to_resume_rather_than_holding_others_up(
    owner, member, group, settings
):
    """A client that stopped reading gets 1012 once its backlog passes CHAT_SOCKET_BACKLOG (it reconnects
    and resumes); the other sockets of the group keep receiving."""
    from groups.consumers import CLOSE_RESUME

    settings.CHAT_SOCKET_BACKLOG = 3
    slow, _, _ = await open_socket(member)
    await receive_type(slow, "hello")
    consumer_pump_blocked = asyncio.Event()
    hub = fanout._hub()
    (slow_consumer,) = hub.subscribers[f"chat.{group.pk}"]
    slow_consumer.pump.cancel()  # nothing drains its inbox any more, as with a client that stopped reading
    slow_consumer.pump = asyncio.get_running_loop().create_task(consumer_pump_blocked.wait())
    reader, _, _ = await open_socket(owner)
    await receive_type(reader, "hello")
    for n in range(5):
        await database_sync_to_async(services.message_send)(
            actor=actor_for(owner), group=group, body=f"第{n}条", client_msg_id=f"b{n}"
        )
    seqs = [(await receive_type(reader, "message"))["message"]["seq"] for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    closed = await slow.receive_output(timeout=5)
    while closed["type"] != "websocket.close":
        closed = await slow.receive_output(timeout=5)
    assert closed["code"] == CLOSE_RESUME
    await reader.disconnect()


async def test_a_lost_group_subscription_closes_the_sockets_so_that_they_resume(member, group):
    from groups.consumers import CLOSE_RESUME

    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    fanout._hub().lose_all()
    frame = await socket.receive_output(timeout=5)
    assert (frame["type"], frame["code"]) == ("websocket.close", CLOSE_RESUME)
