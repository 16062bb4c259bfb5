"""R11.3: the blacklist of groups, creators, admins and members. A person is listed by identity (the keyed
hash of the ID number): every account of theirs loses creating and joining groups, being appointed admin
and posting, and a new account of the same person is refused at real-name verification."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.urls import reverse

from common.policies import PolicyDenied
from groups import policies as group_policies
from groups import services as group_services
from groups.models import GroupStatus
from identity import policies as identity_policies
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import BlacklistEntry, VerificationStatus
from moderation import services
from moderation.models import SanctionStatus
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory, valid_id_number
from tests.groups.test_consumers import open_socket, receive_type

ID_NUMBER = valid_id_number(777)


def _verified_person(username: str, id_number: str = ID_NUMBER):
    user = UnverifiedUserFactory(username=username)
    actor = actor_for(user)
    identity_services.agreement_accept(actor=actor)
    identity_services.verification_submit(actor=actor, real_name="张三", id_number=id_number, consent=True)
    return user


def _blacklist(reviewer, supervisor, user, role="member", **fields):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="CONDUCT_FRAUD_SPAM",
        target_user=user,
        blacklist_role=role,
        note="多次组织诈骗",
        **fields,
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    sanction.refresh_from_db()
    return sanction


def test_r11_3_blacklisting_waits_for_a_supervisor_and_changes_nothing_before(reviewer, member):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="CONDUCT_FRAUD_SPAM",
        target_user=member,
        blacklist_role="creator",
    )
    assert sanction.status == SanctionStatus.PENDING and sanction.article == "11(3)"
    assert not BlacklistEntry.objects.exists()
    assert group_policies.can_create_group(member).allowed


def test_r11_3_a_blacklisted_person_loses_every_group_function(
    reviewer, supervisor, group, owner, outsider, settings
):
    settings.IDENTITY_ACCOUNTS_PER_ID = 2
    person = _verified_person("heiren")
    second = _verified_person("heiren2")  # another account of the same person
    group_services.membership_join(actor=actor_for(person), group=group, invite_token=group.invite_token)
    group_services.membership_join(actor=actor_for(second), group=group, invite_token=group.invite_token)
    sanction = _blacklist(reviewer, supervisor, person, role="member")
    assert sanction.status == SanctionStatus.ACTIVE and sanction.duration_hours == 180 * 24
    entry = BlacklistEntry.objects.get(pk=sanction.effect["blacklist_entry"])
    assert entry.user == person and entry.id_hash and entry.role == "member"
    for account in (person, second):
        assert identity_selectors.blacklist_active(account) is not None
        assert group_policies.can_post(account, group).code == "blacklisted"
        assert group_policies.can_create_group(account).code == "blacklisted"
        assert group_policies.can_appoint_admin(owner, group, account).code == "cannot_be_admin"
    other = group_services.group_create(actor=actor_for(outsider), name="另一个群")
    assert group_policies.can_join(person, other, other.invite_token).code == "blacklisted"
    assert group_policies.can_invite(outsider, other, second).code == "invitee_blacklisted"
    assert identity_policies.can_publish(person).code == "blacklisted"
    assert "平台黑名单" in identity_policies.can_publish(person).reason


def test_r11_3_blacklisted_person_refused_on_the_page_and_the_api(
    client, reviewer, supervisor, group, member
):
    _blacklist(reviewer, supervisor, member)
    client.force_login(member)
    response = client.post(
        reverse("api-messages", args=[group.code]),
        {"body": "x", "client_msg_id": "b1"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "blacklisted"
    response = client.post(reverse("group-create"), {"name": "黑群", "description": ""})
    assert "平台黑名单" in response.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_r11_3_blacklisted_person_refused_through_the_socket():
    owner = await database_sync_to_async(UserFactory)(username="bl-owner")
    member = await database_sync_to_async(UserFactory)(username="bl-member")
    reviewer = await database_sync_to_async(UserFactory)(username="bl-reviewer", is_staff=True)
    supervisor = await database_sync_to_async(UserFactory)(username="bl-supervisor", is_staff=True)

    def grant():
        reviewer.user_permissions.add(Permission.objects.get(codename="add_sanction"))
        supervisor.user_permissions.add(
            *Permission.objects.filter(codename__in=["add_sanction", "approve_sanction"])
        )

    await database_sync_to_async(grant)()
    group = await database_sync_to_async(group_services.group_create)(actor=actor_for(owner), name="黑名单")
    await database_sync_to_async(group_services.membership_join)(
        actor=actor_for(member), group=group, invite_token=group.invite_token
    )
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    await database_sync_to_async(_blacklist)(reviewer, supervisor, member)
    await socket.send_json_to({"type": "send", "group": group.code, "body": "x", "client_msg_id": "s1"})
    assert (await receive_type(socket, "error"))["code"] == "blacklisted"
    await socket.disconnect()


def test_r11_3_a_new_account_of_a_blacklisted_person_is_refused_at_verification(reviewer, supervisor):
    person = _verified_person("laoren")
    _blacklist(reviewer, supervisor, person, role="creator")
    newcomer = UnverifiedUserFactory(username="xinhao")
    actor = actor_for(newcomer)
    identity_services.agreement_accept(actor=actor)
    with pytest.raises(PolicyDenied) as refused:
        identity_services.verification_submit(
            actor=actor, real_name="张三", id_number=ID_NUMBER, consent=True
        )
    assert refused.value.code == "blacklisted"
    assert identity_selectors.verification_status(newcomer) == VerificationStatus.UNVERIFIED
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(event_type="identity.verification_refused_blacklisted").exists()
    # someone else's number is not affected
    identity_services.verification_submit(
        actor=actor, real_name="李四", id_number=valid_id_number(778), consent=True
    )
    assert identity_selectors.verification_status(newcomer) == VerificationStatus.VERIFIED


def test_r11_3_a_new_account_is_refused_on_the_verification_page(client, reviewer, supervisor):
    person = _verified_person("laoren2")
    _blacklist(reviewer, supervisor, person)
    newcomer = UnverifiedUserFactory(username="xinhao2")
    identity_services.agreement_accept(actor=actor_for(newcomer))
    client.force_login(newcomer)
    response = client.post(
        reverse("identity-verify"), {"real_name": "张三", "id_number": ID_NUMBER, "consent": "on"}
    )
    assert response.status_code == 200 and "该身份已被列入平台黑名单" in response.content.decode()


def test_r11_3_the_listing_ends_by_itself(reviewer, supervisor, group, member, later):
    _blacklist(reviewer, supervisor, member, duration_hours=31 * 24)
    assert group_policies.can_post(member, group).code == "blacklisted"
    later(days=32)
    assert group_policies.can_post(member, group).allowed
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 1


def test_r11_3_blacklisting_a_group_closes_it(reviewer, supervisor, group, member):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="ILL_OBSCENE_GAMBLING_VIOLENCE",
        target_group=group,
        blacklist_role="group",
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    assert group_policies.can_post(member, group).code == "group_closed"


def test_r11_3_the_blacklist_page_lists_entries_by_role(client, reviewer, supervisor, member, owner):
    _blacklist(reviewer, supervisor, member, role="member")
    _blacklist(reviewer, supervisor, owner, role="creator")
    client.force_login(supervisor)
    page = client.get(reverse("blacklist")).content.decode()
    assert "群成员" in page and "群创建者" in page
    page = client.get(reverse("blacklist"), {"role": "creator"}).content.decode()
    shown = '<span class="muted">{}</span>'
    assert shown.format(owner.username) in page and shown.format(member.username) not in page
