"""The compliance dashboard's measured rows (issue 12, continued): R8.3 (info pages of large groups), R8.1
with the effective member cap, R11.4's unacknowledged reports, R13.2's logging and sealing, the 95th
percentile shared with the regulator reports, and the measures chart counting only measures that took
effect. Each figure is compared with a hand count of seeded data."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import AuditEvent, ChainCheck, LogDigest, NetworkLog
from groups.models import ChatGroup, GroupCategory, GroupStatus, Membership, Message
from moderation.models import Sanction, SanctionStatus
from reports import dashboard, dashboard_charts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _row(rid: str, now=None):
    return next(row for row in dashboard.requirement_rows(now) if row.id == rid)


def _figure(row, label: str) -> str:
    return dict(row.figures)[label]


_users = iter(range(10_000))


def _group(name: str, members: int, *, category="social", status=GroupStatus.ACTIVE, cap=0, owner=True):
    """A group with ``members`` active members (the owner first, when it has one)."""
    creator = UserFactory(username=f"u{next(_users)}")
    group = ChatGroup.objects.create(
        name=name,
        created_by=creator,
        status=status,
        member_cap=cap,
        category=GroupCategory.objects.get(code=category) if category else None,
    )
    Membership.objects.create(group=group, user=creator, role="owner" if owner else "member")
    for _ in range(members - 1):
        Membership.objects.create(group=group, user=UserFactory(username=f"u{next(_users)}"))
    return group


# --- R8.3 ----------------------------------------------------------------------------------------------


def test_r8_3_large_groups_with_info_page_are_counted_by_hand(settings, client):
    settings.GROUP_INFO_PAGE_THRESHOLD = 3
    complete = _group("大群甲", 3)
    _group("大群乙", 5)
    _group("小群", 2)  # under the threshold
    _group("关闭的群", 4, status=GroupStatus.CLOSED)  # not active: no page
    row = _row("R8.3")
    assert _figure(row, "Active groups at or over it") == "2"  # by hand: 大群甲, 大群乙
    assert _figure(row, "With a complete info page") == "2 / 2"
    assert row.status == dashboard.MET
    page = client.get(reverse("group-info", kwargs={"code": complete.code}))
    assert page.status_code == 200 and "大群甲" in page.content.decode()


def test_r8_3_large_group_without_info_page_fails(settings):
    settings.GROUP_INFO_PAGE_THRESHOLD = 3
    _group("完整", 3)
    _group("无分类", 4, category=None)
    ownerless = _group("无群主", 4)
    Membership.objects.filter(group=ownerless, role="owner").update(left_at=timezone.now())  # 3 remain
    unnamed = _group("x", 3)
    ChatGroup.objects.filter(pk=unnamed.pk).update(name="")
    _group("小群", 2, category=None)  # under the threshold: not counted, whatever it lacks
    row = _row("R8.3")
    assert _figure(row, "Active groups at or over it") == "4"
    assert _figure(row, "With a complete info page") == "1 / 4"
    assert row.status == dashboard.FAILING
    assert "3 large groups" in row.reason
    assert "no name 1" in row.reason and "no category 1" in row.reason and "no owner 1" in row.reason


def test_r8_3_is_measured_now():
    row = _row("R8.3")
    assert "Not yet measured" not in row.reason and "R8.3" not in dashboard.NOT_YET_MEASURED
    assert row.status == dashboard.MET  # no group over the threshold


# --- R8.1 ----------------------------------------------------------------------------------------------


def test_r8_1_group_over_its_own_cap_below_category_max_fails(settings):
    category = GroupCategory.objects.get(code="social")
    assert category.max_size > 4
    _group("自有上限", 4, cap=5)  # under both
    assert _row("R8.1").status == dashboard.MET
    over = _group("超员", 4, cap=3)  # its own cap (3) is lower than the category's largest size
    row = _row("R8.1")
    assert row.status == dashboard.FAILING and _figure(row, "Groups above their cap") == "1"
    assert over.code in row.reason


def test_r8_1_category_max_applies_when_the_group_has_no_cap_of_its_own(settings):
    category = GroupCategory.objects.get(code="social")
    GroupCategory.objects.filter(pk=category.pk).update(max_size=3)
    _group("无自有上限", 4)  # member_cap 0: the category's 3 applies
    _group("在上限内", 3)
    row = _row("R8.1")
    assert row.status == dashboard.FAILING and _figure(row, "Groups above their cap") == "1"
    settings.GROUP_MAX_MEMBERS = 3
    _group("无分类", 4, category=None)  # the platform's largest size applies
    assert _figure(_row("R8.1"), "Groups above their cap") == "2"


# --- R11.4 ---------------------------------------------------------------------------------------------


def _report(source: str, state: str, *, delivered_ago: timedelta | None = None):
    from reports.models import RegulatorReport, ReportKind

    now = timezone.now()
    report = RegulatorReport.objects.create(
        kind=ReportKind.MEASURE, source=source, idempotency_key=f"k-{source}", state=state
    )
    if delivered_ago is not None:
        RegulatorReport.objects.filter(pk=report.pk).update(
            created_at=now - delivered_ago, delivered_at=now - delivered_ago
        )
    return report


def test_r11_4_delivered_but_unacknowledged_report_is_attention(settings):
    settings.REPORTS_ENDPOINT_URL = "https://127.0.0.1:9/reports"  # an endpoint acknowledges; a drop cannot
    _report("sanction:1", "acknowledged", delivered_ago=timedelta(days=5))
    _report("sanction:2", "delivered", delivered_ago=timedelta(hours=2))  # still within the 24 h
    row = _row("R11.4")
    assert row.status == dashboard.MET and _figure(row, "Delivered, not acknowledged in time") == "0"
    _report("sanction:3", "delivered", delivered_ago=timedelta(hours=30))
    row = _row("R11.4")
    assert row.status == dashboard.ATTENTION
    assert _figure(row, "Delivered, not acknowledged in time") == "1"
    assert "not acknowledged" in row.reason and "24 hours" in row.reason
    settings.REPORTS_ACK_OVERDUE_HOURS = 1  # the setting shortens the wait: both are late now
    row = _row("R11.4")
    assert _figure(row, "Delivered, not acknowledged in time") == "2" and "1 hours" in row.reason


def test_r11_4_a_directory_drop_is_never_waiting_for_an_acknowledgement(settings):
    settings.REPORTS_ENDPOINT_URL = ""
    _report("sanction:3", "delivered", delivered_ago=timedelta(hours=30))
    row = _row("R11.4")
    assert row.status == dashboard.MET
    assert _figure(row, "Delivered, not acknowledged in time") == "0"


# --- R13.2 ---------------------------------------------------------------------------------------------


def _log(ago: timedelta) -> NetworkLog:
    return NetworkLog.objects.create(occurred_at=timezone.now() - ago, kind="http")


def _seal(*, exported=True) -> None:
    """A digest over every log row so far (the tests check its lag, not its hash)."""
    first = NetworkLog.objects.order_by("pk").first()
    last = NetworkLog.objects.order_by("-pk").first()
    done = LogDigest.objects.order_by("-last_id").values_list("last_id", flat=True).first() or 0
    LogDigest.objects.create(
        first_id=max(first.pk, done + 1),
        last_id=last.pk,
        row_count=1,
        rows_hash="r" * 64,
        hash="h" * 64,
        exported_at=timezone.now() if exported else None,
    )


def test_r13_2_logging_stopped_while_messages_were_sent_fails(group, member):
    _log(timedelta(hours=3))
    _seal()
    ChainCheck.objects.create(ok=True)
    assert _row("R13.2").status == dashboard.MET  # quiet since: nobody was served
    Message.objects.create(group=group, sender=member, client_msg_id="no-log", body="没有日志")
    row = _row("R13.2")
    assert row.status == dashboard.FAILING and "Logging has stopped" in row.reason
    _log(timedelta(0))  # logging again: the message is covered
    _seal()
    assert _row("R13.2").status == dashboard.MET


def test_r13_2_sign_in_without_a_log_row_fails(owner):
    _log(timedelta(hours=1))
    _seal()
    ChainCheck.objects.create(ok=True)

    def sign_in(ago: timedelta) -> None:
        AuditEvent.objects.create(
            occurred_at=timezone.now() - ago, event_type="identity.login", actor_kind="member"
        )

    sign_in(timedelta(minutes=50))
    assert _row("R13.2").status == dashboard.MET  # 10 minutes after the newest log: within 15
    sign_in(timedelta(minutes=5))
    assert _row("R13.2").status == dashboard.FAILING


def test_r13_2_sealing_behind_is_attention_then_failing(settings):
    _log(timedelta(hours=2))
    _seal()
    ChainCheck.objects.create(ok=True)
    _log(timedelta(minutes=10))  # unsealed, but the job has 30 minutes
    assert _row("R13.2").status == dashboard.MET
    NetworkLog.objects.filter(pk=NetworkLog.objects.order_by("-pk").first().pk).update(
        occurred_at=timezone.now() - timedelta(minutes=45)
    )
    row = _row("R13.2")
    assert row.status == dashboard.ATTENTION and "sealing is behind" in row.reason
    assert _figure(row, "Oldest row waiting for a seal") == "0.8 h"
    settings.DASHBOARD_SEAL_LAG_FAILING_MINUTES = 40
    row = _row("R13.2")
    assert row.status == dashboard.FAILING and "sealing job is not running" in row.reason
    _seal(exported=False)
    LogDigest.objects.filter(exported_at__isnull=True).update(created_at=timezone.now() - timedelta(hours=1))
    row = _row("R13.2")
    assert row.status == dashboard.ATTENTION and "not yet exported" in row.reason


# --- R12.1: one percentile rule ------------------------------------------------------------------------


def test_r12_1_dashboard_p95_is_the_regulator_reports_rule():
    from reports.figures import nearest_rank

    hours = [timedelta(hours=h) for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 30)]
    expected = nearest_rank([h.total_seconds() for h in hours], 0.95)
    assert dashboard.duration_percentile(hours, 0.95) == timedelta(seconds=expected) == timedelta(hours=30)
    assert dashboard.duration_percentile([], 0.95) is None


# --- R11.1/R11.2 chart: only measures that took effect -------------------------------------------------


def test_r11_1_measures_chart_counts_only_measures_that_took_effect(group, member, owner):
    now = timezone.now()
    for status in (
        SanctionStatus.ACTIVE,
        SanctionStatus.EXPIRED,
        SanctionStatus.REVERSED,
        SanctionStatus.REFUSED,
        SanctionStatus.PENDING,
    ):
        took_effect = status not in (SanctionStatus.REFUSED, SanctionStatus.PENDING)
        Sanction.objects.create(
            kind="group_warning",
            target_group=group,
            category="CONDUCT_FRAUD_SPAM",
            status=status,
            starts_at=now - timedelta(days=1) if took_effect else None,
            decided_by=owner,
        )
    Sanction.objects.create(
        kind="user_mute",
        target_user=member,
        category="CONDUCT_FRAUD_SPAM",
        status=SanctionStatus.REFUSED,
        decided_by=owner,
    )
    chart = next(chart for chart in dashboard_charts.trend_charts(now) if chart.key == "measures")
    assert chart.summary == "Measures in 90 days: On groups 3, On users 0, Blacklisting 0."
