import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import NetworkLog
from audit.selectors import audit_event_list
from common.actors import Door
from common.policies import PolicyDenied
from groups import selectors, services
from groups.codes import ALPHABET, group_code_is_valid, group_code_new
from groups.models import ChatGroup, Membership, Message, Role
from tests.conftest import actor_for
from tests.factories import UserFactory


def test_group_create_r8_2_gives_valid_unique_code_and_owner_label(owner):
    group = services.group_create(actor=actor_for(owner), name=" 读书会 ")
    assert group.name == "读书会"
    assert group_code_is_valid(group.code)
    membership = Membership.objects.get(group=group, user=owner)
    assert membership.role == Role.OWNER
    assert owner.has_perm("groups.manage_chatgroup", group)
    assert audit_event_list(event_type="groups.group_created", target=group).count() == 1


@pytest.mark.parametrize("attempt", range(20))
def test_group_code_r8_2_check_character_catches_every_typo_and_swap(attempt):
    code = group_code_new()
    assert group_code_is_valid(code)
    for position, original in enumerate(code):
        for replacement in ALPHABET:
            if replacement != original:
                typo = code[:position] + replacement + code[position + 1 :]
                assert not group_code_is_valid(typo), (code, typo)
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            swapped = code[:position] + b + a + code[position + 2 :]
            assert not group_code_is_valid(swapped), (code, swapped)
    assert not group_code_is_valid("0" + code[1:])


def test_group_create_with_empty_name_is_refused_with_code(owner):
    with pytest.raises(ValidationError) as info:
        services.group_create(actor=actor_for(owner), name="   ")
    assert info.value.code == "name_empty"
    assert not ChatGroup.objects.exists()


def test_message_send_assigns_next_seq_and_audits(group, member):
    message, created = services.message_send(
        actor=actor_for(member), group=group, body="你好", client_msg_id="c1"
    )
    assert created and message.seq == 1
    second, _ = services.message_send(actor=actor_for(member), group=group, body="再见", client_msg_id="c2")
    assert second.seq == 2
    logged = NetworkLog.objects.filter(kind="message", group_code=group.code).order_by("id")
    assert [(row.user_id, row.message_id, row.ip) for row in logged] == [
        (member.pk, message.pk, "127.0.0.1"),
        (member.pk, second.pk, "127.0.0.1"),
    ]


def test_message_send_repeated_client_msg_id_returns_original(group, member):
    first, created = services.message_send(
        actor=actor_for(member), group=group, body="一次", client_msg_id="same"
    )
    again, created_again = services.message_send(
        actor=actor_for(member, Door.API), group=group, body="两次", client_msg_id="same"
    )
    assert created and not created_again
    assert again.pk == first.pk and again.body == "一次"
    assert Message.objects.count() == 1
    group.refresh_from_db()
    assert group.last_seq == 1


def test_message_send_client_msg_id_reused_in_other_group_is_refused(group, owner, member):
    other = services.group_create(actor=actor_for(owner), name="另一个群")
    services.membership_join(actor=actor_for(member), group=other, invite_token=other.invite_token)
    services.message_send(actor=actor_for(member), group=group, body="a", client_msg_id="x")
    with pytest.raises(ValidationError) as info:
        services.message_send(actor=actor_for(member), group=other, body="b", client_msg_id="x")
    assert info.value.code == "client_msg_id_reused"


def test_message_send_by_non_member_r8_6_is_denied(group, outsider):
    with pytest.raises(PolicyDenied) as info:
        services.message_send(actor=actor_for(outsider), group=group, body="hi", client_msg_id="c1")
    assert info.value.code == "not_member"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "message_empty"),
        ("   ", "message_empty"),
        ("长" * 2001, "message_too_long"),
        ("a\x00b", "message_invalid"),
        ("a\ud800b", "message_invalid"),
    ],
)
def test_message_send_bad_body_is_refused_with_code(group, member, body, code):
    with pytest.raises(ValidationError) as info:
        services.message_send(actor=actor_for(member), group=group, body=body, client_msg_id="c1")
    assert info.value.code == code
    assert not Message.objects.exists()


def test_message_send_inactive_account_r6_2_is_denied(group, member):
    member.is_active = False
    member.save()
    with pytest.raises(PolicyDenied) as info:
        services.message_send(actor=actor_for(member), group=group, body="hi", client_msg_id="c1")
    assert info.value.code == "account_inactive"


@pytest.mark.django_db(transaction=True)
def test_message_send_concurrent_senders_get_gapless_ordered_seqs():
    assert connection.vendor == "postgresql", "the concurrency guarantee is tested on PostgreSQL"
    owner = UserFactory()
    group = services.group_create(actor=actor_for(owner), name="并发")
    senders = [owner]
    for _ in range(5):
        user = UserFactory()
        services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
        senders.append(user)
    per_sender = 15
    errors = []
    barrier = threading.Barrier(len(senders))

    def send_all(user):
        try:
            barrier.wait()
            for n in range(per_sender):
                services.message_send(
                    actor=actor_for(user), group=group, body=f"{user.pk}-{n}", client_msg_id=f"m{n}"
                )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send_all, args=(user,)) for user in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(Message.objects.filter(group=group).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(senders) * per_sender + 1))
    for user in senders:  # each sender's messages keep their own order
        bodies = list(
            Message.objects.filter(group=group, sender=user).order_by("seq").values_list("body", flat=True)
        )
        assert bodies == [f"{user.pk}-{n}" for n in range(per_sender)]


@pytest.mark.django_db(transaction=True)
def test_message_send_concurrent_retries_of_one_client_msg_id_make_one_message():
    owner = UserFactory()
    group = services.group_create(actor=actor_for(owner), name="重试")
    results, errors = [], []
    barrier = threading.Barrier(4)

    def retry():
        try:
            barrier.wait()
            results.append(
                services.message_send(actor=actor_for(owner), group=group, body="x", client_msg_id="dup")
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Message.objects.filter(group=group).count() == 1
    assert len({message.pk for message, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_membership_join_with_old_invite_link_r8_5_is_denied(group, owner, outsider):
    old_token = group.invite_token
    services.group_invite_reset(actor=actor_for(owner), group=group)
    with pytest.raises(PolicyDenied) as info:
        services.membership_join(actor=actor_for(outsider), group=group, invite_token=old_token)
    assert info.value.code == "invite_invalid"


def test_membership_join_twice_is_denied(group, member):
    with pytest.raises(PolicyDenied) as info:
        services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    assert info.value.code == "already_member"


def test_owner_cannot_leave_r8_6(group, owner):
    with pytest.raises(PolicyDenied) as info:
        services.membership_leave(actor=actor_for(owner), group=group)
    assert info.value.code == "owner_cannot_leave"


def test_member_leaves_and_loses_access_then_rejoins(group, member):
    services.membership_leave(actor=actor_for(member), group=group)
    with pytest.raises(PolicyDenied):
        services.message_send(actor=actor_for(member), group=group, body="hi", client_msg_id="c1")
    services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    message, _ = services.message_send(actor=actor_for(member), group=group, body="hi", client_msg_id="c1")
    assert message.seq == 1


def test_appointed_admin_r9_2_may_reset_invite_and_member_may_not(group, owner, member):
    other = UserFactory()
    services.membership_join(actor=actor_for(other), group=group, invite_token=group.invite_token)
    with pytest.raises(PolicyDenied) as info:
        services.group_invite_reset(actor=actor_for(other), group=group)
    assert info.value.code == "not_manager"
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)
    old = group.invite_token
    services.group_invite_reset(actor=actor_for(member), group=group)
    assert group.invite_token != old


def test_admin_who_leaves_loses_management_right(group, owner, member):
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)
    services.membership_leave(actor=actor_for(member), group=group)
    member = type(member).objects.get(pk=member.pk)  # fresh permission cache
    assert not member.has_perm("groups.manage_chatgroup", group)


def test_message_list_resume_after_and_page_before(group, member):
    for n in range(1, 8):
        services.message_send(actor=actor_for(member), group=group, body=str(n), client_msg_id=f"c{n}")
    assert [m.seq for m in selectors.message_list(group, after=5)] == [6, 7]
    assert [m.seq for m in selectors.message_list(group, limit=3)] == [5, 6, 7]
    assert [m.seq for m in selectors.message_list(group, before=5, limit=2)] == [3, 4]
