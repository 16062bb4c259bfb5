"""R12.1: the review queue's pages: the queue, "claim next", an item with its context and history, the
decisions of every kind, bulk decisions, keyboard shortcuts; never a server error, never the reporter
shown to the group."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups import services as group_services
from identity import services as identity_services
from moderation import selectors, services
from moderation.models import Case, ReviewItem, ReviewKind
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, valid_id_number

CONDUCT = "CONDUCT_FRAUD_SPAM"
ILLEGAL = "ILL_OBSCENE_GAMBLING_VIOLENCE"
QUEUE = "/compliance/queue/"


def _file(user, group, *, seq=None, member_id=None, category=CONDUCT, description=""):
    actor = actor_for(user)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=seq, member_id=member_id)
    return services.complaint_file(actor=actor, target=target, category=category, description=description)


def _item_url(item) -> str:
    return reverse("compliance-queue-item", args=[item.pk])


def _text(response) -> str:
    return response.content.decode()


def _flash(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def case_item(group, message, reporter):
    case = _file(reporter, group, seq=message.seq, description="王小明在此作证").case
    return ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=case.pk)


def test_queue_page_r12_1_lists_counts_and_orders_by_priority(
    client, group, message, reporter, member, held, queue_reviewer
):
    conduct = _file(reporter, group, member_id=member.pk).case
    illegal = _file(reporter, group, seq=message.seq, category=ILLEGAL).case
    client.force_login(queue_reviewer)
    response = client.get(QUEUE)
    assert response.status_code == 200
    page = _text(response)
    assert "审核队列" in page and "领取下一项" in page
    items = response.context["items"]
    assert items[0].object_id == illegal.pk and {i.kind for i in items} == {"case", "held_message"}
    counts = response.context["counts"]["by_kind"]
    assert (counts["case"], counts["held_message"], counts["group_request"], counts["identity_review"]) == (
        2,
        1,
        0,
        0,
    )
    assert page.index("周末一起刷单赚钱") > page.index("你这个骗子")  # illegal first
    assert conduct.pk in [i.object_id for i in items]
    assert 'src="/static/js/review.js"' in page and "键盘快捷键" in page


def test_queue_page_r12_1_highlights_and_filters_overdue_items(
    client, group, message, reporter, held, queue_reviewer
):
    _file(reporter, group, seq=message.seq)
    client.force_login(queue_reviewer)
    client.get(QUEUE)  # the queue finds the held message
    ReviewItem.objects.filter(kind=ReviewKind.HELD_MESSAGE).update(
        deadline=timezone.now() - timedelta(hours=1)
    )
    response = client.get(QUEUE)
    page = _text(response)
    assert response.context["counts"]["overdue"] == 1
    assert page.count('class="rq-item overdue') == 1 and "已超期" in page
    overdue = client.get(QUEUE, {"overdue": "1"}).context["items"]
    assert [i.kind for i in overdue] == ["held_message"]
    cases = client.get(QUEUE, {"kind": "case"}).context["items"]
    assert [i.kind for i in cases] == ["case"]
    assert client.get(QUEUE, {"category": "illegal"}).context["items"] == []


def test_queue_page_r12_1_filters_mine_and_ignores_bad_filters(client, case_item, queue_reviewer):
    client.force_login(queue_reviewer)
    assert client.get(QUEUE, {"mine": "1"}).context["items"] == []
    client.post(reverse("compliance-queue-claim-next"))
    assert [i.pk for i in client.get(QUEUE, {"mine": "1"}).context["items"]] == [case_item.pk]
    response = client.get(QUEUE, {"kind": "<script>", "category": "nope"})
    assert response.status_code == 200 and "筛选条件无法识别" in _text(response)


def test_queue_page_r12_1_query_count_does_not_grow_with_the_queue(client, queue_reviewer, group, settings):
    settings.MODERATION_QUEUE_SYNC_SECONDS = 3600
    client.force_login(queue_reviewer)
    client.get(QUEUE)  # sessions, permissions and the quick sync settle

    def fill(count):
        deadline = timezone.now() + timedelta(hours=2)
        ReviewItem.objects.bulk_create(
            ReviewItem(
                kind=ReviewKind.CASE if n % 2 else ReviewKind.HELD_MESSAGE,
                object_id=10_000 + n + ReviewItem.objects.count(),
                priority=n,
                deadline=deadline - timedelta(hours=n % 3),
                title=f"第{n}项",
                group=group,
                subject=queue_reviewer if n % 5 == 0 else None,
                claimed_by=queue_reviewer if n % 4 == 0 else None,
                claimed_until=deadline if n % 4 == 0 else None,
            )
            for n in range(count)
        )

    fill(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200
    fill(120)
    with CaptureQueriesContext(connection) as many:
        response = client.get(QUEUE)
    assert len(response.context["items"]) == 50
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_queue_page_r12_1_is_for_reviewers_only(client, case_item, owner, member, staff):
    client.force_login(owner)
    assert client.get(QUEUE).status_code == 403
    assert client.get(_item_url(case_item)).status_code == 403
    client.force_login(member)
    assert client.post(reverse("compliance-queue-claim-next")).status_code == 403
    client.logout()
    assert "/login/" in client.get(QUEUE)["Location"]


def test_claim_next_page_r12_1_opens_the_most_urgent_item_then_says_when_none_is_left(
    client, case_item, queue_reviewer
):
    client.force_login(queue_reviewer)
    response = client.post(reverse("compliance-queue-claim-next"))
    assert response.status_code == 302 and response["Location"] == _item_url(case_item)
    case_item.refresh_from_db()
    assert case_item.claimed_by == queue_reviewer
    response = client.post(reverse("compliance-queue-claim-next"), follow=True)
    assert "没有等待您处理的事项" in _text(response)


def test_item_page_r12_1_shows_the_case_evidence_complaints_and_history(
    client, group, message, reporter, member, owner, case_item, queue_reviewer, staff
):
    earlier = _file(owner, group, member_id=member.pk, category="CONDUCT_CYBERVIOLENCE").case
    services.case_close(actor=actor_for(staff), case=earlier, outcome="已警告该成员", resolution="upheld")
    client.force_login(queue_reviewer)
    response = client.get(_item_url(case_item))
    assert response.status_code == 200
    page = _text(response)
    assert "你这个骗子，快转账" in page and "之前0" in page and "之后1" in page  # frozen evidence
    assert "王小明" in page and "王小明在此作证" in page  # staff see every complaint and its reporter
    assert "已警告该成员" in page and "网络暴力" in page  # the member's earlier case and its outcome
    assert 'data-key="a"' in page and 'data-key="r"' in page and 'data-key="d"' in page
    assert "键盘快捷键" in page


def test_item_page_r12_1_shows_a_held_message_with_its_screening_evidence(
    client, group, held, queue_reviewer
):
    client.force_login(queue_reviewer)
    client.get(QUEUE)
    item = ReviewItem.objects.get(kind=ReviewKind.HELD_MESSAGE)
    page = _text(client.get(_item_url(item)))
    assert "周末一起刷单赚钱" in page and "刷单" in page and "筛查证据" in page
    assert "放行到群" in page and "删除（作为证据保留）" in page


def test_item_page_r12_1_decides_a_case_and_takes_the_next(
    client, group, message, reporter, member, case_item, queue_reviewer
):
    other = _file(reporter, group, member_id=member.pk).case
    client.force_login(queue_reviewer)
    response = client.post(
        _item_url(case_item),
        {"action": "decide", "decision": "uphold", "note": "已核实并处理", "then": "next"},
    )
    next_item = ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=other.pk)
    assert response.status_code == 302 and response["Location"] == _item_url(next_item)
    case = Case.objects.get(pk=case_item.object_id)
    assert (case.status, case.resolution, case.outcome) == ("closed", "upheld", "已核实并处理")
    assert Notification.objects.filter(recipient=reporter, kind="moderation.complaint_decided").exists()


def test_item_page_r12_1_remove_and_dismiss_a_case(
    client, group, message, reporter, member, case_item, queue_reviewer
):
    client.force_login(queue_reviewer)
    response = client.post(
        _item_url(case_item), {"action": "decide", "decision": "remove", "note": "诈骗消息"}
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "removed"
    other = ReviewItem.objects.get(
        kind=ReviewKind.CASE, object_id=_file(reporter, group, member_id=member.pk).case_id
    )
    client.post(_item_url(other), {"action": "decide", "decision": "dismiss", "note": "未见违规"})
    assert Case.objects.get(pk=other.object_id).resolution == "dismissed"


def test_item_page_r12_1_releases_and_removes_held_messages(client, group, member, lexicon, queue_reviewer):
    first, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单一", client_msg_id="h1"
    )
    second, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单二", client_msg_id="h2"
    )
    client.force_login(queue_reviewer)
    client.get(QUEUE)
    items = {i.object_id: i for i in ReviewItem.objects.filter(kind=ReviewKind.HELD_MESSAGE)}
    client.post(_item_url(items[first.pk]), {"action": "decide", "decision": "release"})
    client.post(_item_url(items[second.pk]), {"action": "decide", "decision": "remove", "note": "广告"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("visible", "removed") and first.seq and second.seq is None


def test_item_page_r12_1_approves_and_refuses_group_requests_and_identity_reviews(
    client, owner, settings, queue_reviewer
):
    settings.IDENTITY_VERIFIER = "staff"
    pending = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    refused = group_services.group_create(actor=actor_for(owner), name="二手群", category="trade")
    person = UnverifiedUserFactory()
    identity_services.agreement_accept(actor=actor_for(person))
    verification = identity_services.verification_submit(
        actor=actor_for(person), real_name="王五", id_number=valid_id_number(), consent=True
    )
    client.force_login(queue_reviewer)
    client.get(QUEUE)

    def item(kind, pk):
        return ReviewItem.objects.get(kind=kind, object_id=pk)

    client.post(_item_url(item("group_request", pending.pk)), {"action": "decide", "decision": "approve"})
    response = client.post(
        _item_url(item("group_request", refused.pk)),
        {"action": "decide", "decision": "refuse", "note": ""},
        follow=True,
    )
    assert response.status_code == 200 and "拒绝理由（将告知创建者）不能为空" in _text(
        response
    )  # a clear message
    client.post(
        _item_url(item("group_request", refused.pk)),
        {"action": "decide", "decision": "refuse", "note": "资质不符"},
    )
    client.post(
        _item_url(item("identity_review", verification.pk)),
        {"action": "decide", "decision": "reject", "note": "证件不清"},
    )
    pending.refresh_from_db()
    refused.refresh_from_db()
    verification.refresh_from_db()
    assert (pending.status, refused.status, verification.status) == ("active", "rejected", "rejected")


def test_item_page_r12_1_bad_input_gets_a_message_not_an_error(client, case_item, queue_reviewer):
    client.force_login(queue_reviewer)
    url = _item_url(case_item)
    for body in (
        {"action": "decide", "decision": "explode", "note": "x"},
        {"action": "decide", "decision": "uphold", "note": "长" * 1001},
        {"action": "decide"},
        {"action": "dance"},
        {},
    ):
        response = client.post(url, body, follow=True)
        assert response.status_code == 200 and _flash(response), body
    assert client.get(reverse("compliance-queue-item", args=[999_999])).status_code == 404
    assert client.get(QUEUE, {"back": "https://evil.example/"}).status_code == 200


def test_item_page_r12_1_claim_release_and_another_reviewers_claim(
    client, case_item, queue_reviewer, queue_reviewer2
):
    client.force_login(queue_reviewer)
    client.post(_item_url(case_item), {"action": "claim"})
    client.force_login(queue_reviewer2)
    page = client.get(_item_url(case_item))
    assert "审核员一 正在处理该事项" in _text(page) and page.context["refusal_code"] == "claimed_by_other"
    assert 'name="decision"' not in _text(page)  # no decision offered while another reviewer holds it
    response = client.post(
        _item_url(case_item), {"action": "decide", "decision": "dismiss", "note": "x"}, follow=True
    )
    assert any("审核员一" in m for m in _flash(response))
    client.force_login(queue_reviewer)
    client.post(_item_url(case_item), {"action": "release"})
    case_item.refresh_from_db()
    assert case_item.claimed_by is None


def test_bulk_r12_1_removes_spam_and_says_what_was_done(
    client, group, member, lexicon, reporter, queue_reviewer, queue_reviewer2
):
    spam = [
        group_services.message_send(
            actor=actor_for(member), group=group, body=f"刷单{n}", client_msg_id=f"s{n}"
        )[0]
        for n in range(3)
    ]
    shown, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="加我微信领钱", client_msg_id="v1"
    )
    message_case = _file(reporter, group, seq=shown.seq).case
    member_case = _file(reporter, group, member_id=member.pk).case
    client.force_login(queue_reviewer2)
    client.get(QUEUE)
    held_items = list(ReviewItem.objects.filter(kind=ReviewKind.HELD_MESSAGE).order_by("pk"))
    services.review_claim(actor=actor_for(queue_reviewer2), item=held_items[2])  # someone else holds one
    ids = [
        *[i.pk for i in held_items],
        ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=message_case.pk).pk,
        ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=member_case.pk).pk,
        "x1",
    ]
    client.force_login(queue_reviewer)
    response = client.post(reverse("compliance-queue-bulk"), {"items": ids}, follow=True)
    flashes = _flash(response)
    assert "已删除并结案：3。" in flashes
    assert any("审核员二" in m for m in flashes)  # skipped: held by another reviewer
    assert any(
        m.startswith("已跳过 1") and "不适用" in m for m in flashes
    )  # a member case: nothing to remove
    statuses = {m.pk: m.status for m in type(shown).objects.filter(pk__in=[s.pk for s in spam] + [shown.pk])}
    assert [statuses[s.pk] for s in spam] == ["removed", "removed", "held"] and statuses[
        shown.pk
    ] == "removed"
    assert Case.objects.get(pk=message_case.pk).resolution == "upheld"
    assert Case.objects.get(pk=member_case.pk).status == "open"
    assert client.post(reverse("compliance-queue-bulk"), {}, follow=True).status_code == 200


def test_owner_r12_1_never_learns_the_reporter(
    client, group, message, reporter, owner, case_item, queue_reviewer
):
    client.force_login(queue_reviewer)
    client.post(_item_url(case_item), {"action": "decide", "decision": "remove", "note": "违规消息已删除"})
    client.force_login(owner)
    pages = [
        client.get(reverse("group-manage-reports", args=[group.code])),
        client.get(reverse("notifications")),
        client.get(reverse("api-messages", args=[group.code])),
    ]
    for response in pages:
        assert response.status_code == 200
        assert "王小明" not in _text(response) and "wangxm" not in _text(response)
    for notice in Notification.objects.filter(recipient=owner):
        assert "王小明" not in str(notice.context) and str(reporter.pk) != str(notice.context.get("by"))
    assert client.get(QUEUE).status_code == 403 and client.get(_item_url(case_item)).status_code == 403


def test_keyboard_module_r12_1_is_served(client):
    from django.contrib.staticfiles import finders

    script = Path(finders.find("js/review.js")).read_text(encoding="utf-8")
    for key in ('"?"', '"j"', '"k"', '"x"', "data-key"):
        assert key in script


def test_supervisor_r12_1_is_a_reviewer_too(client, case_item, queue_supervisor):
    client.force_login(queue_supervisor)
    assert client.get(QUEUE).status_code == 200
    assert client.post(reverse("compliance-queue-claim-next")).status_code == 302
