"""R11.1-R11.3, R12.1: a reviewer finishes a complaint case in one place. The queue's item page of a case
carries the measures panel, and a measure issued from it returns to the item (only to a local address);
the case page decides a case with the queue's decisions, so its resolution counts toward the reporters'
accuracy; both pages show the same priority (the queue's). Also: the measures form applies only the
fields of the chosen kind, reasons and colons read naturally in Chinese, the supervisors are told of a
measure waiting for their approval, and a reversed closure restores the group's earlier status."""

import pytest
from django.urls import reverse
from django.utils import translation

from groups import services as group_services
from groups.models import ChatGroup, GroupStatus
from moderation import selectors, services
from moderation.forms_sanctions import SanctionForm, fields_by_kind, fields_for
from moderation.models import CaseResolution, ReviewItem, ReviewKind, ReviewStatus, Sanction
from moderation.views_sanctions import local_next
from notifications.models import Notification
from tests.conftest import actor_for
from tests.moderation.conftest import SANCTION_PERMISSIONS, _compliance_user

CONDUCT = "CONDUCT_FRAUD_SPAM"


def _file(user, group, *, seq=None, member_id=None, category=CONDUCT):
    actor = actor_for(user)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=seq, member_id=member_id)
    return services.complaint_file(actor=actor, target=target, category=category)


def _item_of(case) -> ReviewItem:
    return ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=case.pk, status=ReviewStatus.OPEN)


def _item_url(item) -> str:
    return reverse("compliance-queue-item", args=[item.pk])


@pytest.fixture
def case(group, message, reporter):
    return _file(reporter, group, seq=message.seq).case


# --- the measures panel on the queue's item page -------------------------------------------------------


def test_r12_1_the_queue_item_of_a_case_shows_the_measures_panel_that_returns_to_it(client, reviewer, case):
    item = _item_of(case)
    client.force_login(reviewer)
    url = _item_url(item) + "?back=/compliance/queue/%3Fkind%3Dcase"
    page = client.get(url).content.decode()
    assert f'action="{reverse("case-measures", args=[case.pk])}"' in page
    assert 'id="measures"' in page and "暂停群内发言" in page and "data-fields=" in page
    assert f'name="next" value="{_item_url(item)}?back=/compliance/queue/%3Fkind%3Dcase"' in page


def test_r11_1_a_measure_from_the_queue_item_is_recorded_and_returns_to_the_item(
    client, reviewer, case, group
):
    item = _item_of(case)
    client.force_login(reviewer)
    response = client.post(
        reverse("case-measures", args=[case.pk]),
        {
            "kind": "group_posting",
            "target": "group",
            "category": CONDUCT,
            "duration_hours": "24",
            "note": "刷单广告",
            "next": _item_url(item),
        },
    )
    assert response.status_code == 302 and response["Location"] == _item_url(item)
    sanction = Sanction.objects.get()
    assert (sanction.case, sanction.target_group, sanction.kind) == (case, group, "group_posting")
    assert sanction.status == "active" and sanction.duration_hours == 24
    page = client.get(_item_url(item))
    text = page.content.decode()
    assert "处置已生效" in text  # the flash message, on the item page
    assert reverse("sanction-detail", args=[sanction.pk]) in text  # measures decided from this case
    assert item.pk == _item_of(case).pk  # the item still waits for its decision


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/compliance/queue/1/",
        "//evil.example/x",
        "/\\evil.example/x",
        "javascript:alert(1)",
        "compliance/queue/1/",
        "/compliance/queue/1/\nSet-Cookie: x",
        "",
    ],
)
def test_r11_1_a_measure_never_returns_to_an_address_outside_the_site(client, reviewer, case, unsafe):
    client.force_login(reviewer)
    response = client.post(
        reverse("case-measures", args=[case.pk]),
        {"kind": "group_warning", "target": "group", "category": CONDUCT, "next": unsafe},
    )
    assert response.status_code == 302 and response["Location"] == reverse("case-detail", args=[case.pk])
    assert local_next(unsafe) == ""


def test_r11_1_a_refused_measure_from_the_item_keeps_the_way_back(client, reviewer, case):
    item = _item_of(case)
    client.force_login(reviewer)
    response = client.post(
        reverse("case-measures", args=[case.pk]),
        {"kind": "user_mute", "target": "group", "category": CONDUCT, "next": _item_url(item)},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "该措施针对个人" in page
    assert f'name="next" value="{_item_url(item)}"' in page and "返回审核事项" in page
    assert not Sanction.objects.exists()


def test_r12_1_reviewers_without_the_sanction_permission_see_no_panel_on_the_item(client, case, staff):
    client.force_login(staff)  # decides cases, not measures
    page = client.get(_item_url(_item_of(case))).content.decode()
    assert "举报属实" in page  # the item's decisions
    assert reverse("case-measures", args=[case.pk]) not in page and 'href="#measures"' not in page


# --- the case page decides with the queue's decisions ---------------------------------------------------


def _accuracy_of_next_report(reporter, group, member, body: str) -> float:
    sent, _new = group_services.message_send(
        actor=actor_for(member), group=group, body=body, client_msg_id=body
    )
    return _item_of(_file(reporter, group, seq=sent.seq).case).reporter_accuracy


@pytest.mark.parametrize(
    ("decision", "resolution", "removed"),
    [("uphold", "upheld", False), ("remove", "upheld", True), ("dismiss", "dismissed", False)],
)
def test_r12_1_the_case_page_records_the_resolution_and_the_reporters_accuracy_counts_it(
    client, queue_reviewer, case, reporter, group, member, decision, resolution, removed
):
    reviewer = queue_reviewer  # the "reviewer" role: cases, and taking a reported message down
    item = _item_of(case)
    assert _accuracy_of_next_report(reporter, group, member, "第一条广告") == pytest.approx(0.5)  # no history
    client.force_login(reviewer)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert 'name="decision" value="uphold"' in page and 'name="decision" value="dismiss"' in page
    response = client.post(
        reverse("case-detail", args=[case.pk]), {"decision": decision, "outcome": "已核查"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.resolution, case.outcome) == ("closed", resolution, "已核查")
    assert (case.message.status == "removed") is removed
    item.refresh_from_db()  # decided through its queue item, as in the queue
    assert (item.status, item.decision, item.decided_by) == ("decided", decision, reviewer)
    told = Notification.objects.get(recipient=reporter, kind="moderation.complaint_decided")
    assert told.context["outcome"] == "已核查"
    accuracy = _accuracy_of_next_report(reporter, group, member, "第二条广告")
    assert accuracy > 0.5 if resolution == CaseResolution.UPHELD else accuracy < 0.5


def test_r12_1_the_case_page_closes_a_case_without_a_queue_item_with_its_resolution(client, reviewer, case):
    ReviewItem.objects.filter(kind=ReviewKind.CASE, object_id=case.pk).delete()
    client.force_login(reviewer)
    response = client.post(
        reverse("case-detail", args=[case.pk]), {"decision": "dismiss", "outcome": "无违规"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("closed", "dismissed")


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"outcome": "没有选择"}, "请选择举报属实或不成立"),
        ({"decision": "uphold", "outcome": "  "}, "请填写处理结果"),
        ({"decision": "nonsense", "outcome": "x"}, "请选择本案件可用的处理决定"),
        ({"decision": "uphold", "outcome": "长" * 1001}, "1000"),
    ],
)
def test_r12_1_the_case_page_explains_bad_decisions(client, reviewer, case, data, shown):
    client.force_login(reviewer)
    response = client.post(reverse("case-detail", args=[case.pk]), data)
    assert response.status_code == 400 and shown in response.content.decode()
    case.refresh_from_db()
    assert case.status == "open" and case.resolution == ""


def test_r12_1_the_case_page_offers_removal_only_for_a_shown_message(client, reviewer, case, owner):
    group_services.message_remove(actor=actor_for(owner), message=case.message, reason="违规")
    client.force_login(reviewer)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert 'value="remove"' not in page
    response = client.post(reverse("case-detail", args=[case.pk]), {"decision": "remove", "outcome": "x"})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == "open"


def test_r12_1_the_case_page_respects_another_reviewers_claim(client, reviewer, reviewer2, case):
    services.review_claim(actor=actor_for(reviewer2), item=_item_of(case))
    client.force_login(reviewer)
    response = client.post(
        reverse("case-detail", args=[case.pk]), {"decision": "uphold", "outcome": "已处理"}, follow=True
    )
    assert "审核员乙" in response.content.decode()  # who is handling it, and until when
    case.refresh_from_db()
    assert case.status == "open"


# --- one priority ---------------------------------------------------------------------------------------


def test_r12_1_the_case_page_and_the_case_list_show_the_queue_priority(client, reviewer, case):
    item = _item_of(case)
    assert item.priority != case.priority  # two figures exist; the pages show the queue's
    client.force_login(reviewer)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert f"<dd>{item.priority} · " in page and "队列优先级" in page and _item_url(item) in page
    assert f"<dd>{case.priority}</dd>" not in page
    listing = client.get(reverse("case-list")).content.decode()
    assert f'<a href="{_item_url(item)}">{item.priority}</a>' in listing
    item_page = client.get(_item_url(item)).content.decode()
    assert f"<dd>{item.priority}</dd>" in item_page and "队列优先级" in item_page


def test_r12_1_the_case_list_orders_by_the_queue_priority(group, message, reporter, member, owner):
    low = _file(reporter, group, member_id=member.pk).case
    high = _file(reporter, group, seq=message.seq, category="ILL_OBSCENE_GAMBLING_VIOLENCE").case
    ReviewItem.objects.filter(kind=ReviewKind.CASE, object_id=low.pk).update(priority=9999)
    assert [c.pk for c in selectors.case_list_open()][:2] == [low.pk, high.pk]


# --- brackets and colons in Chinese ---------------------------------------------------------------------


def test_reason_kinds_use_full_width_brackets_in_chinese_and_plain_ones_in_english(client, reviewer, case):
    client.force_login(reviewer)
    for url in (reverse("case-detail", args=[case.pk]), _item_url(_item_of(case))):
        page = client.get(url).content.decode()
        assert "（禁止行为）" in page and "(禁止行为)" not in page, url
    with translation.override("en"):
        client.cookies.load({"django_language": "en"})
        page = client.get(reverse("case-detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "(prohibited conduct)" in page


def test_the_report_form_names_the_group_with_a_full_width_colon(client, group, message, reporter):
    client.force_login(reporter)
    page = client.get(reverse("group-report", args=[group.code]) + f"?message={message.seq}").content.decode()
    assert f"群组：{group.name}" in page and f"群组: {group.name}" not in page


def test_the_evidence_shows_roles_in_the_readers_language(client, reviewer, group, member, reporter):
    case = _file(reporter, group, member_id=member.pk).case
    client.force_login(reviewer)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "成员（成员）" in page  # the member reported, as "nickname (role)"
    assert '<span class="muted">群主</span>' in page and '<span class="muted">owner</span>' not in page


# --- the measures form shows and applies only the fields of the chosen kind -----------------------------


def test_r11_1_each_kind_of_measure_has_its_own_fields():
    assert fields_for("group_closure") == set()
    assert fields_for("group_posting") == {"duration_hours"}
    assert fields_for("user_suspend") == {"duration_hours", "permanent"}
    assert fields_for("user_credit") == {"points"}
    assert fields_for("user_level") == {"duration_hours", "permanent", "level"}
    assert fields_for("blacklist") == {"blacklist_role", "duration_hours", "permanent"}
    assert fields_for("nonsense") == set()
    assert set(fields_by_kind()) == {
        "group_warning",
        "group_posting",
        "group_closure",
        "user_credit",
        "user_level",
        "user_manage",
        "user_create",
        "user_mute",
        "user_suspend",
        "blacklist",
    }


def test_r11_1_fields_that_do_not_apply_to_the_kind_are_ignored():
    form = SanctionForm(
        {
            "kind": "group_posting",
            "target": "group",
            "category": CONDUCT,
            "points": "not a number",
            "level": "-3",
            "permanent": "on",
            "blacklist_role": "nonsense",
            "duration_hours": "12",
        },
        targets=[("group", "群")],
    )
    assert form.is_valid(), form.errors
    data = form.cleaned_data
    assert (data["points"], data["level"], data["permanent"], data["blacklist_role"]) == (
        None,
        None,
        False,
        "",
    )
    assert data["duration_hours"] == 12
    relevant = SanctionForm(
        {"kind": "user_credit", "target": "subject", "category": CONDUCT, "points": "not a number"},
        targets=[("subject", "人")],
    )
    assert not relevant.is_valid() and "points" in relevant.errors  # what applies is still checked


def test_r11_1_a_hidden_permanent_box_does_not_refuse_a_posting_suspension(client, reviewer, case):
    client.force_login(reviewer)
    response = client.post(
        reverse("case-measures", args=[case.pk]),
        {"kind": "group_posting", "target": "group", "category": CONDUCT, "permanent": "on", "points": "x"},
    )
    assert response.status_code == 302
    sanction = Sanction.objects.get()
    assert sanction.duration_hours == 24 and sanction.points is None and not sanction.needs_approval


def test_r11_1_the_measures_script_is_on_both_pages(client, reviewer, case):
    client.force_login(reviewer)
    for url in (reverse("case-detail", args=[case.pk]), _item_url(_item_of(case))):
        page = client.get(url).content.decode()
        assert 'src="/static/js/measures.js"' in page and '"group_closure": []' in page.replace("&quot;", '"')


# --- four eyes: the supervisors are told ----------------------------------------------------------------


def test_r11_1_supervisors_are_told_when_a_measure_waits_for_their_approval(
    client, reviewer, supervisor, group, owner
):
    other = _compliance_user("supervisor2", "主管乙", *SANCTION_PERMISSIONS, "approve_sanction")
    inactive = _compliance_user("supervisor3", "离职主管", *SANCTION_PERMISSIONS, "approve_sanction")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    closure = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group, note="涉黄"
    )
    assert closure.status == "pending"
    notices = Notification.objects.filter(kind="moderation.sanction_pending")
    assert sorted(n.recipient_id for n in notices) == sorted([supervisor.pk, other.pk])
    notice = notices.get(recipient=supervisor)
    assert notice.context["sanction"] == closure.pk and notice.context["decider"] == reviewer.display_name
    client.force_login(supervisor)
    page = client.get(reverse("notifications")).content.decode()
    assert "等待您批准" in page and "关闭群组" in page and group.name in page
    assert f"/compliance/sanctions/{closure.pk}/" in page


def test_r11_1_no_notice_for_a_measure_in_force_at_once_nor_to_the_one_who_decided(
    reviewer, supervisor, group, member, owner
):
    services.sanction_issue(
        actor=actor_for(supervisor), kind="group_warning", category="ILL_OTHER", target_group=group
    )
    assert not Notification.objects.filter(kind="moderation.sanction_pending").exists()
    services.sanction_issue(
        actor=actor_for(supervisor),
        kind="user_suspend",
        category="ILL_OTHER",
        target_user=member,
        permanent=True,
    )  # a permanent measure by a supervisor: another supervisor approves, and none is left to tell
    assert not Notification.objects.filter(kind="moderation.sanction_pending").exists()


def test_r11_1_a_supervisor_who_runs_the_group_is_not_asked_to_approve_its_closure(reviewer, group, owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.add(*_compliance_user("tmp", "临时", "approve_sanction").user_permissions.all())
    services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group
    )
    assert not Notification.objects.filter(kind="moderation.sanction_pending", recipient=owner).exists()


# --- a reversed closure restores the group's earlier status ---------------------------------------------


def _close_and_reverse(reviewer, supervisor, reviewer2, appellant, group):
    closure = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group
    )
    closure = services.sanction_decide(actor=actor_for(supervisor), sanction=closure, approve=True)
    assert ChatGroup.objects.get(pk=group.pk).status == GroupStatus.CLOSED
    appeal = services.appeal_file(actor=actor_for(appellant), sanction=closure, text="已整改")
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    return closure


def test_r11_1_a_reversed_closure_of_a_group_waiting_for_review_puts_it_back_in_review(
    reviewer, reviewer2, supervisor, owner
):
    pending = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    assert pending.status == GroupStatus.PENDING_REVIEW
    closure = _close_and_reverse(reviewer, supervisor, reviewer2, owner, pending)
    assert closure.effect["group_status_before"] == GroupStatus.PENDING_REVIEW
    fresh = ChatGroup.objects.get(pk=pending.pk)
    assert fresh.status == GroupStatus.PENDING_REVIEW and fresh.closed_at is None
    # Back in the review queue at once, to be approved or refused as before.
    assert ReviewItem.objects.filter(
        kind=ReviewKind.GROUP_REQUEST, object_id=pending.pk, status=ReviewStatus.OPEN
    ).exists()


def test_r11_1_a_reversed_closure_of_an_active_group_makes_it_active(
    reviewer, reviewer2, supervisor, group, owner
):
    closure = _close_and_reverse(reviewer, supervisor, reviewer2, owner, group)
    assert closure.effect["group_status_before"] == GroupStatus.ACTIVE
    assert ChatGroup.objects.get(pk=group.pk).status == GroupStatus.ACTIVE


def test_r11_3_a_blacklisting_on_a_closed_group_reopens_it_as_the_first_closure_found_it(
    reviewer, reviewer2, supervisor, owner
):
    pending = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    closure = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=pending
    )
    closure = services.sanction_decide(actor=actor_for(supervisor), sanction=closure, approve=True)
    listing = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="ILL_OTHER",
        target_group=pending,
        blacklist_role="group",
    )
    listing = services.sanction_decide(actor=actor_for(supervisor), sanction=listing, approve=True)
    assert listing.effect["group_status_before"] == GroupStatus.CLOSED
    for sanction in (closure, listing):  # the first appeal leaves it closed (the other still holds)
        appeal = services.appeal_file(actor=actor_for(owner), sanction=sanction, text="已整改")
        services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
        if sanction is closure:
            assert ChatGroup.objects.get(pk=pending.pk).status == GroupStatus.CLOSED
    assert ChatGroup.objects.get(pk=pending.pk).status == GroupStatus.PENDING_REVIEW


def test_r11_1_a_closure_recorded_before_the_status_was_kept_reopens_as_active(
    reviewer, reviewer2, supervisor, owner
):
    pending = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    closure = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=pending
    )
    closure = services.sanction_decide(actor=actor_for(supervisor), sanction=closure, approve=True)
    Sanction.objects.filter(pk=closure.pk).update(
        effect={"group_restriction": closure.effect["group_restriction"]}
    )
    appeal = services.appeal_file(actor=actor_for(owner), sanction=closure, text="已整改")
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    assert ChatGroup.objects.get(pk=pending.pk).status == GroupStatus.ACTIVE


def test_groups_refuse_to_reopen_a_group_in_any_other_status(group, owner):
    from django.core.exceptions import ValidationError

    from common.actors import Actor, ActorKind, Door
    from groups.models import GroupRestriction

    system = Actor(user=None, kind=ActorKind.SYSTEM, door=Door.TASK, ip=None, port=None)
    restriction = group_services.group_restriction_add(
        actor=system, group=group, kind="closed", reason="测试"
    )
    with pytest.raises(ValidationError):
        group_services.group_restriction_lift(actor=system, restriction=restriction, reopen_as="rejected")
    assert GroupRestriction.objects.get(pk=restriction.pk).lifted_at is None


# --- the header: members' links as they are, the staff pages in one menu ---------------------------------

MEMBER_LINKS = ("/reports/mine/", "/sanctions/mine/", "/credit/")


def test_members_see_their_own_links_and_no_staff_menu(client, member):
    client.force_login(member)
    page = client.get(reverse("my-reports")).content.decode()
    assert 'id="staff-menu"' not in page and "/compliance/" not in page
    assert all(f'href="{link}' in page for link in MEMBER_LINKS)


def test_staff_pages_are_grouped_in_one_menu_by_permission(client, reviewer, queue_supervisor):
    client.force_login(reviewer)
    page = client.get(reverse("my-reports")).content.decode()
    menu = page[
        page.index('<details class="navmenu') : page.index("</details>", page.index('id="staff-menu"'))
    ]
    assert "<summary>合规管理</summary>" in menu
    for url in (reverse("compliance-queue"), reverse("case-list"), reverse("sanction-list"), "/admin/"):
        assert f'href="{url}"' in menu, url
    assert reverse("emergency-measures") not in menu and reverse("audit-search") not in menu
    assert all(f'href="{link}' in page and f'href="{link}' not in menu for link in MEMBER_LINKS)
    client.force_login(queue_supervisor)  # the "supervisor" role: emergency measures too
    page = client.get(reverse("compliance-queue")).content.decode()
    assert f'href="{reverse("emergency-measures")}"' in page and 'src="/static/js/nav.js"' in page
    assert f'<a href="{reverse("compliance-queue")}" aria-current="page">' in page  # where one is
    assert '<details class="navmenu current"' in page
