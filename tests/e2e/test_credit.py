"""R7.3 in the browser: a member sees their level, what it allows and why; screenshots for review."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"


def test_member_sees_level_grid_and_history_on_a_phone(browser, live_url, shoot):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", "13800000003")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.goto(f"{live_url}/credit/")
    expect(page.locator("main")).to_contain_text("活跃")  # level 3 after six weeks in good standing
    expect(page.locator("main")).to_contain_text("完成实名认证")  # the ledger says why
    expect(page.locator("main")).to_contain_text("资深")  # the next level, and how to get there
    shoot(page, "credit-member-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "credit-member-desktop")
    context.close()
