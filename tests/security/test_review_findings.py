"""Issue 13: what a security review of the new gates found, each closed: control characters in a multipart
body or in a query decoded under another charset, names that refused family emoji and newer ideographs, the
suspension allow-list matching the admin's sign-in by its bare name, and a suspended account's socket
that outlived its suspension (a socket of a session not on record, or a close that never arrived)."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from common import input_guard
from common.actors import Actor
from common.realtime import CLOSE_SUSPENDED
from groups import services as group_services
from groups.models import ChatGroup
from identity import services as identity_services
from identity.models import AccountRestriction, RestrictionKind, UserSession
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type


def test_a_nul_in_a_multipart_form_field_is_a_400_not_a_500(client, member):
    client.force_login(member)
    response = client.post(reverse("sessions"), {"session": "a\x00b"})  # the test client posts multipart
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_spelled_in_utf7_in_the_query_is_a_400(client, member):
    client.force_login(member)
    response = client.get("/?q=%2BAAA-abc", CONTENT_TYPE="text/plain; charset=utf-7")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "name",
    ["相亲相爱一家人👨\u200d👩\u200d👧\u200d👦", "❤️\u200d🔥读书会", "𱍐氏宗亲群"],
)
def test_r8_2_family_emoji_and_newer_ideographs_make_a_group_name(owner, name):
    group = group_services.group_create(actor=actor_for(owner), name=name)
    assert ChatGroup.objects.get(pk=group.pk).name == name


@pytest.mark.parametrize("name", ["读\u200b书会", "\u200d读书会", "读\u200d书会", "读书\u202e会"])
def test_r8_2_a_joiner_or_space_of_no_width_between_letters_is_still_refused(owner, name):
    assert input_guard.name_has_hidden_characters(name)
    with pytest.raises(ValidationError):
        group_services.group_create(actor=actor_for(owner), name=name)


def test_r11_2_a_suspended_account_is_refused_the_admins_sign_in_page_too(client, member):
    AccountRestriction.objects.create(user=member, kind=RestrictionKind.SUSPENDED)
    client.force_login(member)
    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get(reverse("my-sanctions")).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_r11_2_every_socket_of_the_account_closes_at_the_suspension(group, member):
    socket, connected, _code = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    # A session the platform has no record of (signed in before sessions were recorded, say).
    await database_sync_to_async(lambda: UserSession.objects.filter(user=member).delete())()
    await database_sync_to_async(identity_services.account_restriction_add)(
        actor=Actor.system(), user=member, kind=RestrictionKind.SUSPENDED
    )
    frame = await socket.receive_output(timeout=5)
    while frame["type"] != "websocket.close":  # the notice of the measure may come first
        frame = await socket.receive_output(timeout=5)
    assert frame["code"] == CLOSE_SUSPENDED


@pytest.mark.django_db(transaction=True)
async def test_r11_2_a_socket_the_close_never_reached_reads_no_more(group, member):
    socket, connected, _code = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    # The suspension written without its close event (as if Redis had lost it).
    await database_sync_to_async(AccountRestriction.objects.create)(
        user=member, kind=RestrictionKind.SUSPENDED, until=timezone.now() + timedelta(hours=1)
    )
    for frame in (
        {"type": "resume", "group": group.code, "after": 0},
        {"type": "read", "group": group.code, "seq": 1},
    ):
        await socket.send_json_to(frame)
        answer = await receive_type(socket, "error")
        assert answer["code"] == "account_suspended"
    await socket.disconnect()
