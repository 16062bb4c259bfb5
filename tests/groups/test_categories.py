"""R7.1, R8.1, R8.4, R8.5: categories and tiers decide who may create what, how people join, and when
staff review a new group."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from common.policies import PolicyDenied
from credit.models import CreditAccount
from groups import selectors, services
from groups.models import ChatGroup, GroupCategory, GroupTier, Membership
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory


def _reviewer():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="review_chatgroup"))
    return type(user).objects.get(pk=user.pk)


def test_category_r8_4_asks_for_a_credit_level(db):
    creator = UserFactory(credit_score=10)  # level 2
    with pytest.raises(PolicyDenied) as info:
        services.group_create(actor=actor_for(creator), name="二手交易", category="trade")  # needs level 3
    assert info.value.code == "category_level" and info.value.action_url == "/credit/"
    group = services.group_create(actor=actor_for(creator), name="读书", category="study")
    assert group.category.code == "study" and group.status == "active"


def test_reviewed_category_r8_4_waits_for_staff_and_the_creator_is_told(db, owner, member):
    group = services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    assert group.status == "pending_review" and group.creator_qualifications["credit_level"] == 4
    with pytest.raises(PolicyDenied) as info:
        services.message_send(actor=actor_for(owner), group=group, body="开张", client_msg_id="p1")
    assert info.value.code == "group_pending_review"
    with pytest.raises(PolicyDenied):
        services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    with pytest.raises(PolicyDenied):  # members are not reviewers
        services.group_creation_decide(actor=actor_for(member), group=group, approve=True)
    reviewer = _reviewer()
    with pytest.raises(ValidationError):  # a refusal says why
        services.group_creation_decide(actor=actor_for(reviewer), group=group, approve=False)
    services.group_creation_decide(actor=actor_for(reviewer), group=group, approve=True, note="资质齐全")
    group.refresh_from_db()
    assert group.status == "active" and group.reviewed_by == reviewer
    services.message_send(actor=actor_for(owner), group=group, body="开张", client_msg_id="p2")
    assert Notification.objects.filter(recipient=owner, kind="group.creation_decided").exists()
    assert AuditEvent.objects.filter(event_type="groups.creation_approved", target_id=str(group.pk)).exists()


def test_tiers_r7_1_follow_the_member_count(db):
    assert selectors.tier_for(1).number == 1
    assert selectors.tier_for(41).number == 2 and selectors.tier_for(40).number == 1
    assert selectors.tier_for(101).number == 3
    assert selectors.tier_for(501).number == 4


def test_rules_r8_5_change_as_the_group_grows(db, group):
    small = selectors.group_rules(group, member_count=30)
    assert small.open_link_allowed and not small.invite_needs_confirmation and small.cap == 500
    medium = selectors.group_rules(group, member_count=60)
    assert medium.open_link_allowed and medium.invite_needs_confirmation
    large = selectors.group_rules(group, member_count=150)
    assert not large.open_link_allowed and large.joiners_must_be_verified and "link" not in large.join_modes


def test_link_join_r8_5_closes_above_the_tier_and_needs_verification_above_the_category(db, group, settings):
    GroupTier.objects.filter(number=2).update(min_members=2, joiners_must_be_verified=True)
    GroupTier.objects.filter(number=3).update(min_members=3, open_link_allowed=False)
    unverified = UnverifiedUserFactory()
    services_join = services.membership_join
    # the group has two members (owner, member): tier 2 now asks for verified joiners
    from identity import services as identity_services

    identity_services.agreement_accept(actor=actor_for(unverified))
    with pytest.raises(PolicyDenied) as info:
        services_join(actor=actor_for(unverified), group=group, invite_token=group.invite_token)
    assert info.value.code == "verification_required" and info.value.action_url == "/accounts/verify/"
    services_join(actor=actor_for(UserFactory()), group=group, invite_token=group.invite_token)  # now three
    with pytest.raises(PolicyDenied) as info:
        services_join(actor=actor_for(UserFactory()), group=group, invite_token=group.invite_token)
    assert info.value.code == "link_closed"


@pytest.mark.django_db(transaction=True)
def test_racing_joins_r8_1_at_the_cap_let_only_one_in():
    from tests.factories import ensure_default_levels

    ensure_default_levels()
    owner = UserFactory()
    group = services.group_create(actor=actor_for(owner), name="最后一个位置")
    ChatGroup.objects.filter(pk=group.pk).update(member_cap=2)
    group.refresh_from_db()
    joiners = [UserFactory(), UserFactory()]
    barrier, outcomes = threading.Barrier(2), []

    def join(user):
        try:
            barrier.wait()
            services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
            outcomes.append("joined")
        except PolicyDenied as denied:
            outcomes.append(denied.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(user,)) for user in joiners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["group_full", "joined"]
    assert Membership.objects.filter(group=group, left_at__isnull=True).count() == 2


def test_review_pages_r8_4(client, db, owner):
    group = services.group_create(actor=actor_for(owner), name="资讯转发", category="news")
    client.force_login(owner)
    assert client.get("/compliance/groups/requests/").status_code == 403
    page = client.get(f"/groups/{group.code}/").content.decode()
    assert "审核" in page  # the creator sees the state
    client.force_login(_reviewer())
    listing = client.get("/compliance/groups/requests/").content.decode()
    assert group.code in listing and "资讯转发" in listing
    response = client.post(
        f"/compliance/groups/requests/{group.code}/decide/", {"action": "reject", "note": ""}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == "pending_review"  # a refusal needs its reason
    client.post(f"/compliance/groups/requests/{group.code}/decide/", {"action": "reject", "note": "资质不足"})
    group.refresh_from_db()
    assert group.status == "rejected" and group.review_note == "资质不足"


def test_create_page_r8_4_offers_the_categories(client, owner):
    client.force_login(owner)
    page = client.get("/groups/new/").content.decode()
    assert "学习交流" in page and "商业交易" in page
    response = client.post("/groups/new/", {"name": "团购", "category": "trade"})
    group = ChatGroup.objects.get(name="团购")
    assert response.status_code == 302 and group.status == "pending_review"


def test_categories_and_tiers_r7_1_are_saved_through_the_admin_with_audit(client, db):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", password="x-Long-pass-1", nickname="管理")
    client.force_login(admin_user)
    tier = GroupTier.objects.get(number=2)
    response = client.post(
        f"/admin/groups/grouptier/{tier.pk}/change/",
        {
            "number": 2,
            "name": "中群",
            "name_en": "Medium",
            "min_members": 0,  # not above tier 1: refused
            "invite_needs_confirmation": "on",
        },
    )
    assert response.status_code == 200 and GroupTier.objects.get(number=2).min_members == 41
    category = GroupCategory.objects.get(code="study")
    response = client.post(
        f"/admin/groups/groupcategory/{category.pk}/change/",
        {
            "code": "study",
            "name": "学习交流",
            "name_en": "Study",
            "description": "",
            "min_creator_level": 3,
            "max_size": 300,
            "join_modes": '["link", "request"]',
            "verified_above": 100,
            "enabled": "on",
            "position": 1,
        },
    )
    assert response.status_code == 302
    assert GroupCategory.objects.get(code="study").max_size == 300
    assert AuditEvent.objects.filter(event_type="groups.groupcategory_changed").exists()
    CreditAccount.objects.all()  # the grid is untouched by category edits


@pytest.mark.django_db(transaction=True)
def test_racing_creates_r8_1_stop_at_the_owned_cap():
    from tests.factories import ensure_default_levels

    ensure_default_levels()
    creator = UserFactory(credit_score=10)  # level 2: one group
    barrier, outcomes = threading.Barrier(3), []

    def create(n):
        try:
            barrier.wait()
            services.group_create(actor=actor_for(creator), name=f"同时创建{n}")
            outcomes.append("created")
        except PolicyDenied as denied:
            outcomes.append(denied.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "owned_cap_reached", "owned_cap_reached"]


def test_bidi_controls_r10_1_are_refused_in_messages_and_names(db, owner, group):
    with pytest.raises(ValidationError):
        services.message_send(actor=actor_for(owner), group=group, body="\u202e乐家百", client_msg_id="b1")
    with pytest.raises(ValidationError):
        services.group_create(actor=actor_for(owner), name="\u2067群\u2069")
