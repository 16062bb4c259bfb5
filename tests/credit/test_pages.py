"""Credit through its pages (R7.3, R11.2): a member's level, cap and history; the compliance staff's
search, adjustments with four eyes above the threshold, and who may see the compliance pages."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from common.actors import Actor
from credit import services
from credit.models import AdjustmentStatus, CreditAccount, CreditAdjustment, CreditEvent, CreditReason
from tests.conftest import actor_for
from tests.factories import UserFactory


def _officer(username: str):
    user = UserFactory(is_staff=True, username=username)
    user.user_permissions.add(Permission.objects.get(codename="adjust_creditaccount"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def officer(db):
    return _officer("credit-officer")


@pytest.fixture
def second_officer(db):
    return _officer("credit-officer-2")


def _zh(text) -> str:
    """What a Chinese reader sees for ``text`` (a message id, or a lazy translation)."""
    with translation.override("zh-hans"):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def _score(user) -> int:
    return CreditAccount.objects.get(user=user).score


def _flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the member's page -----------------------------------------------------------------------------------


def test_member_page_shows_level_name_in_chinese_score_grid_and_verification_in_history(client, member):
    client.force_login(member)
    response = client.get(reverse("my-credit"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "资深" in page  # score 100: level 4, by its Chinese name
    assert "Trusted" not in page
    assert 'aria-current="true"' in page and "L5 模范" in page  # the whole grid, the member's row marked
    assert _zh(CreditReason.IDENTITY_VERIFIED.label) in page and "+10" in page
    assert "保持良好记录约半年。" in page  # what would raise it to level 5
    assert 'id="credit-cap"' not in page
    assert reverse("credit-search") not in page  # the staff link is for staff with the permission


def test_member_page_follows_the_chosen_language(client, member):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(member)
    page = client.get(reverse("my-credit")).content.decode()
    assert "Trusted" in page and "About six months in good standing." in page


def test_member_page_progress_towards_next_level(client, db):
    user = UserFactory(credit_score=25)  # level 2 (from 10), level 3 from 40
    client.force_login(user)
    page = client.get(reverse("my-credit")).content.decode()
    assert 'max="30" value="15"' in page
    assert "活跃" in page


def test_capped_account_shows_the_cap_notice(client, member):
    services.credit_penalize(
        actor=Actor.system(), user=member, points=5, reason="sanction", source_ref="t1", cap_level=1
    )
    client.force_login(member)
    page = client.get(reverse("my-credit")).content.decode()
    assert 'id="credit-cap"' in page
    assert "L1" in page and "新手" in page
    assert "-5" in page and _zh(CreditReason.SANCTION.label) in page


def test_cap_until_is_shown_in_shanghai_time(client, member):
    services.credit_penalize(
        actor=Actor.system(),
        user=member,
        points=5,
        reason="sanction",
        source_ref="t2",
        cap_level=2,
        until=datetime(2099, 1, 1, 0, 0, tzinfo=UTC),
    )
    client.force_login(member)
    page = client.get(reverse("my-credit")).content.decode()
    assert 'id="credit-cap"' in page and "2099-01-01 08:00" in page


def test_member_page_needs_sign_in(client, db):
    response = client.get(reverse("my-credit"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- compliance: search ----------------------------------------------------------------------------------


def test_staff_search_finds_a_user_by_nickname_and_by_phone(client, officer, db):
    target = UserFactory(nickname="查找对象")
    target.phone = "+8613912345678"
    target.save()
    client.force_login(officer)
    user_url = reverse("credit-user", args=[target.pk])
    for query in ("查找", "13912345678", "+8613912345678", "139 1234 5678", target.username.upper()):
        page = client.get(reverse("credit-search"), {"q": query}).content.decode()
        assert user_url in page, query
        assert "139****5678" in page  # staff see the number masked
    page = client.get(reverse("credit-search"), {"q": "没有这个人"}).content.decode()
    assert user_url not in page


def test_unknown_user_is_404(client, officer):
    client.force_login(officer)
    assert client.get(reverse("credit-user", args=[999_999])).status_code == 404


# --- compliance: adjustments -----------------------------------------------------------------------------


def test_small_adjustment_applies_at_once_and_appears_in_the_ledger(client, officer, member):
    client.force_login(officer)
    url = reverse("credit-user", args=[member.pk])
    response = client.post(url, {"delta": "5", "reason": "补录活动积分"})
    assert response.status_code == 302 and response["Location"] == url
    assert _score(member) == 105
    adjustment = CreditAdjustment.objects.get()
    assert adjustment.status == AdjustmentStatus.APPROVED and adjustment.requested_by == officer
    response = client.get(url)
    page = response.content.decode()
    assert "补录活动积分" in page and "+5" in page and "105" in page
    assert any("105" in text for text in _flashes(response))
    own_page = client.get(reverse("my-credit")).content.decode()  # the officer's own credit, not the member's
    assert "补录活动积分" not in own_page and reverse("credit-search") in own_page


def test_negative_adjustment_within_threshold_applies(client, officer, member):
    client.force_login(officer)
    client.post(reverse("credit-user", args=[member.pk]), {"delta": "-3", "reason": "更正"})
    assert _score(member) == 97
    assert CreditEvent.objects.filter(account__user=member, delta=-3, reason="staff_adjustment").exists()


def test_large_adjustment_waits_for_a_second_member_of_staff(client, officer, second_officer, member):
    threshold = django_settings.CREDIT_ADJUST_APPROVAL_THRESHOLD
    client.force_login(officer)
    user_url = reverse("credit-user", args=[member.pk])
    form_page = client.get(user_url).content.decode()
    assert f"{threshold}" in form_page  # the form says the threshold
    response = client.post(user_url, {"delta": str(threshold + 30), "reason": "志愿服务表彰"}, follow=True)
    assert response.status_code == 200
    adjustment = CreditAdjustment.objects.get()
    assert adjustment.status == AdjustmentStatus.PENDING
    assert _score(member) == 100

    # The one who asked sees why they cannot decide, and a forced POST is refused with that message.
    refusal = _zh("A second member of staff must approve an adjustment you asked for.")
    queue = client.get(reverse("credit-adjustments")).content.decode()
    assert "志愿服务表彰" in queue and refusal in queue
    decide_url = reverse("credit-adjustment-decide", args=[adjustment.pk])
    response = client.post(decide_url, {"action": "approve"}, follow=True)
    assert response.status_code == 200
    assert refusal in _flashes(response)
    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.PENDING and _score(member) == 100

    # A second member of staff approves; the score moves.
    client.force_login(second_officer)
    queue = client.get(reverse("credit-adjustments")).content.decode()
    assert decide_url in queue
    response = client.post(decide_url, {"action": "approve", "note": "核实无误", "next": user_url})
    assert response.status_code == 302 and response["Location"] == user_url
    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.APPROVED and adjustment.decided_by == second_officer
    assert adjustment.decision_note == "核实无误"
    assert _score(member) == 100 + threshold + 30
    page = client.get(user_url).content.decode()
    assert "核实无误" in page

    # Decided once: a second decision is refused, not a server error.
    response = client.post(decide_url, {"action": "reject"}, follow=True)
    assert response.status_code == 200
    assert _zh("This adjustment has already been decided.") in _flashes(response)


def test_rejected_adjustment_leaves_the_score(client, officer, second_officer, member):
    adjustment = services.credit_adjust(actor=actor_for(officer), user=member, delta=-80, reason="严重违规")
    client.force_login(second_officer)
    client.post(reverse("credit-adjustment-decide", args=[adjustment.pk]), {"action": "reject"})
    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.REJECTED and _score(member) == 100


def test_decide_without_a_choice_is_explained(client, officer, second_officer, member):
    adjustment = services.credit_adjust(actor=actor_for(officer), user=member, delta=50, reason="表彰")
    client.force_login(second_officer)
    response = client.post(reverse("credit-adjustment-decide", args=[adjustment.pk]), {}, follow=True)
    assert response.status_code == 200 and len(_flashes(response)) == 1
    adjustment.refresh_from_db()
    assert adjustment.status == AdjustmentStatus.PENDING


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"delta": "5", "reason": ""}, "reason"),
        ({"delta": "5", "reason": "   "}, "reason"),
        ({"delta": "five", "reason": "说明"}, "delta"),
        ({"delta": "2.5", "reason": "说明"}, "delta"),
        ({"delta": "0", "reason": "说明"}, "delta"),  # refused by the service, shown by the field
        ({"delta": "20000", "reason": "说明"}, "delta"),
    ],
)
def test_bad_adjustment_input_shows_a_form_error(client, officer, member, data, field):
    client.force_login(officer)
    response = client.post(reverse("credit-user", args=[member.pk]), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors.get(field), form.errors
    assert 'class="error"' in response.content.decode()
    assert not CreditAdjustment.objects.exists() and _score(member) == 100


def test_staff_ledger_is_paginated(client, officer, member):
    account = CreditAccount.objects.get(user=member)
    CreditEvent.objects.bulk_create(
        [
            CreditEvent(account=account, delta=1, reason="good_standing", source_ref=f"day:{n}")
            for n in range(60)
        ]
    )
    client.force_login(officer)
    url = reverse("credit-user", args=[member.pk])
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    assert first.count("day:") == 50 and second.count("day:") == 10
    assert "?page=2" in first


# --- who may see the compliance pages ----------------------------------------------------------------------


def _compliance_requests(officer, member):
    adjustment = services.credit_adjust(actor=actor_for(officer), user=member, delta=50, reason="待审")
    decide = reverse("credit-adjustment-decide", args=[adjustment.pk])
    return [
        ("get", reverse("credit-search"), {"q": member.username}),
        ("get", reverse("credit-user", args=[member.pk]), {}),
        ("post", reverse("credit-user", args=[member.pk]), {"delta": "5", "reason": "x"}),
        ("get", reverse("credit-adjustments"), {}),
        ("post", decide, {"action": "approve"}),
    ]


@pytest.mark.parametrize("who", ["member", "staff_without_permission"])
def test_without_the_permission_every_compliance_credit_page_is_403(client, officer, member, who):
    requests = _compliance_requests(officer, member)
    user = member if who == "member" else UserFactory(is_staff=True)
    client.force_login(user)
    for method, url, data in requests:
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
        assert _zh("Only compliance staff may adjust credit.") in response.content.decode()
    assert CreditAdjustment.objects.get().status == AdjustmentStatus.PENDING
    assert _score(member) == 100


def test_anonymous_is_sent_to_sign_in_from_every_compliance_credit_page(client, officer, member):
    for method, url, data in _compliance_requests(officer, member):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/login/" in response["Location"], (method, url)


def test_staff_with_the_permission_sees_every_compliance_credit_page(client, officer, member):
    client.force_login(officer)
    for method, url, data in _compliance_requests(officer, member):
        if method == "get":
            assert client.get(url, data).status_code == 200, url
