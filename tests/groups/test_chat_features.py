"""Live chat: recall within the window (kept as evidence), @mentions with a notice, unread positions, and
rate refusals that say how long to wait, through the service, the API, the page and the socket."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import selectors, services
from groups.models import ChatGroup, Membership, Message
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type


def _send(user, group, body, cmid):
    return services.message_send(actor=actor_for(user), group=group, body=body, client_msg_id=cmid)[0]


# --- recall ----------------------------------------------------------------------------------------------


def test_recall_hides_the_message_keeps_the_evidence_and_unpins_it(db, owner, member, group):
    message = _send(member, group, "发错群了", "rc1")
    services.message_pin(actor=actor_for(owner), message=message, group=group)
    with pytest.raises(PolicyDenied) as info:
        services.message_recall(actor=actor_for(owner), message=message)  # only the sender
    assert info.value.code == "not_yours"
    services.message_recall(actor=actor_for(member), message=message)
    stored = Message.objects.get(pk=message.pk)
    assert stored.status == "recalled" and stored.body == "发错群了" and stored.recalled_at is not None
    payload = selectors.message_payload(stored)
    assert payload["body"] == "" and payload["status"] == "recalled"
    assert ChatGroup.objects.get(pk=group.pk).pinned_message_id is None
    assert AuditEvent.objects.filter(event_type="groups.message_recalled").exists()
    with pytest.raises(PolicyDenied):  # once is enough
        services.message_recall(actor=actor_for(member), message=stored)


def test_recall_window_closes(db, member, group, settings):
    message = _send(member, group, "两分钟前的话", "rc2")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=121))
    message.refresh_from_db()
    with pytest.raises(PolicyDenied) as info:
        services.message_recall(actor=actor_for(member), message=message)
    assert info.value.code == "recall_window_passed" and "2" in info.value.message
    settings.CHAT_RECALL_SECONDS = 300
    services.message_recall(actor=actor_for(member), message=message)


def test_recall_through_the_api_and_the_page(client, db, owner, member, group):
    first, second = _send(member, group, "第一条", "rc3"), _send(member, group, "第二条", "rc4")
    client.force_login(owner)
    denied = client.post(f"/api/groups/{group.code}/messages/{first.seq}/recall/")
    assert denied.status_code == 403 and denied.json()["code"] == "not_yours"
    client.force_login(member)
    response = client.post(f"/api/groups/{group.code}/messages/{first.seq}/recall/")
    assert response.status_code == 200 and response.json()["status"] == "recalled"
    assert client.post(f"/api/groups/{group.code}/messages/999/recall/").status_code == 404
    response = client.post(f"/groups/{group.code}/messages/{second.seq}/recall/")
    assert response.status_code == 302 and Message.objects.get(pk=second.pk).status == "recalled"
    page = client.get(f"/groups/{group.code}/").content.decode()
    assert "第二条" not in page and "撤回了一条消息" in page


@pytest.mark.django_db(transaction=True)
async def test_recall_frame_reaches_every_member(owner, member, group):
    sender, _, _ = await open_socket(member)
    other, _, _ = await open_socket(owner)
    await receive_type(sender, "hello")
    await receive_type(other, "hello")
    await sender.send_json_to({"type": "send", "group": group.code, "body": "撤回我", "client_msg_id": "rf1"})
    seq = (await receive_type(sender, "ack"))["seq"]
    await receive_type(other, "message")
    await sender.send_json_to({"type": "recall", "group": group.code, "seq": seq})
    assert (await receive_type(other, "recalled"))["seq"] == seq
    await other.send_json_to({"type": "recall", "group": group.code, "seq": seq})
    assert (await receive_type(other, "error"))["code"] == "not_yours"
    await other.send_json_to({"type": "recall", "group": group.code, "seq": "1"})
    assert (await receive_type(other, "error"))["code"] == "bad_frame"
    await other.send_json_to({"type": "resume", "group": group.code, "after": 0})
    history = await receive_type(other, "history")
    assert history["messages"][0]["status"] == "recalled" and history["messages"][0]["body"] == ""
    await sender.disconnect()
    await other.disconnect()


# --- mentions --------------------------------------------------------------------------------------------


def test_mentions_notify_the_named_members_longest_nickname_first(db, owner, member, group):
    zhang = UserFactory(nickname="张伟")
    zhangwei2 = UserFactory(nickname="张伟伟")
    for user in (zhang, zhangwei2):
        services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    message = _send(owner, group, "@张伟伟 明天见，@成员 也来", "mn1")
    assert sorted(message.mentions) == sorted([zhangwei2.pk, member.pk])
    notified = set(Notification.objects.filter(kind="chat.mentioned").values_list("recipient_id", flat=True))
    assert notified == {zhangwei2.pk, member.pk}  # not 张伟, whose name is only part of 张伟伟
    notice = Notification.objects.filter(kind="chat.mentioned", recipient=member).first()
    assert notice.context["group"] == group.code and notice.context["who"] == "群主"
    _send(owner, group, "@群主 自己不算", "mn2")
    assert Notification.objects.filter(kind="chat.mentioned", recipient=owner).count() == 0
    assert selectors.message_payload(message)["mentions"] == message.mentions


# --- unread ----------------------------------------------------------------------------------------------


def test_unread_counts_follow_the_read_position(client, db, owner, member, group):
    for n in range(3):
        _send(owner, group, f"第{n}条", f"un{n}")
    unread = {g.code: g.unread for g in selectors.group_list_for_user(member)}
    assert unread[group.code] == 3
    services.membership_mark_read(actor=actor_for(member), group=group, seq=2)
    services.membership_mark_read(actor=actor_for(member), group=group, seq=1)  # never backwards
    assert {g.code: g.unread for g in selectors.group_list_for_user(member)}[group.code] == 1
    assert services.membership_mark_read(actor=actor_for(member), group=group, seq=999) == 3  # clamped
    _send(owner, group, "又一条", "un9")
    client.force_login(member)
    assert client.get("/api/groups/").json()[0]["unread"] == 1
    response = client.post(f"/api/groups/{group.code}/read/", {"seq": 4}, content_type="application/json")
    assert response.status_code == 200 and response.json()["read_seq"] == 4
    _send(owner, group, "最新", "un10")
    client.get(f"/groups/{group.code}/")  # opening the chat reads the group
    assert Membership.objects.get(group=group, user=member).last_read_seq == 5


@pytest.mark.django_db(transaction=True)
async def test_read_frame_clears_the_badge_in_the_members_other_tabs(owner, member, group):
    await database_sync_to_async(_send)(owner, group, "未读", "rd1")
    tab1, _, _ = await open_socket(member)
    tab2, _, _ = await open_socket(member)
    await receive_type(tab1, "hello")
    await receive_type(tab2, "hello")
    await tab1.send_json_to({"type": "read", "group": group.code, "seq": 1})
    frame = await receive_type(tab2, "read")
    assert frame == {"type": "read", "group": group.code, "seq": 1}
    await tab1.send_json_to({"type": "read", "group": group.code, "seq": 0})
    assert (await receive_type(tab1, "error"))["code"] == "bad_frame"
    await tab1.disconnect()
    await tab2.disconnect()


# --- rates -----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_slow_mode_refusal_carries_the_wait_on_the_socket(owner, member, group):
    await database_sync_to_async(services.group_settings_update)(
        actor=actor_for(owner), group=group, slow_mode_seconds=30
    )
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "一", "client_msg_id": "sl1"})
    await receive_type(socket, "ack")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "二", "client_msg_id": "sl2"})
    error = await receive_type(socket, "error")
    assert error["code"] == "slow_mode" and 1 <= error["retry_after"] <= 31
    await socket.disconnect()


def test_rate_refusal_is_429_with_retry_after_on_the_api(client, db, group, member):
    sender = UserFactory(credit_score=10)  # level 2: 10 messages a minute
    services.membership_join(actor=actor_for(sender), group=group, invite_token=group.invite_token)
    client.force_login(sender)
    url = f"/api/groups/{group.code}/messages/"
    for n in range(10):
        assert client.post(url, {"body": f"{n}", "client_msg_id": f"rt{n}"}).status_code == 201
    response = client.post(url, {"body": "多了", "client_msg_id": "rt-over"})
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61 and response.json()["retry_after"] == int(
        response["Retry-After"]
    )


# --- policy changes while connected ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_posting_suspension_and_closure_apply_to_the_next_frame(owner, member, group):
    from identity import services as identity_services
    from identity.models import RestrictionKind

    staff = await database_sync_to_async(UserFactory)(is_staff=True)
    socket, _, _ = await open_socket(member)
    owner_socket, _, _ = await open_socket(owner)
    await receive_type(socket, "hello")
    await receive_type(owner_socket, "hello")
    await database_sync_to_async(identity_services.account_restriction_add)(
        actor=actor_for(staff),
        user=member,
        kind=RestrictionKind.POST,
        until=timezone.now() + timedelta(hours=1),
        reason_ref="case-9",
    )
    await socket.send_json_to(
        {"type": "send", "group": group.code, "body": "还能发吗", "client_msg_id": "ps1"}
    )
    assert (await receive_type(socket, "error"))["code"] == "posting_suspended"
    await database_sync_to_async(services.group_dissolve)(actor=actor_for(owner), group=group, reason="结束")
    await owner_socket.send_json_to(
        {"type": "send", "group": group.code, "body": "再见", "client_msg_id": "ps2"}
    )
    assert (await receive_type(owner_socket, "error"))["code"] == "group_not_active"
    assert not await database_sync_to_async(Message.objects.filter(group=group).exists)()
    await socket.disconnect()
    await owner_socket.disconnect()


# --- review findings -------------------------------------------------------------------------------------


def test_mention_notice_carries_no_text_that_could_be_recalled(db, owner, member, group):
    message = _send(owner, group, "@成员 秘密口令是1234", "rv1")
    services.message_recall(actor=actor_for(owner), message=message)
    notice = Notification.objects.get(kind="chat.mentioned", recipient=member)
    assert "1234" not in str(notice.context)
    from notifications import selectors as notification_selectors

    rendered = notification_selectors.render(
        {"kind": notice.kind, "context": notice.context, "id": notice.pk, "created_at": notice.created_at}
    )
    assert "1234" not in rendered["title"] + rendered["body"]


def test_mentions_need_a_boundary_and_name_every_holder_of_a_nickname(db, owner, group):
    bob, bobby, twin = UserFactory(nickname="Bob"), UserFactory(nickname="Bobby"), UserFactory(nickname="Bob")
    for user in (bob, twin):
        services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    assert _send(owner, group, "hi @Bobby!", "rv2").mentions == []  # Bobby is not in the group
    assert sorted(_send(owner, group, "hi @Bob, see you", "rv3").mentions) == sorted([bob.pk, twin.pk])
    assert bobby.pk not in _send(owner, group, "@Bob", "rv4").mentions


def test_pin_loses_to_a_recall_that_came_first(db, owner, member, group):
    message = _send(member, group, "要撤回的话", "rv5")
    stale = Message.objects.get(pk=message.pk)
    services.message_recall(actor=actor_for(member), message=message)
    with pytest.raises(PolicyDenied) as info:
        services.message_pin(actor=actor_for(owner), message=stale, group=group)
    assert info.value.code == "not_pinnable"
    assert ChatGroup.objects.get(pk=group.pk).pinned_message_id is None


def test_recalling_a_removed_message_says_so(db, owner, member, group):
    message = _send(member, group, "被删了", "rv6")
    services.message_remove(actor=actor_for(owner), message=message)
    with pytest.raises(PolicyDenied) as info:
        services.message_recall(actor=actor_for(member), message=Message.objects.get(pk=message.pk))
    assert info.value.code == "not_recallable"


def test_unread_starts_at_the_join_and_never_counts_ones_own(db, owner, member, group):
    for n in range(5):
        _send(owner, group, f"历史{n}", f"rv7-{n}")
    newcomer = UserFactory()
    services.membership_join(actor=actor_for(newcomer), group=group, invite_token=group.invite_token)
    unread = {g.code: g.unread for g in selectors.group_list_for_user(newcomer)}
    assert unread[group.code] == 0
    assert {g.code: g.unread for g in selectors.group_list_for_user(owner)}[group.code] == 0
    with pytest.raises(PolicyDenied):
        services.membership_mark_read(actor=actor_for(UserFactory()), group=group, seq=1)


def test_migration_backfill_makes_old_messages_searchable_and_read(db, owner, member, group):
    import importlib

    from django.apps import apps

    message = _send(member, group, "迁移之前的老消息", "rv8")
    Message.objects.filter(pk=message.pk).update(search_text="")
    Membership.objects.filter(group=group).update(last_read_seq=0)
    migration = importlib.import_module("groups.migrations.0011_chat_recall_mentions_search_unread")
    migration.backfill(apps, None)
    assert selectors.message_search(group, "老消息")[0].pk == message.pk
    assert set(Membership.objects.filter(group=group).values_list("last_read_seq", flat=True)) == {1}


def test_held_message_comes_back_to_its_author_with_its_text(db, member, group, lexicon):
    held = _send(member, group, "刷单兼职日结", "rv9")
    payload = selectors.message_payload(held)
    assert payload["status"] == "held" and payload["body"] == "刷单兼职日结"


def test_search_reaches_past_the_recent_window_in_order(db, member, group, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_RECENT_WINDOW", 3)
    for n in range(10):
        _send(member, group, f"第{n}次周会纪要" if n % 3 == 0 else f"闲聊{n}", f"rv10-{n}")
    found = selectors.message_search(group, "周会")
    assert [m.body for m in found] == ["第9次周会纪要", "第6次周会纪要", "第3次周会纪要", "第0次周会纪要"]
    assert [m.body for m in selectors.message_search(group, "周会", limit=2)] == [
        "第9次周会纪要",
        "第6次周会纪要",
    ]
    assert selectors.message_search(group, "不存在的词") == []


def test_searches_are_rate_limited_per_member(client, db, member, group, settings):
    settings.CHAT_SEARCHES_PER_MINUTE = 2
    client.force_login(member)
    url = f"/api/groups/{group.code}/messages/search/"
    assert [client.get(url, {"q": "你好"}).status_code for _ in range(2)] == [200, 200]
    refused = client.get(url, {"q": "你好"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    page = client.get(f"/groups/{group.code}/search/", {"q": "你好"}).content.decode()
    assert "搜索太频繁" in page or "Too many searches" in page


async def test_once_more_retries_only_a_failed_connection():
    from common.realtime import once_more

    calls = []

    async def flaky(kind):
        calls.append(kind)
        if len(calls) == 1:
            raise (ConnectionError("reset") if kind == "connection" else ValueError("bad event"))
        return "sent"

    assert await once_more(flaky, "connection") == "sent" and len(calls) == 2
    calls.clear()
    with pytest.raises(ValueError):
        await once_more(flaky, "other")
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
async def test_recall_frame_answers_once_and_names_a_missing_message(owner, member, group):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "撤回", "client_msg_id": "rv11"})
    seq = (await receive_type(socket, "ack"))["seq"]
    await receive_type(socket, "message")
    await socket.send_json_to({"type": "recall", "group": group.code, "seq": seq})
    assert (await receive_type(socket, "recalled"))["seq"] == seq
    assert await socket.receive_nothing(timeout=0.5)  # once, not twice
    await socket.send_json_to({"type": "recall", "group": group.code, "seq": 999})
    assert (await receive_type(socket, "error"))["code"] == "message_not_found"
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_mute_event_carries_its_end(owner, member, group):
    socket, _, _ = await open_socket(owner)
    await receive_type(socket, "hello")
    await database_sync_to_async(services.membership_mute)(
        actor=actor_for(owner), group=group, member=member, minutes=60 * 24 * 2
    )
    frame = await receive_type(socket, "member")
    assert frame["event"] == "muted" and frame["until"] > timezone.now().isoformat()
    await socket.disconnect()
