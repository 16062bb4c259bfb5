"""R9.2: the owner and admins pin a message for every member, from the chat page's menu (page form and API)
and see it live on the socket; a removed message is unpinned."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.messages import get_messages

from audit.models import AuditEvent
from groups import services
from groups.models import ChatGroup
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type


def _send(user, group, body, cmid):
    return services.message_send(actor=actor_for(user), group=group, body=body, client_msg_id=cmid)[0]


def test_pin_api_r9_2_pins_shows_and_unpins(client, db, owner, group, member):
    message = _send(member, group, "周六上午九点集合", "p-api")
    url = f"/api/groups/{group.code}/pinned/"
    client.force_login(member)
    assert client.put(url, {"seq": message.seq}, content_type="application/json").status_code == 403
    client.force_login(owner)
    response = client.put(url, {"seq": message.seq}, content_type="application/json")
    assert response.status_code == 200 and response.json()["pinned"]["body"] == "周六上午九点集合"
    assert client.put(url, {"seq": 9999}, content_type="application/json").status_code == 404
    assert client.put(url, {"seq": "x"}, content_type="application/json").status_code == 400
    client.force_login(member)
    assert client.get(url).json()["pinned"]["seq"] == message.seq
    chat = client.get(f"/groups/{group.code}/").content.decode()
    assert 'id="pinned-bar" role="note" data-seq' in chat and "周六上午九点集合" in chat
    assert 'class="msg-manage"' not in chat  # members get no management part in the message menu
    assert 'data-part="report"' in chat
    client.force_login(owner)
    response = client.delete(url)
    assert response.status_code == 200 and response.json()["pinned"] is None
    assert AuditEvent.objects.filter(event_type="groups.message_unpinned").exists()


def test_pin_page_form_r9_2_and_removal_unpins(client, db, owner, group, member):
    message = _send(member, group, "报名表在群公告", "p-page")
    client.force_login(owner)
    chat = client.get(f"/groups/{group.code}/").content.decode()
    form = f'action="/groups/{group.code}/manage/messages/{message.seq}/"'
    assert form in chat  # the owner's menu on the message
    response = client.post(f"/groups/{group.code}/manage/messages/{message.seq}/", {"action": "pin"})
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.code}/"
    assert ChatGroup.objects.get(pk=group.pk).pinned_message_id == message.pk
    response = client.post(
        f"/groups/{group.code}/manage/messages/{message.seq}/", {"action": "remove", "reason": "过期"}
    )
    assert ChatGroup.objects.get(pk=group.pk).pinned_message_id is None
    message.refresh_from_db()
    assert message.status == "removed" and message.removal_reason == "过期"
    response = client.post(f"/groups/{group.code}/manage/messages/{message.seq}/", {"action": "pin"})
    assert "只能置顶本群中显示的消息。" in [str(m) for m in get_messages(response.wsgi_request)]
    response = client.post(f"/groups/{group.code}/manage/messages/{message.seq}/", {"action": "explode"})
    assert response.status_code == 302
    chat = client.get(f"/groups/{group.code}/").content.decode()
    assert 'id="pinned-bar" role="note" hidden' in chat


@pytest.mark.django_db(transaction=True)
async def test_pin_reaches_members_live_r9_2(owner, member, group):
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    message = await database_sync_to_async(_send)(member, group, "置顶我", "p-live")
    await database_sync_to_async(services.message_pin)(actor=actor_for(owner), message=message, group=group)
    frame = await receive_type(socket, "pinned")
    assert frame["group"] == group.code and frame["message"]["seq"] == message.seq
    await database_sync_to_async(services.message_remove)(actor=actor_for(owner), message=message)
    frame = await receive_type(socket, "pinned")
    assert frame["message"] is None
    await socket.disconnect()
