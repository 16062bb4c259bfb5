"""A small, real world for the API fuzzer: a group with its owner, an admin and a member, messages, a
complaint waiting in the review queue and compliance staff, built through the services so the fuzzer
reaches the views' logic and not only the 403 wall. Requests go through Django's whole WSGI stack in
process (middleware, CSRF, session authentication), on the test's own database connection."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from groups import services
from moderation import selectors as moderation_selectors
from moderation import services as moderation_services
from tests.conftest import actor_for
from tests.factories import UserFactory


class _TestWSGIHandler(WSGIHandler):
    """The project as a WSGI application (the deployment runs ASGI; the views and middleware are the same).
    In process the request shares the test's connection and transaction, so, as Django's test client does,
    the connection is not closed at the end of each request."""

    def __call__(self, environ, start_response):
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            return super().__call__(environ, start_response)
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


_wsgi_app: WSGIHandler | None = None


def wsgi_app() -> WSGIHandler:
    global _wsgi_app
    if _wsgi_app is None:
        _wsgi_app = _TestWSGIHandler()
    return _wsgi_app


def session_for(user) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and headers of a signed-in session for ``user`` (a CSRF token only, for the anonymous)."""
    from importlib import import_module

    csrf = secrets.token_hex(16)  # 32 characters: Django's unmasked CSRF secret
    cookies = {settings.CSRF_COOKIE_NAME: csrf}
    if user is not None:
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return cookies, {"X-CSRFToken": csrf}


@dataclass
class FuzzWorld:
    owner: object
    admin: object
    member: object
    stranger: object
    staff: object
    group: object
    seqs: list[int]
    ids: dict[str, list[int]] = field(default_factory=dict)

    def bodies(self, operation_id: str) -> list[dict]:
        """Valid bodies naming the world's objects, for operations whose generated body names only unknown
        ones (a random message number to pin, a random person to invite)."""
        return {
            "group_pinned_set": [{"seq": seq} for seq in self.seqs],
            "invitations_create": [{"user_id": self.stranger.pk}],
        }.get(operation_id, [])

    def path_values(self, operation_id: str) -> dict[str, list]:
        """Valid values for each path parameter of the operation: the world's group, its messages, its
        members, and the join request, review item or sanction the operation acts on."""
        by_operation = {
            "join_requests_decide": "join_request",
            "review_item_decide": "review_item",
            "review_item_release": "review_item",
            "sanctions_decide": "sanction",
            "invitations_respond": "invitation",
        }
        return {
            "code": [self.group.code],
            "seq": self.seqs,
            "user_id": [self.member.pk, self.admin.pk, self.owner.pk],
            "id": self.ids.get(by_operation.get(operation_id, ""), []) or [1],
        }


def _staff(username: str):
    """Compliance staff who may work the queue, issue sanctions and approve them."""
    from tests.moderation.conftest import queue_role

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(queue_role("supervisor"))
    for codename in ("add_sanction", "approve_sanction"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="moderation", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # no cached permissions


def build_world() -> FuzzWorld:
    owner = UserFactory(username="fz-owner", nickname="群主")
    member = UserFactory(username="fz-member", nickname="成员")
    admin = UserFactory(username="fz-admin", nickname="管理员")
    stranger = UserFactory(username="fz-stranger", nickname="路人")
    staff = _staff("fz-staff")
    other_staff = _staff("fz-staff-2")
    group = services.group_create(actor=actor_for(owner), name="模糊测试群", description="fuzz")
    for user in (member, admin):
        services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=admin)
    first, _ = services.message_send(
        actor=actor_for(member), group=group, body="成员的消息", client_msg_id="fz-1"
    )
    second, _ = services.message_send(
        actor=actor_for(owner), group=group, body="群主的消息", client_msg_id="fz-2"
    )
    target = moderation_selectors.report_target_for_actor(
        actor_for(member), group.code, message_seq=second.seq
    )
    moderation_services.complaint_file(actor=actor_for(member), target=target, category="CONDUCT_FRAUD_SPAM")
    moderation_services.review_queue_sync(actor=actor_for(staff))
    # The group now takes requests: the stranger's waits for the owner.
    group = services.group_settings_update(actor=actor_for(owner), group=group, join_mode="request")
    join_request = services.join_request_create(actor=actor_for(stranger), group=group)
    # A measure that waits for a second supervisor (four eyes): the fuzzing staff may decide it.
    sanction = moderation_services.sanction_issue(
        actor=actor_for(other_staff),
        kind="user_suspend",
        category="ILL_OTHER",
        target_user=stranger,
        permanent=True,
    )
    from moderation.models import ReviewItem

    group.refresh_from_db()
    return FuzzWorld(
        owner=owner,
        admin=admin,
        member=member,
        stranger=stranger,
        staff=staff,
        group=group,
        seqs=[first.seq, second.seq],
        ids={
            "join_request": [join_request.pk],
            "review_item": list(ReviewItem.objects.values_list("pk", flat=True)),
            "sanction": [sanction.pk],
        },
    )
