"""The compliance dashboard in the browser (issue 12): the demo supervisor opens it from the header's
staff menu on a database with 90 days of history; screenshots at desktop and phone widths.

It shares the browser tests' one live server and database (``tests/e2e/conftest.py``), into which it seeds
bulk history (cases, complaints, screening hits): named to run after the others, whose queue it would fill."""

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, _database_url

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def seed_history(days: int = 90) -> None:
    """Bulk history (model rows, backdated): complaints and cases, screening hits, network logs and a
    chain check. Run inside the server's database by ``manage.py shell``."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import ChainCheck, NetworkLog
    from groups.models import ChatGroup
    from moderation.models import Case, Complaint
    from screening.models import ScreeningEvidence

    rng = random.Random(12)
    now = timezone.now()
    group = ChatGroup.objects.order_by("pk").first()
    for day in range(days):
        at = now - timedelta(days=day, hours=rng.randint(0, 20))
        for i in range(rng.randint(0, 4)):
            decided = at + timedelta(hours=rng.uniform(1, 30)) if day > 1 else None
            case = Case.objects.create(
                kind="group",
                target_key=f"group:{group.pk}:seed-{day}-{i}",
                group=group,
                category="CONDUCT_FRAUD_SPAM",
                category_kind="conduct",
                deadline=at + timedelta(hours=24),
                status="closed" if decided else "open",
                decided_at=decided,
            )
            Case.objects.filter(pk=case.pk).update(created_at=at)
            complaint = Complaint.objects.create(case=case, category="CONDUCT_FRAUD_SPAM")
            Complaint.objects.filter(pk=complaint.pk).update(created_at=at)
        for action in rng.choices(["block", "hold", "flag"], weights=[5, 2, 3], k=rng.randint(0, 6)):
            hit = ScreeningEvidence.objects.create(action=action, original_text="x", normalised_text="x")
            ScreeningEvidence.objects.filter(pk=hit.pk).update(created_at=at)
        NetworkLog.objects.create(occurred_at=at, kind="http", path="/")
    ChainCheck.objects.create(ok=True)


def _seed() -> None:
    env = {**os.environ, "DATABASE_URL": _database_url(f"qunzu_e2e_{os.getpid()}")}
    code = "from tests.e2e.test_z_dashboard_history import seed_history; seed_history()"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )


def test_r5_1_supervisor_sees_dashboard_at_desktop_and_phone_widths(browser, live_url):
    _seed()
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_url}/accounts/login/")
        page.fill("input[name=identifier]", "supervisor")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(f"{live_url}/compliance/dashboard/")
        expect(page.locator("h1")).to_have_text("合规看板")
        expect(page.locator(".dash-row")).to_have_count(26)
        expect(page.locator(".dash-chart svg")).to_have_count(5)
        # Charts scale to the width: none is wider than the page.
        widths = page.eval_on_selector_all(
            ".dash-chart svg", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert max(widths) <= viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)
        page.locator("#dash-trends-title").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}-charts.png"))
        context.close()
