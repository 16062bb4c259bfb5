"""R8.5: invitations (added at once in a small group, confirmed by the invitee above the tier's size);
R7.1: the activity level computed daily."""

import pytest
from django.core.exceptions import ValidationError

from common.actors import Actor, Door
from common.policies import PolicyDenied
from groups import services
from groups.models import ChatGroup, GroupTier, Invitation, Membership
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory


def test_small_group_r8_5_adds_the_invitee_at_once_and_tells_them(db, owner, group, member):
    invitee = UserFactory()
    result = services.invitation_create(actor=actor_for(member), group=group, invitee=invitee)
    assert isinstance(result, Membership) and result.user == invitee
    assert Notification.objects.filter(recipient=invitee, kind="group.added").exists()


def test_above_the_tier_r8_5_the_invitee_confirms(db, owner, group, member):
    GroupTier.objects.filter(number=2).update(min_members=2)  # the group (two members) is now tier 2
    invitee = UserFactory()
    invitation = services.invitation_create(actor=actor_for(member), group=group, invitee=invitee)
    assert isinstance(invitation, Invitation) and invitation.status == "pending"
    assert not Membership.objects.filter(group=group, user=invitee).exists()
    assert Notification.objects.filter(recipient=invitee, kind="group.invited").exists()
    with pytest.raises(PolicyDenied):  # only the invitee answers
        services.invitation_respond(actor=actor_for(member), invitation=invitation, accept=True)
    services.invitation_respond(actor=actor_for(invitee), invitation=invitation, accept=True)
    assert Membership.objects.filter(group=group, user=invitee, left_at__isnull=True).exists()
    with pytest.raises(PolicyDenied):
        services.invitation_respond(actor=actor_for(invitee), invitation=invitation, accept=True)


def test_invitation_r8_5_checks_caps_when_confirmed_and_rules_first(db, owner, group, member):
    GroupTier.objects.filter(number=2).update(min_members=2)
    group = services.group_settings_update(actor=actor_for(owner), group=group, rules_text="禁止广告")
    invitee = UserFactory()
    invitation = services.invitation_create(actor=actor_for(owner), group=group, invitee=invitee)
    with pytest.raises(ValidationError):
        services.invitation_respond(actor=actor_for(invitee), invitation=invitation, accept=True)
    ChatGroup.objects.filter(pk=group.pk).update(member_cap=2)  # full meanwhile
    with pytest.raises(PolicyDenied) as info:
        services.invitation_respond(
            actor=actor_for(invitee), invitation=invitation, accept=True, accept_rules=True
        )
    assert info.value.code == "group_full"
    services.invitation_respond(actor=actor_for(invitee), invitation=invitation, accept=False)
    assert Invitation.objects.get(pk=invitation.pk).status == "declined"


def test_categories_without_invitations_r8_5_refuse_them(db, owner):
    group = services.group_create(actor=actor_for(owner), name="资讯", category="news")
    ChatGroup.objects.filter(pk=group.pk).update(status="active")
    group.refresh_from_db()
    with pytest.raises(PolicyDenied) as info:
        services.invitation_create(actor=actor_for(owner), group=group, invitee=UserFactory())
    assert info.value.code == "invitations_closed"


def test_activity_level_r7_1_is_computed_and_idempotent(db, owner, group, member, settings):
    settings.GROUP_ACTIVITY_THRESHOLDS = (("quiet", 0), ("normal", 3), ("active", 100))
    for n in range(3):
        services.message_send(actor=actor_for(member), group=group, body=f"消息{n}", client_msg_id=f"act{n}")
    system = Actor.system(door=Door.TASK)
    assert services.group_activity_compute(actor=system) >= 1
    group.refresh_from_db()
    assert (group.activity_level, group.activity_messages_7d) == ("normal", 3)
    assert services.group_activity_compute(actor=system) == 0  # the same day, the same result


def test_every_configured_activity_level_fits_r7_1(db, owner, group, member, settings):
    """The default levels, the busiest included ("very_active"), are stored whole (PostgreSQL refuses a
    longer value than the column allows)."""
    busiest = settings.GROUP_ACTIVITY_THRESHOLDS[-1][0]
    settings.GROUP_ACTIVITY_THRESHOLDS = ((busiest, 0),)
    services.group_activity_compute(actor=Actor.system(door=Door.TASK))
    group.refresh_from_db()
    assert group.activity_level == busiest == "very_active"


def test_invitation_doors_r8_5_api_and_page(client, db, owner, group, member):
    GroupTier.objects.filter(number=2).update(min_members=2)  # confirmation needed from now on
    invitee = UserFactory()
    client.force_login(member)
    response = client.post(
        f"/api/groups/{group.code}/invitations/", {"user_id": invitee.pk}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["status"] == "pending"
    missing = client.post(
        f"/api/groups/{group.code}/invitations/", {"user_id": 999999}, content_type="application/json"
    )
    assert missing.status_code == 404
    invitation_id = response.json()["invitation_id"]
    assert (
        client.post(f"/invitations/{invitation_id}/respond/", {"action": "accept"}).status_code == 404
    )  # not theirs
    client.force_login(invitee)
    assert [i["id"] for i in client.get("/api/invitations/").json()] == [invitation_id]
    page = client.get("/invitations/").content.decode()
    assert group.name in page
    response = client.post(f"/invitations/{invitation_id}/respond/", {"action": "accept"})
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.code}/"
    assert Membership.objects.filter(group=group, user=invitee, left_at__isnull=True).exists()
    outsider = UserFactory()
    client.force_login(outsider)
    denied = client.post(
        f"/api/groups/{group.code}/invitations/", {"user_id": invitee.pk}, content_type="application/json"
    )
    assert denied.status_code == 404  # not their group


def test_invitation_api_r8_5_decline(client, db, owner, group):
    GroupTier.objects.filter(number=2).update(min_members=1)
    invitee = UserFactory()
    invitation = services.invitation_create(actor=actor_for(owner), group=group, invitee=invitee)
    client.force_login(invitee)
    response = client.post(
        f"/api/invitations/{invitation.pk}/respond/", {"accept": False}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "declined"


def test_invite_form_r8_5_on_the_manage_page_finds_people_by_account_or_mobile(client, db, owner, group):
    GroupTier.objects.filter(number=2).update(min_members=2)
    invitee = UserFactory(username="xiaoming")
    type(invitee).objects.filter(pk=invitee.pk).update(phone="+8613912340000")
    client.force_login(owner)
    url = f"/groups/{group.code}/manage/invite/"
    response = client.post(url, {"who": "13912340000"}, follow=True)
    assert Invitation.objects.filter(group=group, invitee=invitee, status="pending").exists()
    assert "xiaoming" in response.content.decode() or invitee.nickname in response.content.decode()
    response = client.post(url, {"who": "no-such-person"}, follow=True)
    assert response.status_code == 200 and not Invitation.objects.filter(invitee__username="no-such-person")
