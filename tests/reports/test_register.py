"""R11.4: every reportable measure and every closed period is reported to the competent authority: a
frozen, signed report per source, delivered (directory drop or HTTPS POST with an idempotency key) until it
is received, and a register where compliance staff see, download and redeliver them."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from common.actors import Actor, Door
from common.policies import PolicyDenied
from reports import services, signing, tasks
from reports.delivery import document
from reports.models import RegulatorReport, ReportKind, ReportState
from tests.conftest import actor_for
from tests.moderation.conftest import later  # noqa: F401

SCHEMA = json.loads((Path(services.__file__).parent / "schema" / "regulator-report-1.json").read_text())
SYSTEM = Actor.system(door=Door.TASK)


def _validate(payload: dict) -> None:
    jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _measure_reports():
    return {r.payload["measure"]["sanction"]: r for r in RegulatorReport.objects.filter(kind="measure")}


def test_r11_4_every_measure_that_took_effect_gets_one_signed_report(db, measures):
    created = services.reports_generate(actor=SYSTEM)
    reports = _measure_reports()
    took_effect = {measures[name].pk for name in ("suspension", "mute", "blacklist")}
    assert set(reports) == took_effect  # the closure still waiting for approval is not reported yet
    assert len([r for r in created if r.kind == "measure"]) == 3
    by_kind = {r.payload["measure"]["measure"]: r for r in reports.values()}
    assert by_kind["group_posting"].payload["measure"]["article"] == "11(1)"
    assert by_kind["user_mute"].payload["measure"]["requirement"] == "R11.2"
    assert by_kind["user_mute"].payload["measure"]["complaints"] == 1
    assert by_kind["blacklist"].payload["measure"]["blacklist_role"] == "member"
    assert by_kind["blacklist"].payload["measure"]["approved_by"] is not None
    for report in reports.values():
        _validate(report.payload)
        assert report.state == ReportState.PENDING and report.next_attempt_at is not None
        assert (
            report.idempotency_key
            == f"qunzu-default-measure-sanction-{report.payload['measure']['sanction']}"
        )
        assert signing.verify(report.payload, key_id=report.key_id, signature=report.signature)
    assert AuditEvent.objects.filter(event_type="reports.report_generated").count() == len(created)
    # Idempotent: a second run makes nothing new.
    assert [r for r in services.reports_generate(actor=SYSTEM) if r.kind == "measure"] == []
    assert RegulatorReport.objects.filter(kind="measure").count() == 3


def test_r11_4_a_tampered_payload_or_unknown_key_fails_verification(db, measures, settings):
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    tampered = json.loads(json.dumps(report.payload))
    tampered["measure"]["category"] = "ILL_OTHER" if tampered["measure"]["category"] != "ILL_OTHER" else "X"
    assert not signing.verify(tampered, key_id=report.key_id, signature=report.signature)
    assert not signing.verify(report.payload, key_id="unknown", signature=report.signature)
    # A rotated key: the new one signs, the old one still verifies what it signed.
    settings.REPORTS_SIGNING_KEYS = f"k2:another-secret,{settings.REPORTS_SIGNING_KEYS}"
    assert signing.verify(report.payload, key_id=report.key_id, signature=report.signature)
    assert signing.sign(report.payload)[0] == "k2"


def test_r11_4_period_summaries_count_measures_complaints_and_handling(db, measures):
    today = timezone.localdate()
    services.reports_generate(actor=SYSTEM, today=today + timedelta(days=1))
    daily = RegulatorReport.objects.get(kind="daily")
    assert daily.source == f"daily:{today.isoformat()}" and daily.period_start == daily.period_end == today
    summary = daily.payload["summary"]
    _validate(daily.payload)
    assert summary["measures"]["total"] == 3
    assert summary["measures"]["by_article"] == {"11(1)": 1, "11(2)": 1, "11(3)": 1}
    assert summary["measures"]["by_category"] == {"CONDUCT_FRAUD_SPAM": 2, "ILL_OTHER": 1}
    assert summary["complaints"]["received"] == 1 and summary["complaints"]["cases_handled"] == 1
    assert summary["complaints"]["handling_seconds_median"] is not None
    assert summary["complaints"]["overdue_handled"] == 0 and summary["complaints"]["overdue_open"] == 0
    # The week and the month that contain today, once they are closed; the days between are caught up.
    next_monday = today + timedelta(days=7 - today.weekday())
    services.reports_generate(actor=SYSTEM, today=next_monday)
    weekly = RegulatorReport.objects.get(kind="weekly", period_start__lte=today, period_end__gte=today)
    assert weekly.period_start == next_monday - timedelta(days=7) <= today <= weekly.period_end
    assert weekly.payload["summary"]["measures"]["total"] == 3
    month_after = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    services.reports_generate(actor=SYSTEM, today=month_after)
    monthly = RegulatorReport.objects.get(kind="monthly", period_start__lte=today, period_end__gte=today)
    assert monthly.period_start == today.replace(day=1) and monthly.period_end == month_after - timedelta(
        days=1
    )
    assert monthly.payload["summary"]["complaints"]["received"] == 1
    days = RegulatorReport.objects.filter(kind="daily").order_by("period_start")
    starts = [d.period_start for d in days]
    assert starts == [today + timedelta(days=n) for n in range(len(starts))]  # no day missing
    assert starts[-1] == max(next_monday, month_after) - timedelta(days=1)
    for report in RegulatorReport.objects.exclude(kind="measure"):
        _validate(report.payload)
        assert signing.verify(report.payload, key_id=report.key_id, signature=report.signature)
    # Idempotent per period.
    count = RegulatorReport.objects.count()
    services.reports_generate(actor=SYSTEM, today=month_after)
    assert RegulatorReport.objects.count() == count


def test_r11_4_directory_drop_writes_the_signed_document_atomically(db, measures, drop_dir):
    services.reports_generate(actor=SYSTEM)
    outcome = services.reports_deliver_due(actor=SYSTEM)
    reports = list(RegulatorReport.objects.all())
    assert outcome["delivered"] == len(reports) and outcome["failed"] == 0
    files = sorted(p.name for p in drop_dir.iterdir())
    assert files == sorted(f"{r.idempotency_key}.json" for r in reports)  # no temporary file left
    for report in reports:
        assert report.state == ReportState.DELIVERED and report.delivered_at is not None
        written = json.loads((drop_dir / f"{report.idempotency_key}.json").read_text(encoding="utf-8"))
        assert written == json.loads(json.dumps(document(report)))
        assert signing.verify(
            written["payload"], key_id=written["signature"]["key_id"], signature=written["signature"]["value"]
        )
    assert services.reports_deliver_due(actor=SYSTEM)["attempted"] == 0  # delivered once


def test_r11_4_an_unwritable_drop_leaves_the_report_due(db, measures, settings, tmp_path, later):  # noqa: F811
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.REPORTS_ENDPOINT_URL = ""
    settings.REPORTS_DROP_DIR = str(blocker / "drop")
    services.reports_generate(actor=SYSTEM)
    services.reports_deliver_due(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    assert report.state == ReportState.FAILED and report.attempts == 1 and report.last_error
    assert report.next_attempt_at > timezone.now()
    settings.REPORTS_DROP_DIR = str(tmp_path / "drop")
    later(hours=1)
    services.reports_deliver_due(actor=SYSTEM)
    report.refresh_from_db()
    assert report.state == ReportState.DELIVERED and report.attempts == 2 and report.last_error == ""


def test_r11_4_https_delivery_fails_times_out_then_is_acknowledged_exactly_once(
    db,
    measures,
    receiver_factory,
    later,  # noqa: F811
):
    receiver = receiver_factory(
        [(500, {"error": "busy"}), "timeout", (200, {"acknowledged": True, "receipt": "R-1"})]
    )
    services.reports_generate(actor=SYSTEM)
    RegulatorReport.objects.exclude(pk=_measure_reports()[measures["mute"].pk].pk).delete()
    report = RegulatorReport.objects.get()

    assert services.reports_deliver_due(actor=SYSTEM) == {"attempted": 1, "delivered": 0, "failed": 1}
    report.refresh_from_db()
    assert report.state == ReportState.FAILED and report.last_error == "HTTP 500"
    first_retry = report.next_attempt_at
    assert services.reports_deliver_due(actor=SYSTEM)["attempted"] == 0  # not due before its backoff

    later(seconds=(first_retry - timezone.now()).total_seconds() + 1)
    assert services.reports_deliver_due(actor=SYSTEM)["failed"] == 1  # the timeout
    report.refresh_from_db()
    assert report.state == ReportState.FAILED and report.attempts == 2
    assert "timed out" in report.last_error.lower() or "timeout" in report.last_error.lower()
    assert report.next_attempt_at - timezone.now() > first_retry - report.created_at  # backoff doubled

    later(hours=1)
    assert services.reports_deliver_due(actor=SYSTEM)["delivered"] == 1
    report.refresh_from_db()
    assert report.state == ReportState.ACKNOWLEDGED and report.attempts == 3
    assert report.acknowledgement == "R-1" and report.acknowledged_at and report.next_attempt_at is None

    later(hours=30)
    assert services.reports_deliver_due(actor=SYSTEM)["attempted"] == 0
    assert len(receiver.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {report.idempotency_key}
    assert receiver.accepted == {report.idempotency_key: 1}
    for request in receiver.requests:
        payload = json.loads(request["body"])
        assert payload == report.payload
        sig = dict(part.split("=", 1) for part in request["headers"]["X-Report-Signature"].split(";"))
        assert sig["alg"] == "HMAC-SHA256" and signing.verify(
            payload, key_id=sig["kid"], signature=sig["sig"]
        )
    events = AuditEvent.objects.filter(target_id=str(report.pk))
    assert events.filter(event_type="reports.report_delivered").count() == 1
    assert events.filter(event_type="reports.report_delivery_failed").count() == 2


def test_r11_4_a_2xx_without_acknowledgement_is_delivered(db, measures, receiver_factory):
    receiver_factory([(202, None)] * 10)
    services.reports_generate(actor=SYSTEM)
    services.reports_deliver_due(actor=SYSTEM)
    assert set(RegulatorReport.objects.values_list("state", flat=True)) == {ReportState.DELIVERED}


def test_r11_4_a_redirect_or_a_malformed_answer_fails_the_attempt_and_the_run_goes_on(
    db, measures, receiver_factory
):
    """A redirect is never followed (it would become a bodyless GET elsewhere, and look delivered); an
    answer that is not HTTP fails its attempt; neither stops the run, and both reports stay due."""
    receiver = receiver_factory(["redirect", "garbage"])
    services.reports_generate(actor=SYSTEM)
    keep = list(RegulatorReport.objects.order_by("pk").values_list("pk", flat=True)[:2])
    RegulatorReport.objects.exclude(pk__in=keep).delete()
    assert services.reports_deliver_due(actor=SYSTEM) == {"attempted": 2, "delivered": 0, "failed": 2}
    assert set(RegulatorReport.objects.values_list("state", flat=True)) == {ReportState.FAILED}
    errors = sorted(RegulatorReport.objects.values_list("last_error", flat=True))
    assert errors[0] == "HTTP 302" and errors[1]
    assert [r["step"] for r in receiver.requests] == ["redirect", "garbage"]  # no GET followed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://regulator.example.cn/reports", True),
        ("http://127.0.0.1:8080/reports", True),
        ("http://localhost/reports", True),
        ("http://regulator.example.cn/reports", False),
        ("http://user@regulator.example.cn/reports", False),
        ("file:///etc/passwd", False),
        ("https:///nohost", False),
    ],
)
def test_r11_4_reports_go_over_https_only_plain_http_to_this_machine(url, allowed):
    from reports.delivery import endpoint_allowed

    assert endpoint_allowed(url) is allowed


def test_r11_4_periodic_task_generates_and_delivers(db, measures, drop_dir):
    outcome = tasks.reports_generate_and_deliver.delay().get()
    assert outcome["generated"] == RegulatorReport.objects.count() >= 3
    assert not RegulatorReport.objects.exclude(state=ReportState.DELIVERED).exists()
    event = AuditEvent.objects.filter(event_type="reports.report_delivered").first()
    assert event.actor_kind == "system"


def test_r11_4_only_the_system_or_a_supervisor_runs_reports(db, register_reviewer, register_supervisor):
    with pytest.raises(PolicyDenied):
        services.reports_generate(actor=actor_for(register_reviewer))
    assert services.reports_generate(actor=actor_for(register_supervisor)) is not None


# --- the register page ----------------------------------------------------------------------------------


def test_r11_4_register_is_for_compliance_staff(client, db, member, register_reviewer, measures, drop_dir):
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    url = reverse("report-register")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(member)
    assert client.get(url).status_code == 403
    assert client.get(reverse("report-download", args=[report.pk, "json"])).status_code == 403
    assert client.post(reverse("report-redeliver", args=[report.pk])).status_code == 403
    client.force_login(register_reviewer)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert report.idempotency_key in html and "report-oldest" in html
    assert reverse("report-register") in html  # the staff menu links the register
    assert reverse("report-redeliver", args=[report.pk]) not in html
    # Only a supervisor redelivers.
    assert client.post(reverse("report-redeliver", args=[report.pk])).status_code == 403


def test_r11_4_register_filters_and_shows_the_oldest_undelivered(client, db, register_reviewer, measures):
    services.reports_generate(actor=SYSTEM)
    oldest = RegulatorReport.objects.order_by("created_at", "pk").first()
    client.force_login(register_reviewer)
    page = client.get(reverse("report-register"), {"state": "pending", "kind": "measure"})
    assert page.status_code == 200
    assert page.context["oldest"] == oldest
    assert {r.kind for r in page.context["reports"]} == {"measure"}
    assert client.get(reverse("report-register"), {"state": "nonsense"}).status_code == 200


def test_r11_4_downloads_json_csv_and_pdf(client, db, register_reviewer, measures):
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    client.force_login(register_reviewer)
    as_json = client.get(reverse("report-download", args=[report.pk, "json"]))
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/json")
    body = json.loads(as_json.content)
    assert signing.verify(
        body["payload"], key_id=body["signature"]["key_id"], signature=body["signature"]["value"]
    )
    assert f"sig={report.signature}" in as_json["X-Report-Signature"]
    as_csv = client.get(reverse("report-download", args=[report.pk, "csv"]))
    text = as_csv.content.decode("utf-8-sig")
    assert as_csv.status_code == 200 and text.startswith("field,value")
    assert f"signature.value,{report.signature}" in text and "measure.article" in text
    as_pdf = client.get(reverse("report-download", args=[report.pk, "pdf"]))
    assert as_pdf.status_code == 200 and as_pdf.content.startswith(b"%PDF")
    assert client.get(reverse("report-download", args=[report.pk, "xml"])).status_code == 404
    assert client.get(reverse("report-download", args=[999999, "json"])).status_code == 404
    assert AuditEvent.objects.filter(event_type="reports.report_exported").count() == 3


def test_r11_4_a_supervisor_redelivers(client, db, register_supervisor, measures, drop_dir):
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    client.force_login(register_supervisor)
    assert (
        reverse("report-redeliver", args=[report.pk])
        in client.get(reverse("report-register")).content.decode()
    )
    response = client.post(reverse("report-redeliver", args=[report.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("report-register")
    report.refresh_from_db()
    assert report.state == ReportState.DELIVERED and report.attempts == 1
    assert (drop_dir / f"{report.idempotency_key}.json").exists()
    event = AuditEvent.objects.get(event_type="reports.report_delivered", target_id=str(report.pk))
    assert event.actor_id == register_supervisor.pk and event.data["redelivery"] is True
    assert client.post(reverse("report-redeliver", args=[999999])).status_code == 404
    assert client.get(reverse("report-redeliver", args=[report.pk])).status_code == 405
    assert report.kind == ReportKind.MEASURE


def test_r11_4_the_periodic_job_is_scheduled(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "reports.reports_generate_and_deliver" in scheduled


def test_r11_4_a_failed_redelivery_says_so_and_the_report_stays_due(
    client, db, register_supervisor, measures, receiver_factory
):
    receiver_factory([(500, None)])
    services.reports_generate(actor=SYSTEM)
    report = RegulatorReport.objects.filter(kind="measure").first()
    client.force_login(register_supervisor)
    page = client.post(reverse("report-redeliver", args=[report.pk]), follow=True).content.decode()
    assert "报送失败" in page and "HTTP 500" in page
    report.refresh_from_db()
    assert report.state == ReportState.FAILED and report.next_attempt_at > timezone.now()
    assert "报送登记" in page and "最早的未送达报送" in page


def test_r11_4_removal_of_illegal_content_is_reported_and_counted(db, reviewer, group, member, reporter):
    from django.contrib.auth.models import Permission

    from groups import services as group_services
    from moderation import services as moderation_services
    from moderation.selectors import ReportTarget

    reviewer.user_permissions.add(Permission.objects.get(codename="review_message"))
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)
    illegal, _new = group_services.message_send(
        actor=actor_for(member), group=group, body="出售违禁物品", client_msg_id="illegal-1"
    )
    complaint = moderation_services.complaint_file(
        actor=actor_for(reporter),
        target=ReportTarget("message", group, illegal, member),
        category="ILL_OTHER",
    )
    assert complaint.case.category_kind == "illegal"
    moderation_services.case_close(
        actor=actor_for(reviewer), case=complaint.case, outcome="违法信息，已删除", remove_message=True
    )
    services.reports_generate(actor=SYSTEM, today=timezone.localdate() + timedelta(days=1))
    report = RegulatorReport.objects.get(kind="measure", source=f"takedown:{illegal.pk}")
    _validate(report.payload)
    measure = report.payload["measure"]
    assert measure["measure"] == "message_takedown" and measure["target"]["message_seq"] == illegal.seq
    assert measure["case"] == complaint.case.pk and measure["category"] == "ILL_OTHER"
    assert signing.verify(report.payload, key_id=report.key_id, signature=report.signature)
    daily = RegulatorReport.objects.get(kind="daily")
    assert daily.payload["summary"]["measures"]["by_measure"] == {"message_takedown": 1}
    assert daily.payload["summary"]["measures"]["total"] == 1
    services.reports_generate(actor=SYSTEM)
    assert RegulatorReport.objects.filter(source=f"takedown:{illegal.pk}").count() == 1
