"""R8.3: the public info page of a group above the size threshold, and its report link (R12.1)."""

import re

import pytest
from django.utils import timezone

from groups import services
from groups.models import ChatGroup
from tests.conftest import actor_for
from tests.factories import UserFactory


def _facts(response) -> dict:
    return dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", response.content.decode()))


def _add_members(group, n):
    for _ in range(n):
        user = UserFactory()
        services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)


@pytest.fixture
def big_group(group, settings):
    """The group with three active members, and a threshold of three."""
    settings.GROUP_INFO_PAGE_THRESHOLD = 3
    _add_members(group, 1)
    return group


def test_info_page_r8_3_at_the_threshold_shows_the_facts_without_the_real_name(client, big_group):
    response = client.get(f"/g/{big_group.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("读书会", big_group.code, "兴趣交友", "每月共读", "群主"):
        assert text in page, text
    assert "3" in _facts(response).values()
    assert f"{timezone.localtime(big_group.created_at):%Y-%m-%d}" in page
    assert "测试用户" not in page  # the owner's real name never shows (R6.1)
    assert f"/g/{big_group.code}/report/" in page


def test_info_page_r8_3_shows_the_category_in_english(client, big_group):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get(f"/g/{big_group.code}/")
    assert "Interests and friends" in response.content.decode()


def test_info_page_r8_3_shows_the_current_owner_after_a_transfer(client, big_group, owner, member):
    services.group_transfer_ownership(actor=actor_for(owner), group=big_group, member=member)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert _facts(client.get(f"/g/{big_group.code}/"))["Owner"] == "成员"  # the member's nickname


def test_info_page_r8_3_below_the_threshold_is_404(client, big_group, settings):
    settings.GROUP_INFO_PAGE_THRESHOLD = 4
    assert client.get(f"/g/{big_group.code}/").status_code == 404


def test_info_page_r8_3_left_members_do_not_count(client, big_group, member):
    services.membership_leave(actor=actor_for(member), group=big_group)
    assert client.get(f"/g/{big_group.code}/").status_code == 404


@pytest.mark.parametrize("status", ["pending_review", "rejected", "dissolved"])
def test_info_page_r8_3_groups_not_active_are_404(client, big_group, status):
    ChatGroup.objects.filter(pk=big_group.pk).update(status=status)
    assert client.get(f"/g/{big_group.code}/").status_code == 404


def test_info_page_r8_3_unknown_code_is_the_same_404(client, big_group):
    assert client.get("/g/ZZZZZZZZ/").status_code == 404
    assert client.get("/g/short/").status_code == 404


def test_info_page_r8_3_lowercase_code_finds_the_group(client, big_group):
    assert client.get(f"/g/{big_group.code.lower()}/").status_code == 200


def test_info_page_r8_3_works_signed_in_too(client, big_group, outsider):
    client.force_login(outsider)
    assert client.get(f"/g/{big_group.code}/").status_code == 200


def test_info_page_r8_3_queries_do_not_grow_with_members(client, big_group, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert client.get(f"/g/{big_group.code}/").status_code == 200
    _add_members(big_group, 5)
    with django_assert_max_num_queries(2):
        assert client.get(f"/g/{big_group.code}/").status_code == 200


def test_report_link_r12_1_opens_the_report_form_for_logged_out_visitors(client, big_group):
    response = client.get(f"/g/{big_group.code}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert big_group.code in page and 'name="category"' in page and "12377" in page


def test_report_link_r12_1_of_an_unknown_or_small_group_is_404(client, big_group, settings):
    assert client.get("/g/ZZZZZZZZ/report/").status_code == 404
    settings.GROUP_INFO_PAGE_THRESHOLD = 4
    assert client.get(f"/g/{big_group.code}/report/").status_code == 404
