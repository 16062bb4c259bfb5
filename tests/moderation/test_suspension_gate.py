"""R11.2: a suspended account is not in use. Suspending it signs it out everywhere and closes its sockets;
signed in again it reaches its sanctions, the appeal, its notices, the rules and its own account, and
nothing else: no group page, no API call, no chat socket. A blacklisted or muted member still reads. The
suspension ends by itself at its end."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from groups import services as gs
from identity.middleware import CLOSE_SUSPENDED
from identity.models import AccountRestriction, RestrictionKind, UserSession
from moderation import services as ms
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type


def _suspend(reviewer, user, **fields):
    return ms.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_suspend",
        category="CONDUCT_CYBERVIOLENCE",
        target_user=user,
        **({"duration_hours": 24} | fields),
    )


def test_r11_2_suspending_signs_the_account_out_of_every_browser(client, reviewer, group, member):
    client.force_login(member)  # the sign-in records the browser's session, as every sign-in does
    assert UserSession.objects.filter(user=member, ended_at__isnull=True).exists()
    assert client.get(reverse("group-chat", kwargs={"code": group.code})).status_code == 200
    _suspend(reviewer, member)
    response = client.get(reverse("group-chat", kwargs={"code": group.code}))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not UserSession.objects.filter(user=member, ended_at__isnull=True).exists()


def test_r11_2_a_suspended_account_reads_no_group_page_and_is_told_why(client, reviewer, group, member):
    _suspend(reviewer, member)
    client.force_login(member)
    for url in (reverse("home"), reverse("group-chat", kwargs={"code": group.code})):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 403
        page = response.content.decode()
        assert "暂停使用" in page and reverse("my-sanctions") in page
        assert group.name not in page


def test_r11_2_a_suspended_account_gets_the_api_refusal_with_its_code(client, reviewer, group, member):
    _suspend(reviewer, member)
    client.force_login(member)
    response = client.get(reverse("api-messages", kwargs={"code": group.code}))
    assert response.status_code == 403
    assert response.json()["code"] == "account_suspended"


def test_r11_2_a_suspended_account_still_reaches_its_sanctions_and_appeals(client, reviewer, group, member):
    sanction = _suspend(reviewer, member)
    client.force_login(member)
    page = client.get(reverse("my-sanctions"))
    assert page.status_code == 200
    response = client.post(reverse("sanction-appeal", kwargs={"pk": sanction.pk}), {"text": "我没有违规"})
    assert response.status_code == 302
    sanction.refresh_from_db()
    assert sanction.appeal.text == "我没有违规"


def test_r11_2_the_suspension_ends_by_itself(client, reviewer, group, member):
    _suspend(reviewer, member)
    AccountRestriction.objects.filter(user=member, kind=RestrictionKind.SUSPENDED).update(
        until=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(member)
    assert client.get(reverse("group-chat", kwargs={"code": group.code})).status_code == 200


def test_r11_3_a_blacklisted_member_still_reads_the_group(client, reviewer, supervisor, group, member):
    listing = ms.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="CONDUCT_CYBERVIOLENCE",
        target_user=member,
        blacklist_role="member",
        permanent=True,
    )
    ms.sanction_decide(actor=actor_for(supervisor), sanction=listing, approve=True)
    client.force_login(member)
    assert client.get(reverse("group-chat", kwargs={"code": group.code})).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_r11_2_a_suspended_accounts_socket_is_refused_and_an_open_one_closes(group, member, reviewer):
    socket, connected, _code = await open_socket(member)  # its sign-in recorded the session
    assert connected
    await receive_type(socket, "hello")
    await database_sync_to_async(_suspend)(reviewer, member)
    frame = await socket.receive_output(timeout=5)
    while frame["type"] != "websocket.close":  # the notice of the measure may come first
        frame = await socket.receive_output(timeout=5)
    _again, connected, code = await open_socket(member)
    assert not connected and code == CLOSE_SUSPENDED


def test_r11_2_a_suspended_member_reads_no_group_notice_in_their_notifications(
    client, reviewer, group, owner, member
):
    gs.group_announcement_set(actor=actor_for(owner), group=group, text="周六读《红楼梦》第五回")
    client.force_login(member)
    assert "红楼梦" in client.get(reverse("notifications")).content.decode()
    _suspend(reviewer, member)
    client.force_login(member)
    assert "红楼梦" not in client.get(reverse("notifications")).content.decode()
    unread_before_the_measure_notice = client.get(reverse("notifications-count")).json()["unread"]
    AccountRestriction.objects.filter(user=member).update(until=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("notifications-count")).json()["unread"] == unread_before_the_measure_notice + 1
