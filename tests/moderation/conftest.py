import pytest
from django.contrib.auth.models import Permission

from common.actors import Actor, Door
from groups import services as group_services
from tests.conftest import actor_for
from tests.factories import UserFactory


@pytest.fixture
def reporter(group):
    """A second member of the group, with a name that shows nowhere unless leaked."""
    user = UserFactory(username="wangxm", nickname="王小明")
    group_services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    return user


@pytest.fixture
def admin(group, owner):
    user = UserFactory(username="admin1", nickname="管理员甲")
    group_services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    group_services.membership_appoint_admin(actor=actor_for(owner), group=group, member=user)
    return user


@pytest.fixture
def message(group, member):
    """The member's message, with two before it and two after it."""
    for n in range(2):
        group_services.message_send(
            actor=actor_for(member), group=group, body=f"之前{n}", client_msg_id=f"b{n}"
        )
    sent, _new = group_services.message_send(
        actor=actor_for(member), group=group, body="你这个骗子，快转账", client_msg_id="target"
    )
    for n in range(2):
        group_services.message_send(
            actor=actor_for(member), group=group, body=f"之后{n}", client_msg_id=f"a{n}"
        )
    return sent


@pytest.fixture
def staff(db):
    user = UserFactory(username="compliance1", nickname="合规员", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    return user


def visitor(ip: str = "203.0.113.7") -> Actor:
    return Actor.for_user(None, door=Door.WEB, ip=ip)


# --- sanctions, the blacklist and appeals (R11.1-R11.3) -----------------------------------------------

SANCTION_PERMISSIONS = ("add_sanction", "view_sanction", "view_appeal", "decide_appeal", "change_case")


def _compliance_user(username: str, nickname: str, *codenames: str):
    user = UserFactory(username=username, nickname=nickname, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="moderation", codename__in=codenames)
    )
    return user


@pytest.fixture
def reviewer(db):
    """Compliance staff who decide measures and appeals (the "reviewer" role's sanction permissions)."""
    return _compliance_user("reviewer1", "审核员甲", *SANCTION_PERMISSIONS)


@pytest.fixture
def reviewer2(db):
    """A second reviewer: appeals are decided by someone other than those who decided the measure."""
    return _compliance_user("reviewer2", "审核员乙", *SANCTION_PERMISSIONS)


@pytest.fixture
def supervisor(db):
    """The "supervisor" role: everything a reviewer may, and approving (four eyes)."""
    return _compliance_user("supervisor1", "主管", *SANCTION_PERMISSIONS, "approve_sanction")


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward: ``later(hours=25)``. Policies compare ends with now (house rule 9), so a
    measure ends by itself; the database's own clock is not used for them."""
    from datetime import timedelta

    from django.utils import timezone

    real_now = timezone.now

    def move(**delta):
        moved = real_now() + timedelta(**delta)
        monkeypatch.setattr(timezone, "now", lambda: moved)
        return moved

    return move


# --- the review queue (R12.1) --------------------------------------------------------------------------

QUEUE_ROLES = {
    "reviewer": [
        ("moderation", "change_case"),
        ("moderation", "view_case"),
        ("moderation", "view_reviewitem"),
        ("groups", "review_message"),
        ("groups", "review_chatgroup"),
        ("identity", "review_identityverification"),
    ],
}
QUEUE_ROLES["supervisor"] = [*QUEUE_ROLES["reviewer"], ("moderation", "receive_escalations")]


def queue_role(name: str):
    """The role made by moderation's migration 0002 (made again after a transactional test's flush)."""
    from django.contrib.auth.models import Group

    role, created = Group.objects.get_or_create(name=name)
    if created or not role.permissions.exists():
        for app_label, codename in QUEUE_ROLES[name]:
            role.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return role


def queue_staff(username: str, nickname: str, role: str):
    user = UserFactory(username=username, nickname=nickname, is_staff=True)
    user.groups.add(queue_role(role))
    return type(user).objects.get(pk=user.pk)  # no cached permissions


@pytest.fixture
def queue_reviewer(db):
    """Compliance staff in the "reviewer" role: decide every kind of queue item."""
    return queue_staff("qreviewer1", "审核员一", "reviewer")


@pytest.fixture
def queue_reviewer2(db):
    return queue_staff("qreviewer2", "审核员二", "reviewer")


@pytest.fixture
def queue_supervisor(db):
    """Compliance staff in the "supervisor" role: a reviewer who also receives escalations."""
    return queue_staff("qsupervisor", "合规主管", "supervisor")


@pytest.fixture
def held(group, member, lexicon):
    """A message of the member held by screening (刷单 holds)."""
    message, _new = group_services.message_send(
        actor=actor_for(member), group=group, body="周末一起刷单赚钱", client_msg_id="held-1"
    )
    assert message.status == "held"
    return message
