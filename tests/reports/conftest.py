"""Fixtures of the regulator report register (R11.4): real measures decided through moderation's services,
compliance staff in the reviewer and supervisor roles, and a local HTTP receiver."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group, Permission

from moderation import services as moderation_services
from moderation.selectors import ReportTarget
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.moderation.conftest import message, reporter, reviewer, supervisor  # noqa: F401

ROLE_PERMISSIONS = {
    "reviewer": ["view_regulatorreport"],
    "supervisor": ["view_regulatorreport", "redeliver_regulatorreport"],
}


def register_staff(username: str, role: str):
    """Compliance staff in the role (its report permissions are those of reports' migration 0002, added
    again in case a transactional test's flush removed the role)."""
    group, _created = Group.objects.get_or_create(name=role)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="reports", codename__in=ROLE_PERMISSIONS[role])
    )
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(group)
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def register_reviewer(db):
    return register_staff("reg-reviewer", "reviewer")


@pytest.fixture
def register_supervisor(db):
    return register_staff("reg-supervisor", "supervisor")


@pytest.fixture
def drop_dir(settings, tmp_path):
    settings.REPORTS_ENDPOINT_URL = ""
    settings.REPORTS_DROP_DIR = str(tmp_path / "drop")
    return tmp_path / "drop"


@pytest.fixture
def measures(reviewer, supervisor, group, member, reporter, message):  # noqa: F811
    """Three measures that took effect (posting suspended in the group, the member muted, the reporter
    blacklisted with a supervisor's approval) and one still waiting for approval (not reportable yet)."""
    complaint = moderation_services.complaint_file(
        actor=actor_for(reporter),
        target=ReportTarget("message", group, message, member),
        category="CONDUCT_FRAUD_SPAM",
    )
    suspension = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_posting",
        category="CONDUCT_FRAUD_SPAM",
        target_group=group,
        duration_hours=24,
        note="群内大量刷单广告",
    )
    mute = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_mute",
        category="CONDUCT_FRAUD_SPAM",
        target_user=member,
        case=complaint.case,
        note="刷单",
    )
    blacklisting = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="ILL_OTHER",
        target_user=reporter,
        blacklist_role="member",
        note="多次违法",
    )
    moderation_services.sanction_decide(actor=actor_for(supervisor), sanction=blacklisting, approve=True)
    waiting = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_closure",
        category="ILL_OTHER",
        target_group=group,
        note="待批准",
    )
    moderation_services.case_close(
        actor=actor_for(reviewer), case=complaint.case, outcome="已处理", resolution="upheld"
    )
    for sanction in (suspension, mute, blacklisting, waiting):
        sanction.refresh_from_db()
    return {"suspension": suspension, "mute": mute, "blacklist": blacklisting, "waiting": waiting}


class Receiver:
    """A local HTTP receiver that answers each POST with the next scripted behaviour: a status with a body,
    or "timeout" (answers too late). It keeps every request's headers and body."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        self.accepted: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                step = receiver.script.pop(0) if receiver.script else (200, {"acknowledged": True})
                receiver.requests.append({"headers": dict(self.headers), "body": body, "step": step})
                if step == "redirect":  # elsewhere: a client that follows it would GET there without a body
                    self.send_response(302)
                    self.send_header("Location", "/landing")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if step == "garbage":  # not HTTP at all
                    self.wfile.write(b"NOT HTTP" + b"x" * 70000 + b"\r\n\r\n")
                    return
                if step == "timeout":
                    time.sleep(1.5)
                    step = (200, {"acknowledged": True})
                    late = True
                else:
                    late = False
                status, answer = step
                if 200 <= status < 300 and not late:
                    key = self.headers.get("Idempotency-Key", "")
                    receiver.accepted[key] = receiver.accepted.get(key, 0) + 1
                data = json.dumps(answer).encode() if answer is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the timeout)

            def do_GET(self):
                receiver.requests.append({"headers": dict(self.headers), "body": b"", "step": "GET"})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/reports"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory(settings):
    made = []

    def make(script):
        receiver = Receiver(script)
        made.append(receiver)
        settings.REPORTS_ENDPOINT_URL = receiver.url
        settings.REPORTS_HTTP_TIMEOUT = 0.5
        return receiver

    yield make
    for receiver in made:
        receiver.close()
