"""R12.1: the report page behind every report entry, My reports, the owner's view and the staff page."""

from django.urls import reverse

from groups import services as group_services
from moderation import selectors, services
from moderation.models import Case, Complaint
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory

CONDUCT = "CONDUCT_FRAUD_SPAM"


def _url(group, query=""):
    return reverse("group-report", kwargs={"code": group.code}) + query


def test_report_page_r12_1_keeps_its_address_and_is_linked_from_every_message(
    client, group, message, reporter
):
    assert _url(group) == f"/g/{group.code}/report/"
    client.force_login(reporter)
    chat = client.get(f"/groups/{group.code}/").content.decode()
    assert f"/g/{group.code}/report/?message={message.seq}" in chat
    assert f"/g/{group.code}/report/?member=" in chat  # the members list: report this member


def test_report_page_r12_1_shows_the_message_and_the_reasons_grouped(client, group, message, reporter):
    client.force_login(reporter)
    response = client.get(_url(group, f"?message={message.seq}"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "你这个骗子，快转账" in page and "成员" in page
    for heading in ("违法", "不良", "禁止行为", "账号信息"):
        assert f"<legend>{heading}</legend>" in page, heading
    assert 'value="CONDUCT_CYBERVIOLENCE"' in page and "网络暴力" in page


def test_report_page_r12_1_files_and_says_what_happens_next(client, group, message, reporter):
    client.force_login(reporter)
    response = client.post(
        _url(group, f"?message={message.seq}"), {"category": CONDUCT, "description": "骗钱"}
    )
    assert response.status_code == 302 and "sent=1" in response["Location"]
    complaint = Complaint.objects.get()
    assert (complaint.reporter, complaint.category, complaint.description) == (reporter, CONDUCT, "骗钱")
    assert complaint.case.message_id == message.pk
    done = client.get(response["Location"]).content.decode()
    assert "接下来" in done and reverse("my-reports") in done
    assert Notification.objects.filter(recipient=reporter, kind="moderation.complaint_received").exists()


def test_report_page_r12_1_twice_is_a_friendly_refusal(client, group, message, reporter):
    client.force_login(reporter)
    url = _url(group, f"?message={message.seq}")
    client.post(url, {"category": CONDUCT})
    again = client.post(url, {"category": "ILL_RUMOR"})
    assert again.status_code == 200
    assert "您已举报过" in again.content.decode()
    assert Case.objects.get().complaint_count == 1


def test_report_page_r12_1_needs_a_reason(client, group, message, reporter):
    client.force_login(reporter)
    response = client.post(_url(group, f"?message={message.seq}"), {"description": "x"})
    assert response.status_code == 200 and not Complaint.objects.exists()
    assert "请选择举报理由" in response.content.decode()


def test_report_page_r12_1_member_report(client, group, member, reporter):
    client.force_login(reporter)
    response = client.post(_url(group, f"?member={member.pk}"), {"category": "CONDUCT_CYBERVIOLENCE"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.kind, case.subject) == ("member", member)


def test_report_page_r12_1_non_member_and_bad_parameters_get_404(client, group, message, outsider, reporter):
    client.force_login(outsider)
    for query in (f"?message={message.seq}", f"?member={reporter.pk}", ""):
        assert client.get(_url(group, query)).status_code == 404
        assert client.post(_url(group, query), {"category": CONDUCT}).status_code == 404
    client.force_login(reporter)
    for query in ("?message=abc", "?message=999", f"?member={outsider.pk}", "?member=-1"):
        assert client.get(_url(group, query)).status_code == 404
    assert client.get("/g/ZZZZZZZZ/report/").status_code == 404
    assert not Complaint.objects.exists()


def test_report_page_r12_1_logged_out_visitor_reports_a_public_group(client, group, settings):
    assert client.get(_url(group)).status_code == 404  # below the info page's threshold
    settings.GROUP_INFO_PAGE_THRESHOLD = 2
    info = client.get(f"/g/{group.code}/").content.decode()
    assert f"/g/{group.code}/report/" in info
    page = client.get(_url(group))
    assert page.status_code == 200 and "读书会" in page.content.decode()
    response = client.post(_url(group), {"category": "ILL_RUMOR"}, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.reporter is None and complaint.reporter_ip == "198.51.100.4"
    done = client.get(response["Location"]).content.decode()
    assert "无法告知您处理结果" in done


def test_report_page_r12_1_logged_out_visitor_is_rate_limited_per_ip(client, settings, group, owner):
    settings.GROUP_INFO_PAGE_THRESHOLD = 2
    settings.MODERATION_VISITOR_COMPLAINTS_PER_HOUR = 2
    other = group_services.group_create(actor=actor_for(owner), name="第二个群")
    group_services.membership_join(
        actor=actor_for(UserFactory()), group=other, invite_token=other.invite_token
    )
    third = group_services.group_create(actor=actor_for(owner), name="第三个群")
    group_services.membership_join(
        actor=actor_for(UserFactory()), group=third, invite_token=third.invite_token
    )
    for chat in (group, other):
        assert (
            client.post(_url(chat), {"category": "ILL_RUMOR"}, REMOTE_ADDR="198.51.100.9").status_code == 302
        )
    refused = client.post(_url(third), {"category": "ILL_RUMOR"}, REMOTE_ADDR="198.51.100.9")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "举报次数较多" in refused.content.decode()
    assert client.post(_url(third), {"category": "ILL_RUMOR"}, REMOTE_ADDR="198.51.100.10").status_code == 302
    assert Complaint.objects.count() == 3


def test_my_reports_r12_1_shows_status_then_outcome(client, group, message, reporter, staff):
    client.force_login(reporter)
    client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT})
    page = client.get(reverse("my-reports")).content.decode()
    assert "处理中" in page and "读书会" in page
    services.case_close(actor=actor_for(staff), case=Case.objects.get(), outcome="已删除该消息")
    page = client.get(reverse("my-reports")).content.decode()
    assert "已处理" in page and "已删除该消息" in page


def test_my_reports_r12_1_shows_only_my_own(client, group, message, reporter, owner):
    client.force_login(reporter)
    client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT, "description": "我的描述"})
    client.force_login(owner)
    assert "我的描述" not in client.get(reverse("my-reports")).content.decode()


def test_manage_reports_r12_1_owner_and_admin_see_conduct_cases_never_the_reporter(
    client, group, message, reporter, owner, admin, member
):
    client.force_login(reporter)
    client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT, "description": "王小明作证"})
    client.post(_url(group, f"?member={member.pk}"), {"category": "CONDUCT_CYBERVIOLENCE"})
    url = reverse("group-manage-reports", kwargs={"code": group.code})
    for manager in (owner, admin):
        client.force_login(manager)
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "你这个骗子，快转账" in page and "网络暴力" in page and "1 条举报" in page
        for leak in ("王小明", "wangxm", "作证", f"/credit/{reporter.pk}/"):
            assert leak not in page, leak
    from groups.views_manage import manage_activity

    # The group's activity log (its audit events) carries no complaint, so no reporter either.
    assert not [e for e in manage_activity(group) if e.event_type.startswith("moderation.")]


def test_manage_reports_r12_1_members_403_outsiders_404(client, group, member, outsider):
    url = reverse("group-manage-reports", kwargs={"code": group.code})
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_case_page_r12_1_staff_see_the_evidence_and_close(client, group, message, reporter, staff, owner):
    group_services.message_send(actor=actor_for(owner), group=group, body="最后一条", client_msg_id="z")
    client.force_login(reporter)
    client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT, "description": "骗钱"})
    group_services.message_remove(actor=actor_for(owner), message=message, reason="违规")
    case = Case.objects.get()
    client.force_login(staff)
    assert f"/compliance/cases/{case.pk}/" in client.get(reverse("case-list")).content.decode()
    page = client.get(reverse("case-detail", kwargs={"pk": case.pk})).content.decode()
    assert "你这个骗子，快转账" in page and "之前1" in page and "之后0" in page and "王小明" in page
    response = client.post(
        reverse("case-detail", kwargs={"pk": case.pk}), {"decision": "uphold", "outcome": "已删除，已警告"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == ("closed", "已删除，已警告", "upheld")
    told = Notification.objects.get(recipient=reporter, kind="moderation.complaint_decided")
    assert told.context["outcome"] == "已删除，已警告"


def test_case_page_r12_1_refuses_everyone_else(client, group, message, reporter, owner):
    client.force_login(reporter)
    client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT})
    case = Case.objects.get()
    owner.is_staff = True  # staff without the permission
    owner.save(update_fields=["is_staff"])
    for user in (reporter, owner):
        client.force_login(user)
        assert client.get(reverse("case-detail", kwargs={"pk": case.pk})).status_code == 403
        assert (
            client.post(reverse("case-detail", kwargs={"pk": case.pk}), {"outcome": "x"}).status_code == 403
        )
    assert selectors.case_list_open()[0].status == "open"


def test_report_page_r12_1_own_message_says_why_not(client, group, message, member):
    client.force_login(member)
    response = client.get(_url(group, f"?message={message.seq}"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "不能举报自己" in page and 'name="category"' not in page
    assert client.post(_url(group, f"?message={message.seq}"), {"category": CONDUCT}).status_code == 403
    assert not Complaint.objects.exists()


def test_report_page_r12_1_signed_in_non_member_reports_a_public_group_only(
    client, group, outsider, settings
):
    client.force_login(outsider)
    assert client.get(_url(group)).status_code == 404
    settings.GROUP_INFO_PAGE_THRESHOLD = 2
    assert client.get(_url(group)).status_code == 200
    response = client.post(_url(group), {"category": "HARM_VULGAR"})
    assert response.status_code == 302
    done = client.get(response["Location"]).content.decode()
    assert reverse("my-reports") in done and f"/groups/{group.code}/" not in done  # not theirs to open
    assert Complaint.objects.get().reporter == outsider
