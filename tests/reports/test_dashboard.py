"""The compliance dashboard (issue 12): each row's figure from seeded data matches a hand count, its
status follows the data, the page is for supervisors only and its query count does not grow with data."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import ChainCheck, LogDigest, NetworkLog
from common.reasons import Reason, ReasonKind
from groups import services
from groups.models import Membership, Message
from moderation.models import Case, Complaint
from reports import dashboard, dashboard_charts
from screening.models import ScreeningEvidence
from tests.conftest import actor_for
from tests.factories import PASSWORD, UnverifiedUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The figures' labels are compared in English (the page itself is Chinese first)."""
    with translation.override("en"):
        yield


def _rows(now=None) -> dict:
    return {row.id: row for row in dashboard.requirement_rows(now)}


def _figure(row, label_start: str) -> str:
    return next(value for label, value in row.figures if label.startswith(label_start))


def _staff(username: str, role: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _case(group, *, created, deadline, decided=None, key="x"):
    case = Case.objects.create(
        kind="group",
        target_key=f"group:{group.pk}:{key}",
        group=group,
        category=Reason.choices[0][0],
        category_kind=ReasonKind.ILLEGAL,
        deadline=deadline,
        status="closed" if decided else "open",
        decided_at=decided,
    )
    Case.objects.filter(pk=case.pk).update(created_at=created)
    return case


def test_rows_cover_every_requirement_in_order():
    ids = [row.id for row in dashboard.requirement_rows()]
    assert ids[0] == "R5.1" and ids[-1] == "R13.2"
    assert len(ids) == len(set(ids)) == 26
    assert {"R6.2", "R10.1", "R12.1", "R13.2"} <= set(ids)


def test_every_requirement_is_measured_now():
    rows = _rows()
    assert not dashboard.NOT_YET_MEASURED
    assert not [rid for rid, row in rows.items() if "Not yet measured" in row.reason]


def _report(source: str, state: str, age: timedelta):
    from reports.models import RegulatorReport, ReportKind

    report = RegulatorReport.objects.create(
        kind=ReportKind.MEASURE, source=source, idempotency_key=f"k-{source}", state=state
    )
    RegulatorReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - age)
    return report


def test_r11_4_row_follows_the_report_register(db):
    assert _rows()["R11.4"].status == dashboard.MET  # nothing due
    _report("sanction:1", "delivered", timedelta(days=3))
    _report("sanction:2", "failed", timedelta(hours=2))
    row = _rows()["R11.4"]
    figures = dict(row.figures)
    assert (
        row.status == dashboard.ATTENTION
        and figures["Delivered"] == "1"
        and figures["Failed, to be retried"] == "1"
    )
    _report("sanction:3", "pending", timedelta(days=2))
    assert _rows()["R11.4"].status == dashboard.FAILING


def test_r6_1_dashboard_counts_verification_states_and_unverified_members(group):
    row = _rows()["R6.1"]
    assert _figure(row, "Verified") == "2"  # owner and member
    assert _figure(row, "Active members verified") == "2 / 2"
    assert row.status == dashboard.MET
    stranger = UnverifiedUserFactory(username="stranger")
    Membership.objects.create(group=group, user=stranger)  # a bulk-history row: joined before the rule
    row = _rows()["R6.1"]
    assert _figure(row, "Active members verified") == "2 / 3"
    assert row.status == dashboard.ATTENTION


def test_r6_2_unverified_members_message_makes_row_failing(group, member):
    services.message_send(actor=actor_for(member), group=group, body="你好", client_msg_id="m-1")
    row = _rows()["R6.2"]
    assert row.status == dashboard.MET
    assert row.figures[0][1] == "0"
    stranger = UnverifiedUserFactory(username="stranger")
    Message.objects.create(group=group, sender=stranger, client_msg_id="u-1", body="未实名")
    row = _rows()["R6.2"]
    assert row.status == dashboard.FAILING
    assert row.figures[0][1] == "1"


def test_r12_1_dashboard_counts_open_and_overdue_complaints(group):
    now = timezone.now()
    _case(group, created=now - timedelta(hours=30), deadline=now - timedelta(hours=6), key="a")  # overdue
    _case(group, created=now - timedelta(hours=1), deadline=now + timedelta(hours=23), key="b")
    _case(group, created=now - timedelta(hours=12), deadline=now, decided=now - timedelta(hours=10), key="c")
    _case(group, created=now - timedelta(hours=12), deadline=now, decided=now - timedelta(hours=8), key="d")
    _case(group, created=now - timedelta(days=60), deadline=now, decided=now - timedelta(days=59), key="e")
    row = _rows(now)["R12.1"]
    assert _figure(row, "Open cases") == "2"
    assert _figure(row, "Overdue") == "1"
    assert _figure(row, "Median handling time") == "3.0 h"  # 2 h and 4 h in the last 30 days
    assert _figure(row, "95th percentile") == "4.0 h"
    assert row.status == dashboard.FAILING
    Case.objects.filter(target_key__endswith=":a").update(status="closed", decided_at=now)
    assert _rows(now)["R12.1"].status == dashboard.MET


def test_r10_1_dashboard_counts_screening_hits_by_action(lexicon):
    now = timezone.now()
    for action in ("block", "block", "hold", "flag", "block"):
        ScreeningEvidence.objects.create(action=action, original_text="x", normalised_text="x")
    old = ScreeningEvidence.objects.order_by("pk").last()
    ScreeningEvidence.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=40))
    row = _rows(now)["R10.1"]
    assert _figure(row, "Screening hits") == "4"
    assert _figure(row, "block") == "2"
    assert _figure(row, "hold") == "1"
    assert _figure(row, "flag") == "1"
    assert _figure(row, "Lexicon version").startswith("v")
    assert row.status == dashboard.MET


def test_r10_1_without_lexicon_is_failing():
    assert _rows()["R10.1"].status == dashboard.FAILING


def test_r5_1_dashboard_counts_emergency_measures_in_force(group, owner):
    supervisor = _staff("boss", "supervisor")
    supervisor.user_permissions.add(
        *__import__("django.contrib.auth.models", fromlist=["Permission"]).Permission.objects.filter(
            codename="declare_emergency"
        )
    )
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)
    services.emergency_measure_declare(
        actor=actor_for(supervisor),
        kind="notice",
        reason="演练",
        notice="系统维护",
        ends_at=timezone.now() + timedelta(hours=2),
    )
    row = _rows()["R5.1"]
    assert _figure(row, "Emergency measures in force") == "1"
    assert _figure(row, "Declared in the last 30 days") == "1"


def test_r8_2_r8_6_every_group_has_code_and_owner(group):
    rows = _rows()
    assert rows["R8.2"].status == dashboard.MET
    assert _figure(rows["R8.2"], "Without a code") == "0"
    assert rows["R8.6"].status == dashboard.MET
    Membership.objects.filter(group=group, role="owner").update(left_at=timezone.now())
    assert _rows()["R8.6"].status == dashboard.FAILING


def _sealed_log(occurred_at) -> None:
    """A network-log row and a digest sealing it (R13.2's row also watches the sealing)."""
    log = NetworkLog.objects.create(occurred_at=occurred_at, kind="http")
    LogDigest.objects.create(
        first_id=log.pk,
        last_id=log.pk,
        row_count=1,
        rows_hash="r" * 64,
        hash="h" * 64,
        exported_at=occurred_at,
    )


def test_r13_2_log_retention_and_chain_verification_statuses(group, owner):
    now = timezone.now()
    _sealed_log(now - timedelta(days=10))
    row = _rows(now)["R13.2"]
    assert _figure(row, "Oldest log entry") == "10 days old"
    assert row.status == dashboard.ATTENTION  # never verified
    ChainCheck.objects.create(ok=True)
    assert _rows(now)["R13.2"].status == dashboard.MET
    type(owner).objects.filter(pk=owner.pk).update(date_joined=now - timedelta(days=200))
    row = _rows(now)["R13.2"]
    assert row.status == dashboard.FAILING  # the platform is older than 180 days: 10 days is too short
    _sealed_log(now - timedelta(days=185))
    assert _rows(now)["R13.2"].status == dashboard.MET
    ChainCheck.objects.create(ok=False)
    assert _rows(now)["R13.2"].status == dashboard.FAILING


def test_r12_1_trend_charts_count_complaints_per_day(group, member):
    now = timezone.now()
    case = _case(group, created=now, deadline=now + timedelta(days=1))
    for days_ago in (0, 0, 3):
        complaint = Complaint.objects.create(case=case, category=Reason.choices[0][0])
        Complaint.objects.filter(pk=complaint.pk).update(created_at=now - timedelta(days=days_ago))
    charts = {chart.key: chart for chart in dashboard_charts.trend_charts(now)}
    assert set(charts) == {"complaints", "handling", "measures", "verification", "screening"}
    assert charts["complaints"].summary.startswith("3 complaints in 90 days; busiest day 2")
    assert "<svg" in charts["complaints"].svg and "<script" not in charts["complaints"].svg
    assert re.findall(r"https?://[^\"]*", charts["complaints"].svg) == ["http://www.w3.org/2000/svg"]


def _seed(group, user, n: int) -> None:
    now = timezone.now()
    for i in range(n):
        case = _case(group, created=now - timedelta(days=i), deadline=now, decided=now, key=f"s{n}-{i}")
        Complaint.objects.create(case=case, category=Reason.choices[0][0])
        ScreeningEvidence.objects.create(action="block", original_text="x", normalised_text="x")
        NetworkLog.objects.create(occurred_at=now - timedelta(days=i), kind="http")
        Message.objects.create(group=group, sender=user, client_msg_id=f"s{n}-{i}", body="x")


def test_r5_1_dashboard_query_count_does_not_grow_with_data(group, member):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            dashboard.requirement_rows()
            dashboard_charts.trend_charts()
        return len(queries)

    _seed(group, member, 2)
    few = count()
    _seed(group, member, 60)
    assert count() == few


def test_r5_1_dashboard_permissions(client, group, member):
    url = reverse("compliance-dashboard")
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.login(username=member.username, password=PASSWORD)
    assert client.get(url).status_code == 403
    reviewer = _staff("rev", "reviewer")
    client.login(username=reviewer.username, password=PASSWORD)
    assert client.get(url).status_code == 403
    supervisor = _staff("sup", "supervisor")
    client.login(username=supervisor.username, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "R13.2" in body and "<svg" in body and 'href="' + url + '"' in body  # the staff menu links here


def test_r5_1_dashboard_page_is_cached_briefly(client, group):
    supervisor = _staff("sup", "supervisor")
    client.login(username=supervisor.username, password=PASSWORD)
    client.get(reverse("compliance-dashboard"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("compliance-dashboard")).status_code == 200
    assert len(queries) < 15, [q["sql"][:120] for q in queries.captured_queries]  # the figures are cached


def test_r7_2_row_asks_for_the_version_in_force_to_be_filed(db):
    from audit.services import audit_record
    from common.actors import Actor, Door
    from reports.filing import filing_version

    assert _rows()["R7.2"].status == dashboard.ATTENTION  # never downloaded
    system = Actor.system(door=Door.CLI)
    audit_record(actor=system, event_type="reports.filing_downloaded", data={"version": "00000000"})
    assert _rows()["R7.2"].status == dashboard.ATTENTION  # an older version only
    audit_record(actor=system, event_type="reports.filing_downloaded", data={"version": filing_version()})
    row = _rows()["R7.2"]
    assert row.status == dashboard.MET and _figure(row, "Version in force") == filing_version()


def test_r11_4_row_fails_when_a_measure_has_no_report(db, group, owner):
    """Nothing in the register is not "met" when a measure took effect and was never reported (the periodic
    job is not running): the row counts the measures without a report."""
    from moderation import services as moderation_services
    from moderation.models import Sanction
    from tests.moderation.conftest import SANCTION_PERMISSIONS, _compliance_user

    reviewer = _compliance_user("dash-reviewer", "审核员", *SANCTION_PERMISSIONS)
    sanction = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_posting",
        category="CONDUCT_FRAUD_SPAM",
        target_group=group,
        duration_hours=24,
    )
    assert _rows()["R11.4"].status == dashboard.MET  # just taken effect: the job has 15 minutes
    Sanction.objects.filter(pk=sanction.pk).update(starts_at=timezone.now() - timedelta(hours=1))
    row = _rows()["R11.4"]
    assert row.status == dashboard.FAILING and _figure(row, "Measures without a report") == "1"
