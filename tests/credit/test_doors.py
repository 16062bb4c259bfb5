"""R7.3, R8.1 through the doors members use: the create page, the API and the chat socket."""

import pytest
from django.core.cache import cache

from credit.models import CreditAccount
from tests.groups.test_consumers import open_socket, receive_type


def test_create_page_r8_1_explains_the_level_and_links_to_credit(client, owner, group):
    CreditAccount.objects.filter(user=owner).update(score=10)  # level 2: one group, and they own one
    client.force_login(owner)
    response = client.post("/groups/new/", {"name": "第二个群"})
    page = response.content.decode()
    assert response.status_code == 200 and "/credit/" in page
    assert "普通" in page  # the level by name


def test_api_r7_3_rate_limit_is_a_429_with_a_code_and_the_wait(client, member, group):
    CreditAccount.objects.filter(user=member).update(score=0)  # level 1: five a minute
    client.force_login(member)
    url = f"/api/groups/{group.code}/messages/"
    codes = [
        client.post(
            url, {"body": f"m{n}", "client_msg_id": f"x{n}"}, content_type="application/json"
        ).status_code
        for n in range(6)
    ]
    assert codes == [201] * 5 + [429]
    refused = client.post(url, {"body": "again", "client_msg_id": "x9"}, content_type="application/json")
    assert refused.json()["code"] == "rate_limited" and int(refused["Retry-After"]) >= 1


@pytest.mark.django_db(transaction=True)
async def test_socket_r7_3_rate_limit_is_an_error_frame_with_the_wait(member, group):
    from channels.db import database_sync_to_async

    await database_sync_to_async(lambda: CreditAccount.objects.filter(user=member).update(score=0))()
    await database_sync_to_async(cache.clear)()
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    for n in range(5):
        await socket.send_json_to(
            {"type": "send", "group": group.code, "body": f"s{n}", "client_msg_id": f"s{n}"}
        )
        await receive_type(socket, "ack")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "s6", "client_msg_id": "s6"})
    error = await receive_type(socket, "error")
    assert error["code"] == "rate_limited" and error["client_msg_id"] == "s6"
    await socket.disconnect()
