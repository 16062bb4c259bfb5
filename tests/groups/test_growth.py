"""R7.1, R8.4, R8.5: an owner's group from creation request to past 40 and 100 members, through the pages,
with the rules changing as the default tiers and the category say (the "done when" of the groups issue)."""

import pytest
from django.contrib.auth.models import Permission

from groups import services
from groups.models import ChatGroup, Invitation, JoinMode, Membership
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory


def _reviewer():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="review_chatgroup"))
    return type(user).objects.get(pk=user.pk)


def _count(group) -> int:
    return Membership.objects.filter(group=group, left_at__isnull=True).count()


def _settings_page(client, group) -> str:
    return client.get(f"/groups/{group.code}/manage/settings/").content.decode()


def _invite(client, group, who) -> None:
    response = client.post(f"/groups/{group.code}/manage/invite/", {"who": who.username})
    assert response.status_code == 302


def test_reviewed_group_r8_4_r8_5_grows_past_40_and_100_with_the_tier_rules(client, db):
    owner = UserFactory(username="tuangou", nickname="团购群主")
    client.force_login(owner)
    response = client.post(
        "/groups/new/", {"name": "小区团购", "description": "每周拼单", "category": "trade"}
    )
    group = ChatGroup.objects.get(created_by=owner)
    assert group.status == "pending_review" and response.status_code == 302
    refused = client.post(f"/groups/{group.code}/manage/invite/", {"who": UserFactory().username})
    assert refused.status_code == 403  # nobody joins a group under review
    assert _count(group) == 1

    reviewer = _reviewer()
    client.force_login(reviewer)
    client.post(
        f"/compliance/groups/requests/{group.code}/decide/", {"action": "approve", "note": "营业执照已核"}
    )
    group.refresh_from_db()
    assert group.status == "active"

    # Tier 1 (up to 40 members): an invitation adds the person at once.
    client.force_login(owner)
    assert "take effect at once" in _settings_page(client, group) or "立即生效" in _settings_page(
        client, group
    )
    for _ in range(39):
        _invite(client, group, UserFactory())
    assert _count(group) == 40 and not Invitation.objects.filter(group=group).exists()
    _invite(client, group, UserFactory())  # the 41st member still joins at once (the group had 40)
    assert _count(group) == 41

    # Tier 2 (41 and more): the invitee confirms; the trade category wants verified joiners above 40.
    unverified = UnverifiedUserFactory()
    _invite(client, group, unverified)
    assert not Invitation.objects.filter(invitee=unverified).exists() and _count(group) == 41
    confirmers = [UserFactory() for _ in range(60)]
    for person in confirmers:
        _invite(client, group, person)
    assert _count(group) == 41
    assert Invitation.objects.filter(group=group, status="pending").count() == 60
    for person in confirmers:
        client.force_login(person)
        invitation = Invitation.objects.get(group=group, invitee=person)
        response = client.post(f"/invitations/{invitation.pk}/respond/", {"action": "accept"})
        assert response.status_code == 302 and response["Location"] == f"/groups/{group.code}/"
    assert _count(group) == 101

    # Tier 3 (101 and more): still by confirmed invitation, verified joiners only, no open link.
    client.force_login(owner)
    page = _settings_page(client, group)
    assert "T3" in page
    rules = services.selectors.group_rules(group)
    assert rules.tier.number == 3 and not rules.open_link_allowed and rules.joiners_must_be_verified
    assert rules.invite_needs_confirmation
    late = UserFactory()
    _invite(client, group, late)
    assert Invitation.objects.filter(invitee=late, status="pending").exists()


def test_open_link_r8_5_closes_when_a_group_passes_100_members(client, db):
    """The link works for the 101st member (the group had 100), and is closed to the 102nd through the join
    page, which then offers a request instead."""
    owner = UserFactory()
    group = services.group_create(actor=actor_for(owner), name="跑步爱好者", category="social")
    assert group.join_mode == JoinMode.LINK
    fillers = [UserFactory() for _ in range(99)]
    for person in fillers:
        services.membership_join(actor=actor_for(person), group=group, invite_token=group.invite_token)
    assert _count(group) == 100
    hundred_and_first, hundred_and_second = UserFactory(), UserFactory()
    client.force_login(hundred_and_first)
    response = client.post(f"/join/{group.invite_token}/", {"accept_rules": "on"})
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.code}/"
    assert _count(group) == 101

    client.force_login(hundred_and_second)
    page = client.get(f"/join/{group.invite_token}/").content.decode()
    assert 'name="message"' in page  # a request form instead of the join button
    client.post(f"/join/{group.invite_token}/", {"accept_rules": "on", "message": "我也跑步"})
    assert _count(group) == 101
    assert group.join_requests.filter(user=hundred_and_second, status="pending").exists()


@pytest.mark.parametrize("count, expected", [(40, False), (41, True)])
def test_category_verified_above_r8_5_counts_members_above_the_figure(db, count, expected):
    owner = UserFactory()
    group = services.group_create(actor=actor_for(owner), name="团购", category="trade")
    rules = services.selectors.group_rules(group, member_count=count)
    assert rules.joiners_must_be_verified is expected
