"""R11.4, review findings on the regulator report register: reversals are reported, the summaries' figures
and timing are right, takedowns are reported from the case's own record, keys name the deployment, payloads
are checked against the schema before signing, exports are safe in spreadsheets, refusals are audited, the
register pages, and the drop directory is durable."""

import csv
import io
import json
import logging
import os
import stat
from datetime import datetime, time, timedelta
from pathlib import Path

import jsonschema
import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from common.actors import Actor, Door
from common.policies import PolicyDenied
from groups import services as group_services
from moderation import services as moderation_services
from moderation.models import Case, CaseStatus, SanctionStatus
from moderation.selectors import ReportTarget
from reports import register_exports, services, signing
from reports.models import RegulatorReport, ReportKind, ReportState
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.moderation.conftest import later, reviewer2  # noqa: F401

SCHEMA = json.loads((Path(services.__file__).parent / "schema" / "regulator-report-1.json").read_text())
SYSTEM = Actor.system(door=Door.TASK)


def _validate(payload: dict) -> None:
    jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _tomorrow():
    return timezone.localdate() + timedelta(days=1)


def _mute(reviewer, member, note="刷屏"):
    return moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_mute",
        category="CONDUCT_FRAUD_SPAM",
        target_user=member,
        duration_hours=24,
        note=note,
    )


def _uphold(member, decider, sanction, note="证据不足，撤销处置"):
    appeal = moderation_services.appeal_file(actor=actor_for(member), sanction=sanction, text="误判")
    moderation_services.appeal_decide(actor=actor_for(decider), appeal=appeal, uphold=True, note=note)
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.REVERSED
    return appeal


# --- 1. reversals ---------------------------------------------------------------------------------------


def test_reversed_measure_is_reported_r11_4(db, reviewer, reviewer2, member):  # noqa: F811
    sanction = _mute(reviewer, member)
    services.reports_generate(actor=SYSTEM)
    original = RegulatorReport.objects.get(kind=ReportKind.MEASURE, source=f"sanction:{sanction.pk}")
    appeal = _uphold(member, reviewer2, sanction)

    created = services.reports_generate(actor=SYSTEM, today=_tomorrow())
    report = RegulatorReport.objects.get(kind=ReportKind.MEASURE, source=f"reversal:{sanction.pk}")
    assert report in created
    _validate(report.payload)
    assert signing.verify(report.payload, key_id=report.key_id, signature=report.signature)
    measure = report.payload["measure"]
    assert measure["reversal"] == sanction.pk and "sanction" not in measure
    assert measure["measure"] == "user_mute" and measure["article"] == "11(2)"  # what was reversed
    assert measure["target"]["user_id"] == member.pk
    reversed_ = measure["reversed"]
    assert reversed_["at"] == sanction.ended_at.isoformat()  # when
    assert reversed_["through"] == "appeal" and reversed_["appeal"] == appeal.pk
    assert reversed_["by"] == reviewer2.pk and reversed_["by_role"] == "reviewer"  # by whom: id and role
    assert "审核员乙" not in json.dumps(report.payload, ensure_ascii=False)  # never the name
    assert reversed_["reason"] == "证据不足，撤销处置"  # why
    assert reversed_["report"] == original.idempotency_key
    # The measure's own report is unchanged (as it took effect); one reversal report per measure.
    original.refresh_from_db()
    assert "reversed" not in original.payload["measure"]
    services.reports_generate(actor=SYSTEM, today=_tomorrow())
    assert RegulatorReport.objects.filter(source=f"reversal:{sanction.pk}").count() == 1
    # The day's summary counts the reversal.
    today = timezone.localdate()
    summary = RegulatorReport.objects.get(kind=ReportKind.DAILY, period_start=today).payload["summary"]
    assert summary["measures"]["reversed"] == 1
    assert summary["measures"]["reversed_by_measure"] == {"user_mute": 1}


def test_a_measure_reversed_before_its_report_gets_both_reports_in_order_r11_4(
    db,
    reviewer,
    reviewer2,  # noqa: F811
    member,
):
    sanction = _mute(reviewer, member)
    _uphold(member, reviewer2, sanction)
    created = [r.source for r in services.reports_generate(actor=SYSTEM) if r.kind == ReportKind.MEASURE]
    assert created == [f"sanction:{sanction.pk}", f"reversal:{sanction.pk}"]
    measure = RegulatorReport.objects.get(source=f"sanction:{sanction.pk}").payload["measure"]
    assert "reversed_at" not in measure  # the measure as it took effect


def test_a_reversed_measure_without_a_report_is_not_reported_as_reversed_alone_r11_4(
    db,
    reviewer,
    reviewer2,  # noqa: F811
    member,
):
    """A reversal follows its measure's report: never a reversal of something the authority never saw."""
    sanction = _mute(reviewer, member)
    _uphold(member, reviewer2, sanction)
    assert list(services._unreported_reversals()) == []
    assert services._unreported_measures().filter(pk=sanction.pk).exists()


# --- 2. overdue_open ------------------------------------------------------------------------------------


def _case(reporter, group, member, message, kind):
    target = {
        "message": ReportTarget("message", group, message, member),
        "member": ReportTarget("member", group, None, member),
        "group": ReportTarget("group", group, None, None),
    }[kind]
    return moderation_services.complaint_file(
        actor=actor_for(reporter), target=target, category="CONDUCT_FRAUD_SPAM"
    ).case


def test_overdue_open_counts_cases_still_undecided_at_the_period_end_r11_4(
    db, reporter, group, member, message
):
    today = timezone.localdate()
    until = services._aware(today + timedelta(days=1))
    now = timezone.now()
    late = _case(reporter, group, member, message, "message")  # overdue, decided after the period
    on_time = _case(reporter, group, member, message, "member")  # overdue, decided within the period
    open_not_due = _case(reporter, group, member, message, "group")  # open, deadline after the period
    Case.objects.filter(pk=late.pk).update(
        deadline=now - timedelta(minutes=1), status=CaseStatus.CLOSED, decided_at=until + timedelta(hours=1)
    )
    Case.objects.filter(pk=on_time.pk).update(
        deadline=now - timedelta(minutes=1), status=CaseStatus.CLOSED, decided_at=now
    )
    Case.objects.filter(pk=open_not_due.pk).update(deadline=until + timedelta(hours=2))
    services.reports_generate(actor=SYSTEM, today=today + timedelta(days=1))
    complaints = RegulatorReport.objects.get(kind=ReportKind.DAILY).payload["summary"]["complaints"]
    assert complaints["overdue_open"] == 1  # only the one still undecided when the day ended
    assert complaints["overdue_handled"] == 1


# --- 3. the grace period after midnight ------------------------------------------------------------------


def _at_local(monkeypatch, day, hour, minute):
    moment = timezone.make_aware(datetime.combine(day, time(hour, minute)), timezone.get_default_timezone())
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def test_a_day_is_summarised_only_after_the_grace_period_r11_4(db, monkeypatch, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    day = timezone.localdate() - timedelta(days=3)
    _at_local(monkeypatch, day, 0, 2)  # two minutes after local midnight: yesterday may still get rows
    services.reports_generate(actor=SYSTEM)
    days = list(RegulatorReport.objects.filter(kind=ReportKind.DAILY).values_list("period_start", flat=True))
    assert days == [day - timedelta(days=2)]  # the day before yesterday, not yesterday yet
    _at_local(monkeypatch, day, 0, 20)  # past the grace period
    services.reports_generate(actor=SYSTEM)
    days = RegulatorReport.objects.filter(kind=ReportKind.DAILY).order_by("period_start")
    assert [d.period_start for d in days] == [day - timedelta(days=2), day - timedelta(days=1)]


def test_the_grace_period_is_a_setting_r11_4(db, monkeypatch, settings):
    settings.REPORTS_SUMMARY_GRACE_SECONDS = 60
    day = timezone.localdate() - timedelta(days=3)
    _at_local(monkeypatch, day, 0, 2)
    services.reports_generate(actor=SYSTEM)  # a minute's grace: yesterday is closed at 00:02
    assert RegulatorReport.objects.get(kind=ReportKind.DAILY).period_start == day - timedelta(days=1)


# --- 4. takedowns recorded on the case --------------------------------------------------------------------


def _review_staff(reviewer):
    reviewer.user_permissions.add(Permission.objects.get(codename="review_message"))
    return type(reviewer).objects.get(pk=reviewer.pk)


def _illegal_complaint(group, member, reporter, client_msg_id="illegal-1"):
    illegal, _new = group_services.message_send(
        actor=actor_for(member), group=group, body="出售违禁物品", client_msg_id=client_msg_id
    )
    complaint = moderation_services.complaint_file(
        actor=actor_for(reporter),
        target=ReportTarget("message", group, illegal, member),
        category="ILL_OTHER",
    )
    return illegal, complaint.case


def test_takedown_is_recorded_on_the_case_and_reported_from_it_r11_4(db, reviewer, group, member, reporter):
    reviewer = _review_staff(reviewer)
    illegal, case = _illegal_complaint(group, member, reporter)
    moderation_services.case_close(
        actor=actor_for(reviewer), case=case, outcome="违法信息，已删除", remove_message=True
    )
    case.refresh_from_db()
    assert case.takedown_at is not None and case.takedown_at == case.decided_at
    services.reports_generate(actor=SYSTEM, today=_tomorrow())
    report = RegulatorReport.objects.get(source=f"takedown:{illegal.pk}")
    _validate(report.payload)
    assert report.payload["measure"]["starts_at"] == case.takedown_at.isoformat()
    assert report.payload["measure"]["explanation"] == "违法信息，已删除"


def test_a_message_removed_apart_from_the_decision_is_not_reported_as_its_takedown_r11_4(
    db, reviewer, group, member, reporter
):
    """The same staff member took the message down by itself, then closed the case without removing it:
    the decision took nothing down (the old guess, removed_by == decided_by, said it did)."""
    reviewer = _review_staff(reviewer)
    illegal, case = _illegal_complaint(group, member, reporter)
    group_services.message_takedown(actor=actor_for(reviewer), message=illegal, reason="另行处理")
    moderation_services.case_close(actor=actor_for(reviewer), case=case, outcome="已另行处理")
    case.refresh_from_db()
    assert case.takedown_at is None
    services.reports_generate(actor=SYSTEM, today=_tomorrow())
    assert not RegulatorReport.objects.filter(source=f"takedown:{illegal.pk}").exists()
    summary = RegulatorReport.objects.get(kind=ReportKind.DAILY).payload["summary"]
    assert "message_takedown" not in summary["measures"]["by_measure"]


# --- 5. the instance id in the idempotency key ------------------------------------------------------------


def test_idempotency_key_carries_the_instance_id_r11_4(db, reviewer, member, settings):
    settings.REPORTS_INSTANCE_ID = "shanghai-2"
    sanction = _mute(reviewer, member)
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.get(source=f"sanction:{sanction.pk}")
    assert report.idempotency_key == f"qunzu-shanghai-2-measure-sanction-{sanction.pk}"
    assert report.payload["report_id"] == report.idempotency_key
    assert report.payload["platform"] == {"name": "qunzu", "instance": "shanghai-2"}
    _validate(report.payload)
    # Existing rows keep their keys when the instance id changes; nothing is generated again.
    settings.REPORTS_INSTANCE_ID = "beijing-1"
    services.reports_generate(actor=SYSTEM)
    report.refresh_from_db()
    assert report.idempotency_key == f"qunzu-shanghai-2-measure-sanction-{sanction.pk}"
    assert RegulatorReport.objects.filter(kind=ReportKind.MEASURE).count() == 1


def test_instance_id_defaults_and_is_validated_r11_4(settings, monkeypatch):
    settings.REPORTS_INSTANCE_ID = ""
    monkeypatch.delenv("REPORTS_INSTANCE_ID", raising=False)
    assert services._idempotency_key("measure", "sanction:7") == "qunzu-default-measure-sanction-7"
    monkeypatch.setenv("REPORTS_INSTANCE_ID", "from-env")
    assert services._idempotency_key("daily", "daily:2026-12-01") == "qunzu-from-env-daily-daily-2026-12-01"
    settings.REPORTS_INSTANCE_ID = "Not Valid!"
    with pytest.raises(ImproperlyConfigured):
        services._idempotency_key("measure", "sanction:7")


# --- 6. NOT EXISTS instead of NOT IN over a Concat ---------------------------------------------------------


def test_unreported_selections_use_not_exists_subqueries_r11_4(db):
    for name in ("_unreported_measures", "_unreported_takedowns", "_unreported_reversals"):
        sql = str(getattr(services, name)().query).upper()
        assert "NOT EXISTS" in sql, name
        assert " NOT IN " not in sql and " IN (SELECT" not in sql, name


# --- 7. schema validation before signing ------------------------------------------------------------------


def test_a_payload_failing_the_schema_is_logged_and_neither_signed_nor_sent_r11_4(
    db, reviewer, member, monkeypatch, caplog, drop_dir
):
    sanction = _mute(reviewer, member)
    monkeypatch.setattr(services, "_measure_body", lambda s: {"measure": {"sanction": str(s.pk)}})
    signed = []
    real_sign = signing.sign
    monkeypatch.setattr(
        signing, "sign", lambda payload: signed.append(payload["source"]) or real_sign(payload)
    )
    with caplog.at_level(logging.ERROR, logger="reports.services"):
        created = services.reports_generate(actor=SYSTEM)
    assert not RegulatorReport.objects.filter(source=f"sanction:{sanction.pk}").exists()
    assert f"sanction:{sanction.pk}" not in signed
    assert all(r.source != f"sanction:{sanction.pk}" for r in created)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and f"sanction:{sanction.pk}" in errors[0].getMessage()
    services.reports_deliver_due(actor=SYSTEM)
    assert not list(drop_dir.glob(f"*sanction-{sanction.pk}.json"))  # nothing sent


# --- 8. CSV injection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_led_by_a_formula_or_control_character_are_text_r11_4(lead):
    assert register_exports.csv_safe(f"{lead}1+1") == f"'{lead}1+1"
    assert register_exports.csv_safe("刷单 =1") == "刷单 =1"


def test_csv_export_escapes_values_and_field_names_r11_4():
    report = RegulatorReport(
        kind=ReportKind.MEASURE,
        payload={"=cmd": "\rx", "measure": {"explanation": "\t=HYPERLINK(1)", "points": -5}},
        key_id="k1",
        signature="ab",
    )
    rows = list(csv.reader(io.StringIO(register_exports.report_csv(report).decode("utf-8-sig"))))
    cells = dict(rows[1:])
    assert cells["measure.explanation"] == "'\t=HYPERLINK(1)"
    assert cells["'=cmd"] == "'\rx"
    assert cells["measure.points"] == "'-5"
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(register_exports.FORMULA_LEADS)


# --- 10. refused redelivery and export are audited ----------------------------------------------------------


def test_denied_redeliver_and_export_are_audited_r11_4(
    client, db, member, register_reviewer, reviewer, drop_dir
):
    _mute(reviewer, member)
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind=ReportKind.MEASURE).first()
    client.force_login(register_reviewer)
    assert client.post(reverse("report-redeliver", args=[report.pk])).status_code == 403
    event = AuditEvent.objects.get(event_type="reports.report_redeliver_denied")
    assert event.actor_id == register_reviewer.pk and event.data["report"] == str(report.pk)
    assert event.data["code"] == "not_allowed"
    report.refresh_from_db()
    assert report.attempts == 0
    client.force_login(member)
    assert client.get(reverse("report-download", args=[report.pk, "csv"])).status_code == 403
    event = AuditEvent.objects.get(event_type="reports.report_export_denied")
    assert event.actor_id == member.pk and event.data["report"] == str(report.pk)
    assert not AuditEvent.objects.filter(event_type="reports.report_exported").exists()
    # A refused id that does not exist is still refused (403, not 404) and audited.
    assert client.post(reverse("report-redeliver", args=[999999])).status_code == 403
    assert AuditEvent.objects.filter(event_type="reports.report_redeliver_denied").count() == 2
    # Through the service too.
    with pytest.raises(PolicyDenied):
        services.report_export(actor=actor_for(member), report=report, fmt="json")
    assert AuditEvent.objects.filter(event_type="reports.report_export_denied").count() == 2


# --- 11. indexes for date ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "name", "columns"),
    [
        ("moderation_case", "moderation_case_decided", ["decided_at"]),
        ("audit_auditevent", "audit_event_type_time", ["event_type", "occurred_at"]),
        ("groups_joinrequest", "groups_joinrequest_created", ["created_at"]),
        ("groups_message", "groups_message_created", ["created_at"]),
    ],
)
def test_date_range_queries_have_indexes_r11_4(db, table, name, columns):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert name in constraints and constraints[name]["index"]
    assert constraints[name]["columns"] == columns


# --- 12. paging ---------------------------------------------------------------------------------------------


def _daily_reports(count: int, state=ReportState.PENDING):
    start = timezone.localdate() - timedelta(days=count + 10)
    RegulatorReport.objects.bulk_create(
        RegulatorReport(
            kind=ReportKind.DAILY,
            source=f"daily:{start + timedelta(days=n)}",
            idempotency_key=f"qunzu-test-daily-{n}",
            period_start=start + timedelta(days=n),
            period_end=start + timedelta(days=n),
            payload={},
            format_version="1",
            key_id="k1",
            signature="00",
            state=state,
        )
        for n in range(count)
    )


def test_register_pages_through_every_report_keeping_the_filters_r11_4(client, db, register_reviewer):
    from reports.views_register import PAGE_SIZE

    _daily_reports(PAGE_SIZE * 2 + 5)
    _daily_reports_delivered = RegulatorReport(
        kind=ReportKind.MEASURE,
        source="sanction:1",
        idempotency_key="qunzu-test-measure-1",
        payload={},
        format_version="1",
        key_id="k1",
        signature="00",
        state=ReportState.DELIVERED,
    )
    _daily_reports_delivered.save()
    client.force_login(register_reviewer)
    url = reverse("report-register")
    first = client.get(url, {"state": "pending", "kind": "daily"})
    assert first.status_code == 200
    assert len(first.context["reports"]) == PAGE_SIZE
    html = first.content.decode()
    assert "第 1 / 3 页" in html
    assert 'href="?state=pending&amp;kind=daily&amp;page=2"' in html
    last = client.get(url, {"state": "pending", "kind": "daily", "page": "3"})
    assert len(last.context["reports"]) == 5
    assert 'href="?state=pending&amp;kind=daily&amp;page=2"' in last.content.decode()
    seen = set()
    for number in (1, 2, 3):
        page = client.get(url, {"state": "pending", "kind": "daily", "page": str(number)})
        seen |= {r.pk for r in page.context["reports"]}
    assert len(seen) == PAGE_SIZE * 2 + 5  # every report reachable, none twice
    assert client.get(url, {"page": "nonsense"}).status_code == 200


# --- 13. the drop directory ---------------------------------------------------------------------------------


def test_drop_files_are_0640_and_the_directory_is_synced_after_the_rename_r11_4(
    db, reviewer, member, drop_dir, monkeypatch
):
    from reports import delivery

    _mute(reviewer, member)
    services.reports_generate(actor=SYSTEM)
    synced = []
    real_fsync = os.fsync
    real_replace = os.replace
    replaced = []

    def fsync(fd):
        synced.append(("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file", len(replaced)))
        return real_fsync(fd)

    def replace(src, dst):
        replaced.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(delivery.os, "fsync", fsync)
    monkeypatch.setattr(delivery.os, "replace", replace)
    report = RegulatorReport.objects.filter(kind=ReportKind.MEASURE).first()
    done = services.report_deliver(actor=SYSTEM, report=report)
    assert done.state == ReportState.DELIVERED
    written = drop_dir / f"{report.idempotency_key}.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert ("file", 0) in synced  # the file before the rename
    assert ("dir", 1) in synced  # the directory after it


# --- 14. the admin is read-only -----------------------------------------------------------------------------


def test_admin_shows_reports_read_only_r11_4(client, db, reviewer, member):
    _mute(reviewer, member)
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind=ReportKind.MEASURE).first()
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:reports_regulatorreport_change", args=[report.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(url, {"state": "acknowledged", "acknowledgement": "forged", "attempts": "9"})
    assert response.status_code == 403
    assert client.get(reverse("admin:reports_regulatorreport_add")).status_code == 403
    assert client.post(reverse("admin:reports_regulatorreport_delete", args=[report.pk])).status_code == 403
    changelist = client.post(
        reverse("admin:reports_regulatorreport_changelist"),
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302, 403)
    report.refresh_from_db()
    assert report.state == ReportState.PENDING and report.acknowledgement == "" and report.attempts == 0
