import re

from django.urls import reverse

from groups.models import ChatGroup, Membership, Message, Role


def test_pages_are_chinese_by_default_and_english_on_request(db, client):  # db: the platform's notices
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US")
    assert response["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get("/")
    assert response["Content-Language"] == "en"
    assert "Sign in" in response.content.decode()


def test_create_group_page_makes_owner_and_shows_code(client, owner):
    client.force_login(owner)
    response = client.post(reverse("group-create"), {"name": "跑步群", "description": ""}, follow=True)
    group = ChatGroup.objects.get(name="跑步群")
    assert Membership.objects.get(group=group, user=owner).role == Role.OWNER
    assert group.code in response.content.decode()


def test_create_group_with_blank_name_shows_error(client, owner):
    client.force_login(owner)
    response = client.post(reverse("group-create"), {"name": "   "})
    assert response.status_code == 200
    assert not ChatGroup.objects.exists()


def test_join_by_invite_link_then_chat_page_shows_history(client, group, outsider, owner):
    client.force_login(outsider)
    join_url = reverse("group-join", args=[group.invite_token])
    assert group.name in client.get(join_url).content.decode()
    response = client.post(join_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("group-chat", args=[group.code])
    client.post(reverse("group-chat", args=[group.code]), {"body": "第一条", "client_msg_id": "p1"})
    page = client.get(reverse("group-chat", args=[group.code])).content.decode()
    assert "第一条" in page
    assert re.search(r'data-seq="1"', page)
    assert Message.objects.get().sender == outsider


def test_invite_page_shows_link_and_reset_invalidates_it(client, group, owner):
    client.force_login(owner)
    old = group.invite_token
    page = client.get(reverse("group-invite", args=[group.code])).content.decode()
    assert old in page
    client.post(reverse("group-invite", args=[group.code]))
    group.refresh_from_db()
    assert group.invite_token != old
    assert client.get(reverse("group-join", args=[old])).status_code == 404


def test_refused_action_page_explains_why(client, group, owner):
    client.force_login(owner)
    response = client.post(reverse("group-leave", args=[group.code]))
    assert response.status_code == 403
    assert "转让" in response.content.decode() or "transfer" in response.content.decode()


def test_odd_codes_and_tokens_in_urls_are_404_not_500(client, member, group):
    for url in ["/join/%00/", "/join/" + "a" * 500 + "/"]:
        assert client.get(url).status_code == 404
    client.force_login(member)
    for url in ["/groups/%00/", "/groups/ABCDEFG%00/", "/groups/0OIL1234/", "/api/groups/%00/messages/"]:
        assert client.get(url).status_code == 404
    assert client.get(f"/groups/{group.code.lower()}/").status_code == 200


def test_signup_next_that_is_not_a_path_goes_home(client, member):
    client.force_login(member)
    for target in ["foo", "group-chat", "https://evil.example/"]:
        response = client.get(reverse("signup"), {"next": target})
        assert response.status_code == 302 and response["Location"] == "/"


def test_basic_auth_header_is_ignored_quickly_by_the_api(client, member):
    response = client.get("/api/groups/", HTTP_AUTHORIZATION="Basic bWVtYmVyOndyb25n")
    assert response.status_code == 403


def test_failed_login_is_audited_r13_2(client, member):
    from audit.selectors import audit_event_list

    response = client.post(
        reverse("login"), {"identifier": "member", "password": "wrong"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    event = audit_event_list(event_type="identity.login_failed").get()
    assert (
        event.data["identifier"] == "me***" and event.data["user_id"] == member.pk and event.ip == "10.1.2.3"
    )
    assert "不正确" in response.content.decode()


def test_admin_lists_render_for_platform_staff_and_cannot_edit_chat_records(client, group, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        "root-admin", password="x-Secure-Pass-1", nickname="管理"
    )
    client.force_login(admin_user)
    for url in [
        "/admin/",
        "/admin/groups/chatgroup/",
        "/admin/groups/message/",
        "/admin/groups/membership/",
        "/admin/audit/auditevent/",
        "/admin/identity/user/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/groups/chatgroup/add/").status_code == 403
