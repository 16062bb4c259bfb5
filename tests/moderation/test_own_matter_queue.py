"""R12.1: nobody decides a matter about themselves or a group they run, through every door of the review
queue: the list (page and API) neither shows nor counts such items, "claim next" (page and API) never
hands one out, bulk decisions skip them, and their item page and the API's decision are 404; and a member
of staff never takes down their own message, whichever door reaches ``message_takedown``."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from common.policies import PolicyDenied
from groups import services as gs
from groups.models import Message, MessageStatus
from moderation import selectors, services
from moderation.models import Case, CaseStatus, ReviewItem, ReviewKind, ReviewStatus
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.moderation.conftest import queue_staff

CONDUCT = "CONDUCT_FRAUD_SPAM"
QUEUE = "/compliance/queue/"
ITEMS = "/api/review/items/"
CLAIM_API = "/api/review/claim-next/"


def _report(reporter, group, message):
    actor = actor_for(reporter)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=message.seq)
    return services.complaint_file(actor=actor, target=target, category=CONDUCT).case


def _item(kind, object_id) -> ReviewItem:
    return ReviewItem.objects.get(kind=kind, object_id=object_id)


def _listed(client) -> set[int]:
    page = client.get(QUEUE)
    assert page.status_code == 200
    return {item.pk for item in page.context["items"]}


def _api_listed(client) -> set[int]:
    response = client.get(ITEMS)
    assert response.status_code == 200
    return {row["id"] for row in response.json()}


def _claim_all_by_page(client) -> list[int]:
    """ "Claim next" on the page until nothing is left: the items handed out, in order."""
    handed = []
    for _ in range(10):
        response = client.post(reverse("compliance-queue-claim-next"))
        assert response.status_code == 302
        if response["Location"] == QUEUE:
            return handed
        handed.append(int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    raise AssertionError("claim next never ran out")


def _claim_all_by_api(client) -> list[int]:
    handed = []
    for _ in range(10):
        response = client.post(CLAIM_API, {}, content_type="application/json")
        if response.status_code == 204:
            return handed
        assert response.status_code == 200, response.content
        handed.append(response.json()["id"])
    raise AssertionError("claim next never ran out")


def _release_all(user):
    for item in ReviewItem.objects.filter(claimed_by=user, status=ReviewStatus.OPEN):
        services.review_claim_release(actor=actor_for(user), item=item)


@pytest.fixture
def insider(group):
    """A reviewer who decides every kind of item (appeals too) and is also a member of the group."""
    user = queue_staff("insider", "内部审核员", "reviewer")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="moderation", codename="decide_appeal")
    )
    gs.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def about_insider(group, reporter, insider, reviewer, lexicon):
    """Items about the insider, one of each kind: a report of their message, their held message, their
    group request and their appeal. The message fixture's report (about another member) is not theirs."""
    said, _ = gs.message_send(actor=actor_for(insider), group=group, body="快来投资", client_msg_id="i1")
    case = _report(reporter, group, said)
    held, _ = gs.message_send(
        actor=actor_for(insider), group=group, body="周末一起刷单赚钱", client_msg_id="i2"
    )
    assert held.status == MessageStatus.HELD
    request = gs.group_create(actor=actor_for(insider), name="内部团购群", category="trade")
    mute = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_mute",
        category=CONDUCT,
        target_user=insider,
        duration_hours=24,
    )
    appeal = services.appeal_file(actor=actor_for(insider), sanction=mute, text="我没有违规")
    services.review_queue_sync(actor=actor_for(reviewer))  # the held message and the group request arrive
    return {
        "case": _item(ReviewKind.CASE, case.pk),
        "held": _item(ReviewKind.HELD_MESSAGE, held.pk),
        "request": _item(ReviewKind.GROUP_REQUEST, request.pk),
        "appeal": _item(ReviewKind.APPEAL, appeal.pk),
    }


@pytest.fixture
def not_about_insider(group, message, reporter):
    return _item(ReviewKind.CASE, _report(reporter, group, message).pk)


def test_r12_1_the_queue_page_neither_lists_nor_counts_items_about_the_viewer(
    client, about_insider, not_about_insider, insider, queue_reviewer
):
    client.force_login(queue_reviewer)  # another reviewer sees them all
    mine = {item.pk for item in about_insider.values()}
    assert _listed(client) == {*mine, not_about_insider.pk}
    client.force_login(insider)
    assert _listed(client) == {not_about_insider.pk}
    page = client.get(QUEUE)
    counts = page.context["counts"]
    assert counts["by_kind"] == {
        "case": 1,
        "held_message": 0,
        "group_request": 0,
        "identity_review": 0,
        "appeal": 0,
    }
    assert counts["total"] == 1
    assert "王小明" not in page.content.decode()  # who reported them never shows
    assert _listed(client) == {not_about_insider.pk}
    for kind in ("case", "held_message", "group_request", "appeal"):
        assert {i.pk for i in client.get(QUEUE, {"kind": kind}).context["items"]} <= {not_about_insider.pk}


def test_r12_1_the_queue_api_never_lists_items_about_the_viewer(
    client, about_insider, not_about_insider, insider
):
    client.force_login(insider)
    assert _api_listed(client) == {not_about_insider.pk}
    for kind in ("case", "held_message", "group_request", "appeal"):
        rows = client.get(ITEMS, {"kind": kind}).json()
        assert {row["id"] for row in rows} <= {not_about_insider.pk}


def test_r12_1_claim_next_never_hands_out_items_about_the_viewer(
    client, about_insider, not_about_insider, insider
):
    client.force_login(insider)
    assert _claim_all_by_page(client) == [not_about_insider.pk]
    _release_all(insider)
    assert _claim_all_by_api(client) == [not_about_insider.pk]
    for kind in ("case", "held_message", "group_request", "appeal"):
        response = client.post(CLAIM_API, {"kind": kind}, content_type="application/json")
        assert response.status_code in (200, 204)
        if response.status_code == 200:
            assert response.json()["id"] == not_about_insider.pk


def test_r12_1_items_about_the_viewer_are_404_and_skipped_in_bulk(client, about_insider, insider):
    client.force_login(insider)
    for item in about_insider.values():
        assert client.get(reverse("compliance-queue-item", args=[item.pk])).status_code == 404
        response = client.post(
            f"{ITEMS}{item.pk}/decide/",
            {"decision": "remove", "note": "自己处理"},
            content_type="application/json",
        )
        assert response.status_code == 404
    ids = [about_insider["case"].pk, about_insider["held"].pk]
    client.post(reverse("compliance-queue-bulk"), {"items": [str(pk) for pk in ids]})
    for item in about_insider.values():
        item.refresh_from_db()
        assert item.status == ReviewStatus.OPEN and item.decided_by is None


# --- a group the viewer runs ------------------------------------------------------------------------------


@pytest.fixture
def runs_group(group, owner, insider):
    """The insider is an admin of the group."""
    gs.membership_appoint_admin(actor=actor_for(owner), group=group, member=insider)
    return group


@pytest.fixture
def in_their_group(runs_group, member, message, reporter, lexicon, queue_reviewer):
    """A report of a member's message and a member's held message, in the group the insider runs."""
    case = _report(reporter, runs_group, message)
    held, _ = gs.message_send(
        actor=actor_for(member), group=runs_group, body="一起刷单吧", client_msg_id="m2"
    )
    services.review_queue_sync(actor=actor_for(queue_reviewer))
    return {"case": _item(ReviewKind.CASE, case.pk), "held": _item(ReviewKind.HELD_MESSAGE, held.pk)}


@pytest.fixture
def elsewhere(db, queue_reviewer):
    """A group request by someone else: nothing to do with the insider."""
    creator = UserFactory(username="creator", nickname="别人")
    request = gs.group_create(actor=actor_for(creator), name="别人的团购群", category="trade")
    services.review_queue_sync(actor=actor_for(queue_reviewer))
    return _item(ReviewKind.GROUP_REQUEST, request.pk)


def test_r12_1_items_of_a_group_the_viewer_runs_are_neither_listed_nor_counted(
    client, in_their_group, elsewhere, insider, queue_reviewer
):
    client.force_login(queue_reviewer)
    assert _listed(client) == {in_their_group["case"].pk, in_their_group["held"].pk, elsewhere.pk}
    client.force_login(insider)
    assert _listed(client) == {elsewhere.pk}
    assert _api_listed(client) == {elsewhere.pk}
    counts = client.get(QUEUE).context["counts"]
    assert (counts["by_kind"]["case"], counts["by_kind"]["held_message"], counts["total"]) == (0, 0, 1)


def test_r12_1_claim_next_skips_items_of_a_group_the_viewer_runs(client, in_their_group, elsewhere, insider):
    client.force_login(insider)
    assert _claim_all_by_page(client) == [elsewhere.pk]
    _release_all(insider)
    assert _claim_all_by_api(client) == [elsewhere.pk]
    _release_all(insider)
    assert services.review_claim_next(actor=actor_for(insider), kinds=["case", "held_message"]) is None


def test_r12_1_bulk_decisions_skip_items_of_a_group_the_viewer_runs(client, in_their_group, insider):
    client.force_login(insider)
    ids = [str(item.pk) for item in in_their_group.values()]
    response = client.post(reverse("compliance-queue-bulk"), {"items": ids}, follow=True)
    assert response.status_code == 200
    for item in in_their_group.values():
        item.refresh_from_db()
        assert item.status == ReviewStatus.OPEN and item.decided_by is None
    held = in_their_group["held"]
    assert Message.objects.get(pk=held.object_id).status == MessageStatus.HELD
    assert Case.objects.get(pk=in_their_group["case"].object_id).status == CaseStatus.OPEN


def test_r12_1_the_service_refuses_an_item_of_a_group_the_reviewer_runs(in_their_group, insider):
    for item in in_their_group.values():
        with pytest.raises(PolicyDenied) as refused:
            services.review_claim(actor=actor_for(insider), item=item)
        assert refused.value.code == "own_matter"
        with pytest.raises(PolicyDenied) as refused:
            services.review_item_decide(
                actor=actor_for(insider), item=item, decision="remove", note="管理员自己删"
            )
        assert refused.value.code == "own_matter"


def test_r12_1_a_former_admin_sees_the_group_again(client, in_their_group, runs_group, owner, insider):
    gs.membership_dismiss_admin(actor=actor_for(owner), group=runs_group, member=insider)
    client.force_login(insider)
    assert _listed(client) == {item.pk for item in in_their_group.values()}


# --- taking down one's own message -----------------------------------------------------------------------


@pytest.fixture
def own_reported(group, reporter, insider):
    """The insider's message, reported: a case about them with a message to take down."""
    said, _ = gs.message_send(actor=actor_for(insider), group=group, body="快来投资", client_msg_id="t1")
    case = _report(reporter, group, said)
    return said, case, _item(ReviewKind.CASE, case.pk)


def test_r12_1_staff_never_take_down_their_own_message(own_reported, insider):
    said = own_reported[0]
    with pytest.raises(PolicyDenied) as refused:
        gs.message_takedown(actor=actor_for(insider), message=said, reason="自己删自己的")
    assert refused.value.code == "own_matter"
    said.refresh_from_db()
    assert said.status == MessageStatus.VISIBLE and said.removed_by is None


def test_r12_1_no_door_takes_down_ones_own_reported_message(client, own_reported, insider):
    said, case, item = own_reported
    client.force_login(insider)
    assert (
        client.post(
            reverse("compliance-queue-item", args=[item.pk]),
            {"action": "decide", "decision": "remove", "note": "删掉"},
        ).status_code
        == 404
    )
    response = client.post(
        f"{ITEMS}{item.pk}/decide/", {"decision": "remove", "note": "删掉"}, content_type="application/json"
    )
    assert response.status_code == 404
    client.post(reverse("compliance-queue-bulk"), {"items": [str(item.pk)]})
    assert client.post(reverse("case-detail", args=[case.pk]), {"outcome": "没有违规"}).status_code == 404
    assert item.pk not in _claim_all_by_api(client)
    with pytest.raises(PolicyDenied) as refused:  # the service, whatever the door
        services.case_close(
            actor=actor_for(insider), case=case, outcome="删掉", resolution="upheld", remove_message=True
        )
    assert refused.value.code == "own_matter"
    said.refresh_from_db()
    case.refresh_from_db()
    assert said.status == MessageStatus.VISIBLE and case.status == CaseStatus.OPEN


def test_r12_1_another_reviewer_takes_it_down_through_the_queue(client, own_reported, queue_reviewer):
    said, _case, item = own_reported
    client.force_login(queue_reviewer)
    response = client.post(
        f"{ITEMS}{item.pk}/decide/", {"decision": "remove", "note": "违规"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    said.refresh_from_db()
    assert said.status == MessageStatus.REMOVED and said.removed_by == queue_reviewer


def _case_list(client) -> set[int]:
    page = client.get(reverse("case-list"))
    assert page.status_code == 200
    return {case.pk for case in page.context["cases"]}


def test_r12_1_the_case_list_never_shows_a_case_about_the_viewer(
    client, about_insider, not_about_insider, insider, queue_reviewer
):
    """The compliance case list, like the queue: not the case of the viewer's own reported message."""
    about, other = about_insider["case"].object_id, not_about_insider.object_id
    client.force_login(queue_reviewer)
    assert {about, other} <= _case_list(client)
    client.force_login(insider)
    assert other in _case_list(client) and about not in _case_list(client)


def test_r12_1_the_case_list_never_shows_a_case_in_a_group_the_viewer_runs(
    client, in_their_group, insider, queue_reviewer
):
    case = in_their_group["case"].object_id
    client.force_login(queue_reviewer)
    assert case in _case_list(client)
    client.force_login(insider)
    assert case not in _case_list(client)


def test_r12_1_remove_the_message_is_offered_only_to_staff_who_may_take_it_down(
    client, group, message, reporter, queue_reviewer
):
    """Deciding cases (``moderation.change_case``) without ``groups.review_message``: the queue item and
    the case page offer uphold and dismiss, not "remove the message" (the takedown would be refused)."""
    case = _report(reporter, group, message)
    item = _item(ReviewKind.CASE, case.pk)
    case_only = UserFactory(username="caseonly", nickname="案件员", is_staff=True)
    case_only.user_permissions.add(
        Permission.objects.get(content_type__app_label="moderation", codename="change_case")
    )
    for user, offered in ((queue_reviewer, True), (case_only, False)):
        client.force_login(user)
        page = client.get(reverse("compliance-queue-item", args=[item.pk]))
        assert page.status_code == 200
        codes = {entry["choice"].code for entry in page.context["choices"]}
        assert ("remove" in codes) is offered and {"uphold", "dismiss"} <= codes
        case_page = client.get(reverse("case-detail", args=[case.pk]))
        assert case_page.status_code == 200
        assert ('value="remove"' in case_page.content.decode()) is offered
