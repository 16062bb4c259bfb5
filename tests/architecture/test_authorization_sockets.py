"""The socket rows of the authorization table (``test_authorization_matrix``), for every role, in a module of
their own: they need committed rows (a transactional database), which the page table's shared world,
held in one open transaction for its whole module, cannot give."""

import pytest
from channels.db import database_sync_to_async

from tests.architecture.test_authorization_matrix import ROLES, SOCKET_MATRIX, build_world, expected_for
from tests.groups.test_consumers import open_socket, receive_type


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_socket_outcome_per_role(role):
    world = await database_sync_to_async(build_world)()
    group, user = world["group"], world[role]
    socket, connected, _ = await open_socket(user)
    expected_connect = expected_for(SOCKET_MATRIX[("ws-chat", "connect")], role, ("ws-chat", "connect"))
    assert connected == (expected_connect == "open")
    if not connected:
        return
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "hi", "client_msg_id": "s1"})
    frame = await socket.receive_json_from(timeout=5)
    outcome = frame["type"] if frame["type"] == "ack" else frame["code"]
    assert outcome == expected_for(SOCKET_MATRIX[("ws-chat", "send")], role, ("ws-chat", "send"))
    await socket.disconnect()
