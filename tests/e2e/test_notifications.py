"""The notification centre in real browsers: a member with three tabs open (two ordinary pages, one chat
page) hears of a credit change made by compliance staff in another browser, in every tab, without a
reload; reading in one tab lowers the bell in the others. Screenshots of the bell, a toast and the
notification centre on a phone."""

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _database_url
from tests.e2e.test_chat_live import wait_for_socket

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"
MEMBER = "13800000003"  # hanmeimei (韩梅梅), in 读书会
STAFF = "reviewer"  # compliance staff with the credit adjustment permission


def sign_in(context, live_url, account: str):
    page = context.new_page()
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", account)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    expect(page.locator("#notify-bell")).to_be_visible()
    return page


# Counts the sockets each page (document) opens.
COUNT_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = 0;
  window.WebSocket = function (...args) { window.__sockets += 1; return new Native(...args); };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def open_tab(context, url: str):
    page = context.new_page()
    page.goto(url)
    wait_for_socket(page)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    return page


def unread(page) -> int:
    return int(page.locator("#notify-bell").get_attribute("data-unread"))


def expect_bell(page, count: int):
    bell = page.locator("#notify-bell")
    expect(bell).to_have_attribute("data-unread", str(count))
    if count:
        expect(bell.locator(".bell-count")).to_have_text(str(count))
        expect(bell).to_have_attribute("aria-label", re.compile(rf"\b{count}\b"))
    else:
        expect(bell.locator(".bell-count")).to_be_hidden()


def adjust(desk, delta: int, reason: str):
    desk.fill("#adjust input[name=delta]", str(delta))
    desk.fill("#adjust textarea[name=reason]", reason)
    desk.click("#adjust button[type=submit]")
    expect(desk.locator(".flash")).to_contain_text(f"{delta:+d}")


def test_a_credit_change_reaches_every_tab_and_reading_in_one_clears_the_others(browser, live_url, shoot):
    member = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    sign_in(member, live_url, MEMBER).close()

    member.add_init_script(COUNT_SOCKETS)
    credit = open_tab(member, f"{live_url}/credit/")
    centre = open_tab(member, f"{live_url}/notifications/")
    chat = member.new_page()
    chat.goto(f"{live_url}/")
    chat.locator("#group-list li[data-group]", has_text="读书会").click()
    wait_for_socket(chat)
    chat.evaluate("window.__sameDocument = true")
    tabs = (credit, centre, chat)
    before = unread(credit)
    assert unread(centre) == unread(chat) == before
    items_before = centre.locator("#notification-list li").count()

    # Compliance staff give the member two points, in another browser.
    desk = sign_in(staff, live_url, STAFF)
    desk.goto(f"{live_url}/compliance/credit/?q=hanmeimei")
    desk.locator("main table a", has_text="hanmeimei").click()
    adjust(desk, 2, "组织读书会线下活动，表现积极")

    for tab in tabs:  # every tab hears of it, without a reload
        expect_bell(tab, before + 1)
        assert tab.evaluate("window.__sameDocument") is True
    for tab in (credit, chat):
        toast = tab.locator("#notify-toasts .toast[role=status]")
        expect(toast).to_have_count(1)
        expect(toast).to_contain_text("+2")
        expect(toast.locator("a.toast-main")).to_have_attribute("href", "/credit/")
    shoot(credit, "notify-bell-and-toast-phone")
    shoot(chat, "notify-toast-chat-phone")
    chat.set_viewport_size({"width": 1280, "height": 800})
    shoot(chat, "notify-bell-and-toast-chat-desktop")
    # The notification centre shows the new notice at the top instead of a toast.
    expect(centre.locator("#notification-list li")).to_have_count(items_before + 1)
    newest = centre.locator("#notification-list li").first
    expect(newest).to_contain_text("+2")
    expect(newest).to_have_class(re.compile(r"\bunread\b"))
    expect(centre.locator("#notify-toasts .toast")).to_have_count(0)
    shoot(centre, "notifications-page-live-phone")

    # The chat page uses chat.js's socket: no second one. The other pages each opened exactly one.
    assert [tab.evaluate("window.__sockets") for tab in tabs] == [1, 1, 1]

    # A toast can be dismissed.
    credit.locator("#notify-toasts .toast-close").click()
    expect(credit.locator("#notify-toasts .toast")).to_have_count(0)

    # Reading the new notice in the centre lowers the bell in the other tabs.
    newest.locator("form.n-read button").click()
    expect(centre.locator(".flash")).to_be_visible()
    expect_bell(centre, before)
    expect_bell(credit, before)
    expect_bell(chat, before)

    # Reading everything clears it everywhere.
    if before:
        centre.locator("form[action='/notifications/read-all/'] button").click()
    for tab in tabs:
        expect_bell(tab, 0)
    assert credit.evaluate("window.__sameDocument") is True and chat.evaluate("window.__sameDocument") is True
    expect(centre.locator("#notification-list li.unread")).to_have_count(0)
    shoot(centre, "notifications-page-read-phone")

    # Following a toast's link reads that notice: the other tabs' bells drop too.
    adjust(desk, 1, "帮助新成员熟悉群规")
    for tab in tabs:
        expect_bell(tab, 1)
    chat.locator("#notify-toasts a.toast-main", has_text="+1").click()
    expect(chat).to_have_url(f"{live_url}/credit/")
    expect_bell(credit, 0)
    expect_bell(centre, 0)
    expect_bell(chat, 0)

    centre.goto(f"{live_url}/notifications/preferences/")
    expect(centre.locator("input[name='in_app_credit.changed']")).to_be_disabled()
    expect(centre.locator("input[name='in_app_credit.changed']")).to_be_checked()
    shoot(centre, "notification-preferences-phone")
    centre.set_viewport_size({"width": 1280, "height": 900})
    shoot(centre, "notification-preferences-desktop")
    member.close()
    staff.close()


def test_the_bell_on_a_desktop_and_in_english(browser, live_url, shoot):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = sign_in(context, live_url, "13800000004")  # zhangwei
    page.goto(f"{live_url}/notifications/")
    expect(page.locator("#notify-bell")).to_have_attribute("aria-current", "page")
    shoot(page, "notifications-page-desktop")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#notify-bell")).to_have_attribute("aria-label", re.compile("^Notifications"))
    shoot(page, "notifications-page-desktop-en")
    context.close()


def run_on_server(code: str):
    """Python run against the browser tests' server database and channel layer (as a job would)."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(f"qunzu_e2e_{os.getpid()}"),
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )


ANNOUNCE = """
from common.actors import Actor
from groups.models import ChatGroup
from notifications.services import notify_group
group = ChatGroup.objects.get(name="读书会")
notify_group(actor=Actor.system(), group_id=group.pk, group_key=group.code, kind="group.announcement",
             context={"group_name": group.name, "text": "本周六的讨论改到图书馆三楼"})
"""


def test_a_group_notice_reaches_a_members_tabs_and_is_counted_for_them(browser, live_url, shoot):
    member = browser.new_context(viewport={"width": 390, "height": 844})
    start = sign_in(member, live_url, "13800000005")  # liuyang, in 读书会
    # Start from nothing unread: other browser tests may have told 读书会 things already, and reading one
    # group notice reads the group's earlier ones too.
    start.goto(f"{live_url}/notifications/")
    mark_all = start.locator("form[data-notify-when-unread] button")
    if mark_all.is_visible():
        mark_all.click()
        expect(start.locator("form[data-notify-when-unread] button")).to_be_hidden()
    start.wait_for_load_state("load")  # closing a page in the middle of its navigation can hang Chromium
    start.close()
    member.add_init_script(COUNT_SOCKETS)
    profile = open_tab(member, f"{live_url}/accounts/profile/")
    chat = member.new_page()
    chat.goto(f"{live_url}/")
    wait_for_socket(chat)
    before = unread(profile)

    run_on_server(ANNOUNCE)  # a group notice carries no count: each tab asks for its member's own
    for tab in (profile, chat):
        expect_bell(tab, before + 1)
        toast = tab.locator("#notify-toasts .toast[role=status]")
        expect(toast).to_contain_text("读书会")
        expect(toast).to_contain_text("图书馆三楼")
    assert [tab.evaluate("window.__sockets") for tab in (profile, chat)] == [1, 1]
    shoot(chat, "notify-group-notice-phone")

    profile.goto(f"{live_url}/notifications/")
    item = profile.locator("#notification-list li", has_text="图书馆三楼")
    expect(item.locator(".n-group")).to_be_visible()
    item.locator("form.n-read button").click()
    expect_bell(profile, before)
    expect_bell(chat, before)
    member.close()
