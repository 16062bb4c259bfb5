"""The chat socket's first frame is ``hello`` (docs/protocol.md), even when a message of one of the member's
groups is published while the socket is still connecting (found by the soak benchmark: 1-3 sockets in a
few hundred connections got a ``message`` frame before their ``hello``)."""

import time

import pytest

from groups import consumers, services
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type

pytestmark = pytest.mark.django_db(transaction=True)


async def test_hello_comes_first_when_a_message_is_published_while_connecting(
    owner, member, group, monkeypatch
):
    real_log_write = consumers.network_log_write
    published = []

    def log_write_then_publish(**kwargs):
        """Runs in ``connect`` after the socket has subscribed to its groups and before hello."""
        real_log_write(**kwargs)
        if not published:
            published.append(True)
            services.message_send(
                actor=actor_for(owner), group=group, body="连接途中的消息", client_msg_id="while-connecting"
            )
            time.sleep(0.3)  # the wake-up reaches the socket's inbox before hello could go

    monkeypatch.setattr(consumers, "network_log_write", log_write_then_publish)
    socket, connected, _ = await open_socket(member)
    assert connected
    first = await socket.receive_json_from(timeout=5)
    assert first["type"] == "hello"
    assert group.code in first["groups"]
    frame = await receive_type(socket, "message")  # held back, not lost
    assert frame["message"]["client_msg_id"] == "while-connecting"
    await socket.disconnect()


async def test_a_socket_that_fails_while_connecting_leaves_its_personal_channel(member, group, monkeypatch):
    """``disconnect`` does not run when ``connect`` fails (or the client leaves meanwhile, which uvicorn ends
    quietly); the personal channel must still be left, not kept in Redis for a day (found by the soak
    benchmark: 1,766 dead channels in 449 personal groups after a ten-minute run)."""
    from channels.layers import get_channel_layer

    from common.realtime import user_channel

    def log_write_fails(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(consumers, "network_log_write", log_write_fails)
    socket, connected, _ = await open_socket(member)
    assert connected  # accepted before the failure
    with pytest.raises(RuntimeError):
        await socket.wait(timeout=5)
    layer = get_channel_layer()
    personal = user_channel(member.pk)
    members = await layer.connection(layer.consistent_hash(personal)).zcard(layer._group_key(personal))
    assert members == 0
