"""R11.4 under a regulator endpoint that is down for hours (issue 13): a local fake regulator refuses
connections, then answers 503, then does not answer in time, then receives a report but answers too late,
and finally comes back. The periodic task runs every quarter of an hour of a simulated clock (the clock is
``django.utils.timezone.now``, moved forward). Meanwhile the reports stay due (nothing delivered, nothing
dropped, attempts counted, the next attempt backed off up to its cap, the dashboard's R11.4 row asks for
attention); once the regulator is back every report is delivered exactly once (the regulator keeps one copy
per idempotency key, even of the report it received while the platform saw a timeout), in the order
generated, and the register shows them acknowledged.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from moderation import services as moderation_services
from reports import dashboard, tasks
from reports.models import UNDELIVERED, RegulatorReport, ReportKind, ReportState
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.faults.conftest import free_port
from tests.moderation.conftest import message, reporter, reviewer, supervisor  # noqa: F401
from tests.reports.conftest import measures, register_reviewer  # noqa: F401

TIMEOUT = 0.5  # REPORTS_HTTP_TIMEOUT in the test: a slow answer takes 4 times as long
CAP = 3600  # REPORTS_RETRY_MAX_SECONDS in the test: reached within the outage
STEP = timedelta(minutes=15)  # how often the periodic job runs on the simulated clock
# The regulator's state by hours since the outage began.
PHASES = [(2, "refused"), (4, "503"), (5.5, "slow"), (7, "received-then-slow")]
BACK_AT, END_AT = 7, 9


class FakeRegulator:
    """The authority's endpoint on 127.0.0.1 (a thread). Like a real receiver it keeps one copy per
    ``Idempotency-Key``: a report sent again is answered as acknowledged and counted as a replay."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/reports"
        self.mode = "refused"
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()
        self.stored: dict[str, dict] = {}  # key -> payload, in the order first received
        self.replays: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []  # (mode, key)
        regulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                mode = regulator.mode
                with regulator.lock:
                    regulator.requests.append((mode, key))
                    if mode in ("received-then-slow", "up"):
                        if key in regulator.stored:
                            regulator.replays[key] = regulator.replays.get(key, 0) + 1
                            assert regulator.stored[key] == json.loads(body)  # the same report, unchanged
                        else:
                            regulator.stored[key] = json.loads(body)
                if mode == "503":
                    return self._answer(503, {"error": "maintenance"})
                if mode in ("slow", "received-then-slow"):
                    time.sleep(TIMEOUT * 4)  # the platform has given up by now
                return self._answer(200, {"acknowledged": True, "receipt": f"R-{key[-24:]}"})

            def _answer(self, status, answer):
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the platform hung up (its timeout)

            def log_message(self, *args):
                pass

        self.handler = Handler

    def set(self, mode: str) -> None:
        if mode == "refused" and self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        elif mode != "refused" and self.server is None:
            ThreadingHTTPServer.allow_reuse_address = True
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
            self.server.daemon_threads = True
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.mode = mode

    def close(self) -> None:
        self.set("refused")


@pytest.fixture
def regulator(settings):
    fake = FakeRegulator()
    settings.REPORTS_ENDPOINT_URL = fake.url
    settings.REPORTS_HTTP_TIMEOUT = TIMEOUT
    settings.REPORTS_RETRY_BASE_SECONDS = 60
    settings.REPORTS_RETRY_MAX_SECONDS = CAP
    yield fake
    fake.close()


@pytest.fixture
def clock(monkeypatch):
    """The simulated clock: starts at the next 20:00 local time (the outage spans midnight, so a daily
    summary is generated during it), moved by ``clock.advance``."""

    class Clock:
        def __init__(self):
            local = timezone.localtime(timezone.now(), ZoneInfo(settings.TIME_ZONE))
            start = local.replace(hour=20, minute=0, second=0, microsecond=0)
            if start <= local:
                start += timedelta(days=1)
            self.start = self.now = start.astimezone(ZoneInfo("UTC"))
            monkeypatch.setattr(timezone, "now", lambda: self.now)

        def advance(self, delta: timedelta) -> datetime:
            self.now += delta
            return self.now

        @property
        def hours(self) -> float:
            return (self.now - self.start).total_seconds() / 3600

    return Clock()


def _phase(hours: float) -> str:
    for until, mode in PHASES:
        if hours < until:
            return mode
    return "up"


def _r11_4_status(now) -> str:
    return next(row.status for row in dashboard.requirement_rows(now) if row.id == "R11.4")


def test_r11_4_regulator_down_for_hours_reports_stay_due_then_arrive_once_in_order(
    db,
    measures,  # noqa: F811
    reviewer,  # noqa: F811
    regulator,
    clock,
    client,
    register_reviewer,  # noqa: F811
):
    waits: list[float] = []  # the probe's backoff after each failed attempt
    generated_during_outage: set[str] = set()
    seen: set[int] = set()
    while clock.hours < BACK_AT:
        mode = _phase(clock.hours)
        regulator.set(mode)
        if 3 <= clock.hours < 3 + STEP.total_seconds() / 3600:  # a new measure during the outage
            moderation_services.sanction_issue(
                actor=actor_for(reviewer),
                kind="user_mute",
                category="CONDUCT_FRAUD_SPAM",
                target_user=UserFactory(username="late-spammer"),
                note="停机期间的处置",
            )
        before = {r.pk: r.attempts for r in RegulatorReport.objects.all()}
        tasks.reports_generate_and_deliver()
        reports = list(RegulatorReport.objects.order_by("created_at", "pk"))
        assert seen <= {r.pk for r in reports}, "a report disappeared"
        seen = {r.pk for r in reports}
        if clock.hours > 0:
            generated_during_outage |= {r.idempotency_key for r in reports if r.pk not in before}
        assert all(r.state in UNDELIVERED for r in reports), "delivered while the regulator is down"
        tried = [r for r in reports if r.attempts > before.get(r.pk, 0)]
        for report in tried:
            assert report.state == ReportState.FAILED and report.last_error
            assert report.next_attempt_at > clock.now
            waits.append((report.next_attempt_at - clock.now).total_seconds())
        if clock.hours >= 1:
            assert _r11_4_status(clock.now) == dashboard.ATTENTION
        clock.advance(STEP)

    reports = list(RegulatorReport.objects.order_by("created_at", "pk"))
    keys = [r.idempotency_key for r in reports]
    # Reports were generated during the outage (the new measure, the day that closed at midnight).
    kinds = {r.kind for r in reports if r.idempotency_key in generated_during_outage}
    assert {ReportKind.MEASURE, ReportKind.DAILY} <= kinds
    # Every kind of failure was met, attempts were counted, and the backoff grew up to its cap, not beyond.
    modes = {mode for mode, _key in regulator.requests}
    assert {"503", "slow", "received-then-slow"} <= modes
    assert sum(r.attempts for r in reports) >= 6
    assert waits[0] == 60 and max(waits) == CAP and all(0 < wait <= CAP for wait in waits)
    # The regulator already holds the report whose answer came too late; the platform does not know it.
    assert regulator.stored, "no attempt reached the regulator while it answered too late"
    received_early = set(regulator.stored)

    # The regulator is back: the next runs deliver every report.
    regulator.set("up")
    while clock.hours < END_AT:
        tasks.reports_generate_and_deliver()
        clock.advance(STEP)
    reports = list(RegulatorReport.objects.order_by("created_at", "pk"))
    assert [r.idempotency_key for r in reports] == keys  # nothing new, nothing lost
    assert all(r.state == ReportState.ACKNOWLEDGED and r.acknowledged_at for r in reports)
    assert all(r.next_attempt_at is None and r.last_error == "" for r in reports)
    # Exactly once at the regulator, in the order generated; only the report it had already received
    # came again (same key, same payload), and it kept one copy.
    assert list(regulator.stored) == keys
    assert set(regulator.replays) <= received_early and all(n == 1 for n in regulator.replays.values())
    for report in reports:
        events = AuditEvent.objects.filter(target_id=str(report.pk))
        assert events.filter(event_type="reports.report_delivered").count() == 1
        assert events.filter(event_type="reports.report_delivery_failed").count() == report.attempts - 1
    # Nothing is sent again later.
    requests = len(regulator.requests)
    clock.advance(timedelta(hours=30))
    tasks.reports_generate_and_deliver()
    assert len(regulator.requests) == requests + (RegulatorReport.objects.count() - len(reports))
    assert _r11_4_status(clock.now) == dashboard.MET
    # The register shows them acknowledged, nothing waiting.
    client.force_login(register_reviewer)
    page = client.get(reverse("report-register"))
    assert page.status_code == 200
    for state in (ReportState.PENDING, ReportState.FAILED):
        assert client.get(reverse("report-register"), {"state": state}).context["page"].paginator.count == 0
