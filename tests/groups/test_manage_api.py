"""R8.5, R9.2 through the API door: the same services, refusals as 403 with the rule's code, an outsider
learns nothing (404), bad input is 400 with a code."""

import pytest

from groups import services
from groups.models import ChatGroup, GroupBan, JoinRequest, Membership, Message
from tests.conftest import actor_for
from tests.factories import UserFactory

JSON = "application/json"


@pytest.fixture
def admin(db, owner, group):
    user = UserFactory(username="admin", nickname="管理员")
    services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=user)
    return user


@pytest.fixture
def as_user(client):
    def login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return login


def _base(group):
    return f"/api/groups/{group.code}"


def _call(client, method, url, body=None):
    return getattr(client, method)(url, body or {}, content_type=JSON)


# --- who may do what: owner, admin, member (403), outsider (404), signed out (403) ---


def _cases(group, member, owner):
    base = _base(group)
    user = f"{base}/members/{member.pk}"
    return [
        ("get", f"{base}/members/", None),
        ("post", f"{user}/mute/", {"minutes": 10, "reason": "刷屏"}),
        ("post", f"{user}/unmute/", None),
        ("post", f"{user}/remove/", {"reason": "广告"}),
        ("post", f"{user}/admin/", None),
        ("get", f"{base}/join-requests/", None),
        ("patch", f"{base}/settings/", {"slow_mode_seconds": 5}),
        ("put", f"{base}/announcement/", {"text": "本周六共读"}),
    ]


@pytest.mark.parametrize("index", range(8))
def test_management_api_r9_2_member_403_outsider_404_signed_out_403(
    as_user, group, owner, member, outsider, index
):
    method, url, body = _cases(group, member, owner)[index]
    other = UserFactory()
    services.membership_join(actor=actor_for(other), group=group, invite_token=group.invite_token)
    url = url.replace(f"/members/{member.pk}/", f"/members/{other.pk}/")
    response = _call(as_user(member), method, url, body)
    assert response.status_code == 403 and response.json()["code"] == "not_manager"
    assert _call(as_user(outsider), method, url, body).status_code == 404
    assert _call(as_user(None), method, url, body).status_code == 403


@pytest.mark.parametrize("index", range(8))
def test_management_api_r9_2_the_owner_succeeds(as_user, group, owner, member, index):
    method, url, body = _cases(group, member, owner)[index]
    response = _call(as_user(owner), method, url, body)
    assert response.status_code == 200, response.content


def test_members_list_r8_6_shows_roles_and_mutes_and_pages_by_50(as_user, group, owner, member, admin):
    services.membership_mute(actor=actor_for(owner), group=group, member=member, minutes=10, reason="刷屏")
    response = as_user(admin).get(f"{_base(group)}/members/")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3 and data["next"] is None
    rows = {row["user_id"]: row for row in data["results"]}
    assert rows[owner.pk]["role"] == "owner" and rows[admin.pk]["role"] == "admin"
    assert rows[member.pk]["muted"] is True and rows[member.pk]["mute_reason"] == "刷屏"
    assert rows[owner.pk]["muted"] is False and rows[owner.pk]["muted_until"] is None
    assert rows[member.pk]["nickname"] == "成员"


def test_members_list_pages_by_50(as_user, group, owner, django_assert_max_num_queries):
    for _ in range(50):
        user = UserFactory()
        Membership.objects.create(group=group, user=user)
    client = as_user(owner)
    first = client.get(f"{_base(group)}/members/").json()
    assert first["count"] == 52 and len(first["results"]) == 50 and first["next"]
    assert len(client.get(first["next"]).json()["results"]) == 2


def test_mute_r9_2_via_api_then_the_members_api_post_is_refused_muted(as_user, group, owner, member):
    response = as_user(owner).post(
        f"{_base(group)}/members/{member.pk}/mute/", {"minutes": 10, "reason": "刷屏"}, content_type=JSON
    )
    assert response.status_code == 200 and response.json()["muted"] is True
    response = as_user(member).post(
        f"{_base(group)}/messages/", {"body": "还能说话吗", "client_msg_id": "m1"}, content_type=JSON
    )
    assert response.status_code == 403 and response.json()["code"] == "muted"
    as_user(owner).post(f"{_base(group)}/members/{member.pk}/unmute/", content_type=JSON)
    response = as_user(member).post(
        f"{_base(group)}/messages/", {"body": "又能说话了", "client_msg_id": "m2"}, content_type=JSON
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"minutes": 0}, "mute_length"),
        ({"minutes": 60 * 24 * 31}, "mute_length"),
        ({"minutes": "soon"}, "invalid"),
        ({}, "invalid"),
        ({"minutes": 10**12}, "invalid"),
    ],
)
def test_mute_bad_input_is_400_with_a_code(as_user, group, owner, member, body, code):
    response = as_user(owner).post(f"{_base(group)}/members/{member.pk}/mute/", body, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Membership.objects.get(group=group, user=member).muted_until is None


def test_admin_cannot_mute_the_owner_r9_2_outranked(as_user, group, owner, admin):
    response = as_user(admin).post(
        f"{_base(group)}/members/{owner.pk}/mute/", {"minutes": 5}, content_type=JSON
    )
    assert response.status_code == 403 and response.json()["code"] == "outranked"


def test_unknown_or_former_member_is_404(as_user, group, owner, member, outsider):
    client = as_user(owner)
    assert (
        client.post(
            f"{_base(group)}/members/{outsider.pk}/mute/", {"minutes": 5}, content_type=JSON
        ).status_code
        == 404
    )
    assert client.post(f"{_base(group)}/members/999999/unmute/", content_type=JSON).status_code == 404
    services.membership_leave(actor=actor_for(member), group=group)
    assert client.post(f"{_base(group)}/members/{member.pk}/remove/", content_type=JSON).status_code == 404


def test_remove_with_bar_r9_2(as_user, group, owner, member):
    response = as_user(owner).post(
        f"{_base(group)}/members/{member.pk}/remove/",
        {"reason": "广告", "bar": True, "bar_days": 7},
        content_type=JSON,
    )
    assert response.status_code == 200 and response.json() == {
        "user_id": member.pk,
        "removed": True,
        "barred": True,
    }
    assert Membership.objects.get(group=group, user=member).left_at is not None
    assert GroupBan.objects.get(group=group, user=member).until is not None
    bad = as_user(owner).post(
        f"{_base(group)}/members/{owner.pk}/remove/", {"bar": True, "bar_days": 0}, content_type=JSON
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_appoint_and_dismiss_admin_r8_6_owner_only(as_user, group, owner, member, admin):
    url = f"{_base(group)}/members/{member.pk}/admin/"
    response = as_user(admin).post(url, content_type=JSON)
    assert response.status_code == 403 and response.json()["code"] == "not_owner"
    response = as_user(owner).post(url, content_type=JSON)
    assert response.status_code == 200 and response.json()["role"] == "admin"
    response = as_user(owner).delete(url, content_type=JSON)
    assert response.status_code == 200 and response.json()["role"] == "member"
    response = as_user(owner).delete(url, content_type=JSON)
    assert response.status_code == 403 and response.json()["code"] == "not_admin"


# --- join requests (R8.5) ---


def test_join_request_r8_5_create_list_and_decide(as_user, group, owner, admin, member, outsider):
    services.group_settings_update(
        actor=actor_for(owner), group=group, rules_text="友善交流。", join_mode="request"
    )
    url = f"{_base(group)}/join-requests/"
    response = as_user(outsider).post(url, {"message": "你好"}, content_type=JSON)
    assert response.status_code == 400 and response.json()["code"] == "rules_not_accepted"
    response = as_user(outsider).post(url, {"message": "你好", "accept_rules": True}, content_type=JSON)
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "pending" and created["user_id"] == outsider.pk
    response = as_user(member).post(url, {"accept_rules": True}, content_type=JSON)
    assert response.status_code == 403 and response.json()["code"] == "already_member"
    assert as_user(member).get(url).status_code == 403
    assert as_user(outsider).get(url).status_code == 404
    listing = as_user(admin).get(url).json()
    assert [r["id"] for r in listing["results"]] == [created["id"]]
    decide = f"{url}{created['id']}/decide/"
    assert as_user(member).post(decide, {"approve": True}, content_type=JSON).status_code == 403
    assert as_user(outsider).post(decide, {"approve": True}, content_type=JSON).status_code == 404
    assert as_user(admin).post(decide, {}, content_type=JSON).status_code == 400
    response = as_user(admin).post(decide, {"approve": True}, content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert Membership.objects.get(group=group, user=outsider).left_at is None
    response = as_user(admin).post(decide, {"approve": False}, content_type=JSON)
    assert response.status_code == 403 and response.json()["code"] == "already_decided"


def test_join_request_of_another_group_is_404(as_user, group, owner, outsider):
    other = services.group_create(actor=actor_for(outsider), name="别的群")
    other = services.group_settings_update(actor=actor_for(outsider), group=other, join_mode="request")
    joiner = UserFactory()
    request = services.join_request_create(actor=actor_for(joiner), group=other)
    response = as_user(owner).post(
        f"{_base(group)}/join-requests/{request.pk}/decide/", {"approve": True}, content_type=JSON
    )
    assert response.status_code == 404
    assert JoinRequest.objects.get(pk=request.pk).status == "pending"


def test_join_request_to_a_group_closed_to_requests_or_not_active_is_404(as_user, group, outsider):
    url = f"{_base(group)}/join-requests/"
    category = group.category
    category.join_modes = ["link"]
    category.save()
    assert as_user(outsider).post(url, {}, content_type=JSON).status_code == 404
    category.join_modes = ["link", "request"]
    category.save()
    ChatGroup.objects.filter(pk=group.pk).update(status="pending_review")
    assert as_user(outsider).post(url, {}, content_type=JSON).status_code == 404
    assert (
        as_user(outsider).post("/api/groups/ZZZZZZZZ/join-requests/", {}, content_type=JSON).status_code
        == 404
    )


# --- settings, announcement, message removal ---


def test_settings_patch_r9_2_changes_only_what_is_sent(as_user, group, admin):
    response = as_user(admin).patch(
        f"{_base(group)}/settings/",
        {"description": "每周共读", "slow_mode_seconds": 30, "announcement_only": True},
        content_type=JSON,
    )
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "读书会" and data["description"] == "每周共读"
    assert data["slow_mode_seconds"] == 30 and data["announcement_only"] is True


def test_settings_patch_r10_1_is_screened(as_user, group, owner, lexicon):
    response = as_user(owner).patch(f"{_base(group)}/settings/", {"name": "赌博群"}, content_type=JSON)
    assert response.status_code == 403 and response.json()["code"] == "content_blocked"
    assert ChatGroup.objects.get(pk=group.pk).name == "读书会"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"join_mode": "teleport"}, "join_mode"),
        ({"slow_mode_seconds": 99999}, "slow_mode"),
        ({"name": ""}, "name_empty"),
        ({"name": 5}, "invalid"),
        ({"slow_mode_seconds": "fast"}, "invalid"),
    ],
)
def test_settings_bad_input_is_400_with_a_code(as_user, group, owner, body, code):
    response = as_user(owner).patch(f"{_base(group)}/settings/", body, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_announcement_put_r9_2(as_user, group, admin, member, lexicon):
    url = f"{_base(group)}/announcement/"
    response = as_user(admin).put(url, {"text": "本周六共读"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["announcement"] == "本周六共读"
    assert as_user(admin).put(url, {"text": "来赌博"}, content_type=JSON).json()["code"] == "content_blocked"
    assert as_user(admin).put(url, {}, content_type=JSON).status_code == 400


def test_message_remove_r9_2(as_user, group, owner, member, outsider):
    message, _ = services.message_send(actor=actor_for(member), group=group, body="广告", client_msg_id="c1")
    url = f"{_base(group)}/messages/{message.seq}/remove/"
    assert as_user(member).post(url, {"reason": "x"}, content_type=JSON).status_code == 403
    assert as_user(outsider).post(url, {"reason": "x"}, content_type=JSON).status_code == 404
    assert as_user(owner).post(f"{_base(group)}/messages/99/remove/", content_type=JSON).status_code == 404
    response = as_user(owner).post(url, {"reason": "广告"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "removed"
    assert response.json()["body"] == ""
    assert Message.objects.get(pk=message.pk).body == "广告"  # kept as evidence
    again = as_user(owner).post(url, {"reason": "广告"}, content_type=JSON)
    assert again.status_code == 403 and again.json()["code"] == "not_removable"


def test_message_of_another_group_is_404(as_user, group, owner, outsider):
    other = services.group_create(actor=actor_for(outsider), name="别的群")
    services.message_send(actor=actor_for(outsider), group=other, body="你好", client_msg_id="o1")
    response = as_user(owner).post(f"{_base(group)}/messages/1/remove/", content_type=JSON)
    assert response.status_code == 404


def test_schema_lists_the_management_paths(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    expected = {
        "/api/groups/{code}/members/": {"get"},
        "/api/groups/{code}/members/{user_id}/mute/": {"post"},
        "/api/groups/{code}/members/{user_id}/unmute/": {"post"},
        "/api/groups/{code}/members/{user_id}/remove/": {"post"},
        "/api/groups/{code}/members/{user_id}/admin/": {"post", "delete"},
        "/api/groups/{code}/join-requests/": {"get", "post"},
        "/api/groups/{code}/join-requests/{id}/decide/": {"post"},
        "/api/groups/{code}/settings/": {"patch"},
        "/api/groups/{code}/announcement/": {"put"},
        "/api/groups/{code}/messages/{seq}/remove/": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method]["tags"] == ["management"]
