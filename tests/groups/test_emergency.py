"""R5.1: emergency measures: supervisors throw platform-wide switches with a reason and an end; each
takes effect at once through every door (page, API, socket) and ends by itself or early, audited."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import selectors, services
from groups.models import ChatGroup, EmergencyKind, EmergencyMeasure, GroupCategory, Message, MessageStatus
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type


def _staff(username: str, nickname: str, role: str, codenames: list[str]):
    """A staff account in its role (transactional tests empty the roles that migrations made)."""
    user = UserFactory(username=username, nickname=nickname, is_staff=True)
    group, _created = Role.objects.get_or_create(name=role)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="groups", codename__in=codenames)
    )
    user.groups.add(group)
    return user


@pytest.fixture
def supervisor(db):
    return _staff("supervisor", "合规主管", "supervisor", ["declare_emergency", "view_emergencymeasure"])


@pytest.fixture
def reviewer(db):
    return _staff("reviewer", "审核员", "reviewer", ["view_emergencymeasure"])


def _declare(supervisor, kind, *, hours=2, categories=(), notice=""):
    return services.emergency_measure_declare(
        actor=actor_for(supervisor),
        kind=kind,
        reason="突发事件演练",
        ends_at=timezone.now() + timedelta(hours=hours),
        categories=categories,
        notice=notice,
    )


def _other_category(group) -> GroupCategory:
    return GroupCategory.objects.exclude(pk=group.category_id).first()


def test_r5_1_only_supervisors_declare_and_every_declaration_is_audited(supervisor, reviewer, member):
    for who in (reviewer, member):
        with pytest.raises(PolicyDenied):
            _declare(who, EmergencyKind.FREEZE_CREATION)
    measure = _declare(supervisor, EmergencyKind.FREEZE_CREATION)
    event = AuditEvent.objects.get(event_type="groups.emergency_declared")
    assert event.data["kind"] == "freeze_creation" and event.data["reason"] == "突发事件演练"
    services.emergency_measure_end(actor=actor_for(supervisor), measure=measure, reason="事件已处置")
    assert AuditEvent.objects.filter(event_type="groups.emergency_ended").count() == 1
    with pytest.raises(ValidationError) as info:
        services.emergency_measure_end(actor=actor_for(supervisor), measure=measure, reason="再来一次")
    assert info.value.code == "not_in_force"


@pytest.mark.parametrize(
    ("hours", "notice", "kind", "code"),
    [
        (-1, "", EmergencyKind.FREEZE_CREATION, "ends_at_past"),
        (24 * 31, "", EmergencyKind.FREEZE_CREATION, "ends_at_too_far"),
        (2, "", EmergencyKind.NOTICE, "notice_empty"),
        (2, "", "switch_off_the_internet", "kind_invalid"),
    ],
)
def test_r5_1_a_measure_needs_a_future_end_within_the_limit_and_a_notice_its_text(
    supervisor, hours, notice, kind, code
):
    with pytest.raises(ValidationError) as info:
        _declare(supervisor, kind, hours=hours, notice=notice)
    assert info.value.code == code
    assert not EmergencyMeasure.objects.exists()


def test_r5_1_freezing_group_creation_refuses_the_page_and_the_service_until_it_ends(
    client, supervisor, member
):
    measure = _declare(supervisor, EmergencyKind.FREEZE_CREATION)
    client.force_login(member)
    page = client.post(reverse("group-create"), {"name": "新群", "description": ""})
    assert "平台已暂停创建群组" in page.content.decode()
    with pytest.raises(PolicyDenied) as info:
        services.group_create(actor=actor_for(member), name="新群")
    assert info.value.code == "group_creation_frozen"
    assert not ChatGroup.objects.filter(name="新群").exists()
    services.emergency_measure_end(actor=actor_for(supervisor), measure=measure, reason="事件已处置")
    assert client.post(reverse("group-create"), {"name": "新群", "description": ""}).status_code == 302
    assert ChatGroup.objects.filter(name="新群").exists()


def test_r5_1_a_freeze_ends_by_itself_at_its_end(supervisor, member):
    measure = _declare(supervisor, EmergencyKind.FREEZE_CREATION)
    EmergencyMeasure.objects.filter(pk=measure.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    selectors.emergency_cache_reset()
    assert services.group_create(actor=actor_for(member), name="照常建群").pk


def test_r5_1_suspending_posting_covers_its_categories_only(client, supervisor, owner, member, group):
    other = services.group_create(actor=actor_for(owner), name="另一群", category=_other_category(group))
    _declare(supervisor, EmergencyKind.SUSPEND_POSTING, categories=[group.category])
    client.force_login(owner)
    refused = client.post(
        f"/api/groups/{group.code}/messages/", {"body": "还能说吗", "client_msg_id": "e1"}, "application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "emergency_posting_suspended"
    allowed = client.post(
        f"/api/groups/{other.code}/messages/", {"body": "这里可以", "client_msg_id": "e2"}, "application/json"
    )
    assert allowed.status_code == 201
    assert list(Message.objects.values_list("body", flat=True)) == ["这里可以"]


def test_r5_1_suspending_posting_with_no_category_covers_every_group(supervisor, owner, group):
    _declare(supervisor, EmergencyKind.SUSPEND_POSTING)
    with pytest.raises(PolicyDenied) as info:
        services.message_send(actor=actor_for(owner), group=group, body="全站暂停", client_msg_id="e3")
    assert info.value.code == "emergency_posting_suspended"


@pytest.mark.django_db(transaction=True)
async def test_r5_1_a_suspension_reaches_an_open_socket_at_its_next_send(supervisor, member, group):
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    await database_sync_to_async(_declare)(supervisor, EmergencyKind.SUSPEND_POSTING)
    await socket.send_json_to({"type": "send", "group": group.code, "body": "在吗", "client_msg_id": "ws1"})
    error = await receive_type(socket, "error")
    assert error["code"] == "emergency_posting_suspended" and error["client_msg_id"] == "ws1"
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.disconnect()


def test_r5_1_holding_messages_keeps_them_for_review_and_the_group_sees_nothing(
    supervisor, owner, member, group
):
    _declare(supervisor, EmergencyKind.HOLD_MESSAGES, categories=[group.category])
    message, _created = services.message_send(
        actor=actor_for(member), group=group, body="事件相关的消息", client_msg_id="h1"
    )
    assert message.status == MessageStatus.HELD
    assert not Message.objects.filter(group=group, status=MessageStatus.VISIBLE).exists()
    other = services.group_create(actor=actor_for(owner), name="另一群", category=_other_category(group))
    free, _created = services.message_send(
        actor=actor_for(owner), group=other, body="别的群", client_msg_id="h2"
    )
    assert free.status == MessageStatus.VISIBLE


@pytest.mark.django_db(transaction=True)
async def test_r5_1_a_system_notice_shows_on_every_page_and_reaches_open_sockets(client, supervisor, member):
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    measure = await database_sync_to_async(_declare)(
        supervisor, EmergencyKind.NOTICE, notice="系统维护：今晚 23 点至 24 点暂停服务"
    )
    frame = await receive_type(socket, "system_notice")
    assert frame["id"] == measure.pk and frame["text"].startswith("系统维护")

    def page_text():
        client.force_login(member)
        return client.get(reverse("home")).content.decode()

    assert "系统维护：今晚 23 点至 24 点暂停服务" in await database_sync_to_async(page_text)()
    await database_sync_to_async(services.emergency_measure_end)(
        actor=actor_for(supervisor), measure=measure, reason="维护已完成"
    )
    ended = await receive_type(socket, "system_notice")
    assert ended["id"] == measure.pk and ended["text"] == ""
    assert "系统维护" not in await database_sync_to_async(page_text)()
    await socket.disconnect()


def test_r5_1_the_page_declares_lists_and_ends_measures(client, supervisor, reviewer, group):
    client.force_login(supervisor)
    until = f"{timezone.localtime() + timedelta(hours=3):%Y-%m-%dT%H:%M}"
    response = client.post(
        reverse("emergency-measures"),
        {"kind": "hold_messages", "categories": [group.category_id], "reason": "舆情事件", "ends_at": until},
    )
    assert response.status_code == 302
    measure = EmergencyMeasure.objects.get()
    assert list(measure.categories.all()) == [group.category]
    page = client.get(reverse("emergency-measures")).content.decode()
    assert "舆情事件" in page and "立即结束" in page
    bad = client.post(
        reverse("emergency-measures"), {"kind": "freeze_creation", "reason": "", "ends_at": "明天"}
    )
    assert bad.status_code == 400 and EmergencyMeasure.objects.count() == 1
    client.force_login(reviewer)  # sees, cannot end
    assert "舆情事件" in client.get(reverse("emergency-measures")).content.decode()
    assert (
        client.post(reverse("emergency-measure-end", args=[measure.pk]), {"reason": "x"}).status_code == 403
    )
    client.force_login(supervisor)
    assert client.post(reverse("emergency-measure-end", args=[measure.pk]), {"reason": ""}).status_code == 302
    measure.refresh_from_db()
    assert measure.ended_at is None  # a reason is required
    client.post(reverse("emergency-measure-end", args=[measure.pk]), {"reason": "已平息"})
    measure.refresh_from_db()
    assert measure.ended_at is not None and measure.end_reason == "已平息"
