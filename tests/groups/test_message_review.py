"""R10.1, R12.1: compliance staff decide messages held by screening (released into the group's sequence
and broadcast like a new message, or removed and kept as evidence) and take down reported messages."""

import json

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import selectors, services
from groups.models import ChatGroup
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory


@pytest.fixture
def screener(db):
    user = UserFactory(username="screener", nickname="审核员", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="review_message"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def published(monkeypatch):
    events = []
    monkeypatch.setattr(services, "publish_on_commit", lambda channel, event: events.append((channel, event)))
    return events


def _hold(group, member, body="周末一起刷单赚钱", client_msg_id="h1"):
    message, _new = services.message_send(
        actor=actor_for(member), group=group, body=body, client_msg_id=client_msg_id
    )
    assert message.status == "held" and message.seq is None
    return message


def test_r10_1_released_held_message_takes_the_next_number_and_reaches_the_group(
    group, member, owner, lexicon, screener, published
):
    held = _hold(group, member, body="@群主 周末一起刷单")
    services.message_send(actor=actor_for(owner), group=group, body="大家好", client_msg_id="o1")
    released = services.message_review_decide(actor=actor_for(screener), message=held, release=True)
    group.refresh_from_db()
    assert (released.status, released.seq, group.last_seq) == ("visible", 2, 2)
    [(channel, event)] = [
        e for e in published if e[1].get("type") == "chat.message" and '"seq":2' in e[1]["frame"]
    ]
    frame = json.loads(event["frame"])["message"]
    assert channel == f"chat.{group.pk}" and frame["body"] == "@群主 周末一起刷单"
    assert frame["seq"] == 2 and frame["client_msg_id"] == "h1" and frame["status"] == "visible"
    assert [m.pk for m in selectors.message_list(group)][-1] == held.pk  # in the group's history now
    mentioned = Notification.objects.get(recipient=owner, kind="chat.mentioned")
    assert mentioned.context["who"] == "成员" and mentioned.context["seq"] == 2
    told = Notification.objects.get(recipient=member, kind="group.message_reviewed")
    assert told.context["outcome"] == "released"
    assert AuditEvent.objects.get(event_type="groups.held_message_released").data["seq"] == 2


def test_r10_1_removed_held_message_stays_hidden_as_evidence(group, member, lexicon, screener, published):
    held = _hold(group, member)
    removed = services.message_review_decide(
        actor=actor_for(screener), message=held, release=False, reason="广告"
    )
    group.refresh_from_db()
    assert (removed.status, removed.seq, removed.removed_by, removed.removal_reason) == (
        "removed",
        None,
        screener,
        "广告",
    )
    assert removed.body == "周末一起刷单赚钱" and group.last_seq == 0  # kept, and no place in the sequence
    assert published == []  # nobody in the group learns of it
    told = Notification.objects.get(recipient=member, kind="group.message_reviewed")
    assert (told.context["outcome"], told.context["note"]) == ("removed", "广告")
    assert AuditEvent.objects.filter(event_type="groups.held_message_removed", reason="广告").exists()


def test_r10_1_a_held_message_is_decided_once_and_only_by_staff(group, member, owner, lexicon, screener):
    held = _hold(group, member)
    for user in (owner, member):
        with pytest.raises(PolicyDenied):
            services.message_review_decide(actor=actor_for(user), message=held, release=True)
    services.message_review_decide(actor=actor_for(screener), message=held, release=False)
    with pytest.raises(PolicyDenied) as again:
        services.message_review_decide(actor=actor_for(screener), message=held, release=True)
    assert again.value.code == "not_held"


def test_r10_1_a_held_message_is_not_released_into_an_inactive_group(group, member, lexicon, screener):
    held = _hold(group, member)
    ChatGroup.objects.filter(pk=group.pk).update(status="dissolved")
    with pytest.raises(PolicyDenied) as refused:
        services.message_review_decide(actor=actor_for(screener), message=held, release=True)
    assert refused.value.code == "group_inactive"
    assert (
        services.message_review_decide(actor=actor_for(screener), message=held, release=False).status
        == "removed"
    )


def test_r12_1_staff_take_down_a_reported_message(group, member, owner, screener, published):
    sent, _ = services.message_send(
        actor=actor_for(member), group=group, body="加我领红包", client_msg_id="t1"
    )
    with pytest.raises(PolicyDenied):
        services.message_takedown(actor=actor_for(member), message=sent, reason="x")
    removed = services.message_takedown(actor=actor_for(screener), message=sent, reason="诈骗")
    assert (removed.status, removed.removed_by, removed.removal_reason) == ("removed", screener, "诈骗")
    assert any(event["type"] == "chat.removed" for _channel, event in published)
    with pytest.raises(PolicyDenied) as again:
        services.message_takedown(actor=actor_for(screener), message=sent)
    assert again.value.code == "not_removable"
