"""Identity through its doors: pages, API, socket and admin (R5.2, R5.3, R6.1-R6.3)."""

import re

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.urls import reverse

from common import sms
from groups import services as group_services
from groups.models import ChatGroup, Message
from identity.models import IdentityVerification, UserSession, VerificationStatus
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory, valid_id_number
from tests.groups.test_consumers import open_socket, receive_type


def _code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1]["text"]).group()


def test_signup_page_sends_code_keeps_input_then_signs_up(client, db, django_capture_on_commit_callbacks):
    url = reverse("signup")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"phone": "139 1234 5678", "nickname": "阿明", "action": "send_code"})
    page = response.content.decode()
    assert "139****5678" in page and 'value="阿明"' in page
    response = client.post(
        url,
        {
            "phone": "13912345678",
            "sms_code": _code(),
            "nickname": "阿明",
            "password1": "Lanzhou-Noodles-9",
            "password2": "Lanzhou-Noodles-9",
            "accept": "on",
            "action": "signup",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("identity-verify")
    assert "实名认证" in client.get(reverse("identity-verify")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phone": "1440123456789", "action": "send_code"}, "11 位"),
        (
            {
                "phone": "13912345678",
                "sms_code": "000000",
                "nickname": "阿明",
                "password1": "Lanzhou-Noodles-9",
                "password2": "Lanzhou-Noodles-9",
                "accept": "on",
                "action": "signup",
            },
            "验证码",
        ),
        (
            {
                "phone": "13912345678",
                "sms_code": "123456",
                "nickname": "阿明",
                "password1": "Lanzhou-Noodles-9",
                "password2": "Lanzhou-Noodles-9",
                "action": "signup",
            },
            "服务协议",
        ),
        (
            {
                "phone": "13912345678",
                "sms_code": "123456",
                "nickname": "阿明",
                "password1": "abc",
                "password2": "abd",
                "accept": "on",
                "action": "signup",
            },
            "不一致",
        ),
    ],
)
def test_signup_bad_input_explains_in_chinese_and_keeps_input(client, db, data, message):
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert f'value="{data["phone"]}"' in page


def test_login_by_phone_and_lockout_says_until_when(client, db):
    user = UserFactory()
    user.phone = "+8613912345678"
    user.save()
    for _ in range(3):
        client.post(reverse("login"), {"identifier": "13912345678", "password": "wrong"})
    response = client.post(reverse("login"), {"identifier": "139 1234 5678", "password": "Correct-Horse-42"})
    assert response.status_code == 200
    assert "之后再试" in response.content.decode()
    from django.core.cache import cache

    cache.clear()
    response = client.post(reverse("login"), {"identifier": "13912345678", "password": "Correct-Horse-42"})
    assert response.status_code == 302
    assert UserSession.objects.filter(user=user, ended_at__isnull=True).count() == 1


def test_verify_page_r6_1_bad_number_explains_and_good_number_verifies(client, db):
    user = UnverifiedUserFactory()
    client.force_login(user)
    url = reverse("identity-verify")
    number = valid_id_number()
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = client.post(url, {"real_name": "张三", "id_number": bad, "consent": "on"})
    assert "最后一位" in response.content.decode()
    response = client.post(url, {"real_name": "张三", "id_number": number})
    assert "敏感个人信息" in response.content.decode()
    response = client.post(url, {"real_name": "张三", "id_number": number.lower(), "consent": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("agreements-accept")
    client.post(reverse("agreements-accept"))
    assert IdentityVerification.objects.get(user=user).status == VerificationStatus.VERIFIED


@pytest.fixture
def unverified_member(db, group):
    user = UnverifiedUserFactory()
    group_services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    return user


def test_gate_r6_2_unverified_cannot_post_through_api(client, group, unverified_member):
    client.force_login(unverified_member)
    response = client.post(
        f"/api/groups/{group.code}/messages/",
        {"body": "hi", "client_msg_id": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "identity_unverified"
    assert response.json()["action_url"] == reverse("identity-verify")
    assert not Message.objects.exists()


def test_gate_r6_2_unverified_cannot_post_or_create_through_pages(client, group, unverified_member):
    client.force_login(unverified_member)
    page = client.get(reverse("group-chat", args=[group.code])).content.decode()
    assert "实名认证" in page and reverse("identity-verify") in page
    client.post(reverse("group-chat", args=[group.code]), {"body": "hi", "client_msg_id": "p"})
    assert not Message.objects.exists()
    response = client.post(reverse("group-create"), {"name": "新群"})
    assert "实名认证" in response.content.decode()
    assert not ChatGroup.objects.filter(name="新群").exists()
    response = client.post(reverse("profile"), {"nickname": "改名"})
    assert "实名认证" in response.content.decode()
    unverified_member.refresh_from_db()
    assert unverified_member.nickname != "改名"


@pytest.mark.django_db(transaction=True)
async def test_gate_r6_2_unverified_cannot_post_through_socket():
    owner = await database_sync_to_async(UserFactory)()
    newcomer = await database_sync_to_async(UnverifiedUserFactory)()
    group = await database_sync_to_async(group_services.group_create)(actor=actor_for(owner), name="群")
    await database_sync_to_async(group_services.membership_join)(
        actor=actor_for(newcomer), group=group, invite_token=group.invite_token
    )
    socket, connected, _ = await open_socket(newcomer)
    assert connected
    await receive_type(socket, "hello")
    await socket.send_json_to({"type": "send", "group": group.code, "body": "hi", "client_msg_id": "s"})
    error = await receive_type(socket, "error")
    assert error["code"] == "identity_unverified" and error["action_url"] == "/accounts/verify/"
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.disconnect()


def test_no_response_ever_contains_a_plain_id_number_r6_3(client, group, member, django_user_model):
    verification = IdentityVerification.objects.get(user=member)
    from common import crypto
    from identity.services import ID_CONTEXT, NAME_CONTEXT, _pi_context

    number = crypto.decrypt(verification.id_number_enc, context=_pi_context(ID_CONTEXT, member.pk))
    name = crypto.decrypt(verification.real_name_enc, context=_pi_context(NAME_CONTEXT, member.pk))
    client.force_login(member)
    urls = [
        "/",
        reverse("group-chat", args=[group.code]),
        reverse("profile"),
        reverse("identity-verify"),
        reverse("sessions"),
        "/api/groups/",
        f"/api/groups/{group.code}/messages/",
        "/api/schema/?format=json",
    ]
    admin = django_user_model.objects.create_superuser("root", password="x-Long-Pass-1", nickname="管理员")
    staff_urls = [
        "/admin/identity/identityverification/",
        f"/admin/identity/identityverification/{verification.pk}/change/",
        "/admin/identity/user/",
        f"/admin/identity/user/{member.pk}/change/",
        "/admin/audit/auditevent/",
        reverse("review-queue"),
        reverse("review-detail", args=[verification.pk]),
    ]
    for user, paths in ((member, urls), (admin, staff_urls)):
        client.force_login(user)
        for url in paths:
            body = client.get(url).content.decode()
            assert number not in body and number.lower() not in body, url
            assert name not in body, url


def test_reviewer_page_reveal_needs_reason_and_shows_once(client, db):
    user = UnverifiedUserFactory()
    number = valid_id_number()
    from identity import services

    verification = services.verification_submit(
        actor=actor_for(user), real_name="周九", id_number=number, consent=True
    )
    reviewer = UserFactory(is_staff=True)
    reviewer.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["review_identityverification", "reveal_identityverification"]
        )
    )
    client.force_login(reviewer)
    url = reverse("review-detail", args=[verification.pk])
    assert number not in client.get(url).content.decode()
    response = client.post(url, {"action": "reveal", "reason": ""})
    assert number not in response.content.decode()
    response = client.post(url, {"action": "reveal", "reason": "公安协查 2026-031"})
    assert number in response.content.decode()
    assert number not in client.get(url).content.decode()


def test_reviewer_approves_pending_verification_from_the_queue(client, db, settings):
    settings.IDENTITY_VERIFIER = "staff"
    user = UnverifiedUserFactory()
    from identity import services

    verification = services.verification_submit(
        actor=actor_for(user), real_name="吴十", id_number=valid_id_number(), consent=True
    )
    reviewer = UserFactory(is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="review_identityverification"))
    client.force_login(reviewer)
    assert verification.id_number_masked in client.get(reverse("review-queue")).content.decode()
    response = client.post(
        reverse("review-detail", args=[verification.pk]), {"action": "approve", "note": "核对无误"}
    )
    assert response.status_code == 302
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.VERIFIED and verification.decided_by == reviewer


def test_other_session_can_be_ended_from_the_sessions_page(client, db):
    from django.test import Client

    user = UserFactory(phone="+8613912345678")
    other = Client()
    other.post(reverse("login"), {"identifier": "13912345678", "password": "Correct-Horse-42"})
    client.post(reverse("login"), {"identifier": "13912345678", "password": "Correct-Horse-42"})
    sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    assert sessions.count() == 2
    other_key = other.session.session_key
    client.post(reverse("sessions"), {"session": other_key})
    assert other.get("/api/groups/").status_code == 403
    assert client.get("/api/groups/").status_code == 200


def test_deleted_account_cannot_sign_in(client, db):
    user = UserFactory(phone="+8613912345678")
    client.force_login(user)
    response = client.post(reverse("account-delete"), {"password": "Correct-Horse-42"})
    assert "已注销" in response.content.decode() or "deleted" in response.content.decode()
    response = client.post(reverse("login"), {"identifier": "13912345678", "password": "Correct-Horse-42"})
    assert response.status_code == 200


def test_legal_pages_are_public_with_history_and_diff(client, db, django_user_model):
    from identity import services
    from identity.models import AgreementKind

    admin = django_user_model.objects.create_superuser("root", password="x-Long-Pass-1", nickname="管理员")
    services.agreement_publish(
        actor=actor_for(admin),
        kind=AgreementKind.CONVENTION,
        title="平台公约",
        body="一、文明交流。\n二、新增条款：禁止刷屏。",
    )
    page = client.get(reverse("legal-document", args=["convention"])).content.decode()
    assert "新增条款" in page and "v2" in page
    diff = client.get(reverse("legal-diff", args=["convention", 1, 2])).content.decode()
    assert "diff-add" in diff and "禁止刷屏" in diff
    assert client.get("/legal/no-such-kind/").status_code == 404


def test_phone_and_name_share_one_throttle_counter_and_admin_login_is_throttled(client, db):
    user = UserFactory(username="alice", phone="+8613912345678")
    for identifier in ("alice", "13912345678", "ALICE"):
        client.post(reverse("login"), {"identifier": identifier, "password": "wrong"})
    response = client.post(
        reverse("login"), {"identifier": "+86 139 1234 5678", "password": "Correct-Horse-42"}
    )
    assert "之后再试" in response.content.decode()
    user.is_staff = True
    user.save()
    response = client.post("/admin/login/", {"username": "alice", "password": "Correct-Horse-42"})
    assert response.status_code == 200  # refused while the lock is in force
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
async def test_ending_a_session_closes_its_open_socket():
    from django.contrib.sessions.models import Session

    from identity import services

    user = await database_sync_to_async(UserFactory)()
    socket, connected, _ = await open_socket(user)
    assert connected
    await receive_type(socket, "hello")
    key = await database_sync_to_async(lambda: Session.objects.get().session_key)()  # the socket's session
    await database_sync_to_async(services.user_session_record)(
        actor=actor_for(user), session_key=key, user_agent="test"
    )
    await database_sync_to_async(services.user_session_end)(actor=actor_for(user), session_key=key)
    output = await socket.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
