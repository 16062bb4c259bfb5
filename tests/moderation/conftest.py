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
