"""R9.2, R8.5 in the browser: the demo owner removes a member, switches 读书会 to join requests, approves
the member's request to come back, mutes her for 10 minutes; she sees the mute with its end and her send
is refused; then the owner pins a message and removes it from the chat, which she sees live."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_live import send, wait_for_socket

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"
PHONE = {"width": 390, "height": 780}
DESKTOP = {"width": 1280, "height": 860}


def sign_in(context, live_url, account: str):
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before removing
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", account)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).to_have_url(f"{live_url}/")
    return page


def member_row(page, nickname: str):
    return page.locator(".mm-item", has=page.locator(".mm-name", has_text=nickname))


def test_owner_approves_a_request_then_mutes_and_the_member_sees_it(browser, live_url, shoot):
    owner_context = browser.new_context(viewport=DESKTOP)
    member_context = browser.new_context(viewport=PHONE)
    owner = sign_in(owner_context, live_url, "13800000001")  # wangfang, by mobile number
    owner.locator("#group-list li[data-group]", has_text="读书会").click()
    owner.locator(".conv-actions a[href$='/manage/']").click()
    expect(owner.locator(".mg-tabs a[aria-current=page]")).to_be_visible()
    code = re.search(r"/groups/([^/]+)/manage/", owner.url).group(1)
    shoot(owner, "manage-members-desktop")

    # Remove 张伟 without a bar, so that she may ask to come back.
    row = member_row(owner, "张伟")
    row.locator("summary").click()
    row.locator("form:has(button[value=remove]) input[name=reason]").fill("演示：请重新申请")
    row.locator("button[value=remove]").click()
    expect(owner.locator(".flash")).to_contain_text("张伟")
    expect(member_row(owner, "张伟")).to_have_count(0)

    # Joining 读书会 now takes a request.
    owner.goto(f"{live_url}/groups/{code}/manage/settings/")
    owner.check("input[name=join_mode][value=request]")
    owner.click("form.mg-settings button[type=submit]")
    expect(owner.locator(".flash .flash-success")).to_be_visible()
    owner.fill("#announcement textarea[name=text]", "本周六 20:00 线上讨论《平凡的世界》第二部。")
    owner.click("#announcement button[type=submit]")
    expect(owner.locator(".flash .flash-success")).to_be_visible()
    owner.goto(f"{live_url}/groups/{code}/invite/")
    invite_link = owner.locator("#invite-link").input_value()

    member = sign_in(member_context, live_url, "zhangwei")
    member.goto(invite_link)
    member.fill("input[name=message]", "我想回来继续读书")
    member.click("button[value=request]")
    expect(member.locator(".status-pending")).to_be_visible()

    owner.goto(f"{live_url}/groups/{code}/manage/requests/")
    request_row = owner.locator(".jr-item", has_text="张伟")
    expect(request_row).to_contain_text("我想回来继续读书")
    request_row.locator("button[value^=approve]").click()
    expect(owner.locator(".flash .flash-success")).to_be_visible()
    expect(owner.locator(".jr-item")).to_have_count(0)

    owner.goto(f"{live_url}/groups/{code}/manage/")
    row = member_row(owner, "张伟")
    row.locator("summary").click()
    row.locator("select[name=minutes]").select_option("10")
    row.locator("form:has(button[value=mute]) input[name=reason]").fill("刷屏，冷静十分钟")
    row.locator("button[value=mute]").click()
    expect(owner.locator(".flash")).to_contain_text("张伟")
    expect(member_row(owner, "张伟").locator(".mm-muted")).to_be_visible()
    shoot(owner, "manage-members-desktop-muted")

    phone_owner_context = browser.new_context(viewport=PHONE)
    phone_owner = sign_in(phone_owner_context, live_url, "wangfang")
    phone_owner.goto(f"{live_url}/groups/{code}/manage/")
    shoot(phone_owner, "manage-members-phone")
    member_row(phone_owner, "张伟").locator("summary").click()
    member_row(phone_owner, "张伟").locator("button[value=remove]").scroll_into_view_if_needed()
    shoot(phone_owner, "manage-members-phone-actions")
    phone_owner.goto(f"{live_url}/groups/{code}/manage/settings/")
    shoot(phone_owner, "manage-settings-phone")
    phone_owner.goto(f"{live_url}/groups/{code}/manage/log/")
    shoot(phone_owner, "manage-log-phone")

    member.goto(f"{live_url}/groups/{code}/")
    wait_for_socket(member)
    expect(member.locator("#group-announcement")).to_contain_text("线上讨论")
    notice = member.locator("#mute-notice")
    expect(notice).to_contain_text("禁言")
    expect(notice).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    expect(notice).to_contain_text("冷静十分钟")
    send(member, "我还能说话吗？")
    expect(member.locator("#messages .msg.failed")).to_contain_text("禁言")
    shoot(member, "chat-mute-notice-phone")

    # The owner pins a message from its menu in the chat; the member sees it at the top at once, then
    # the owner removes it: a tombstone for the member, and the pin goes with it.
    owner.goto(f"{live_url}/groups/{code}/")
    wait_for_socket(owner)
    first = owner.locator("#messages li.msg[data-seq]").first
    seq = first.get_attribute("data-seq")
    first.locator(".msg-menu summary").click()
    shoot(owner, "chat-message-menu-desktop")
    first.locator("button[value=pin]").click()
    expect(owner.locator("#pinned-bar")).to_be_visible()
    expect(member.locator("#pinned-bar")).to_be_visible()
    expect(member.locator("#pinned-bar .pinned-body")).not_to_be_empty()
    expect(member.locator(".msg-manage")).to_have_count(0)  # members get no management part in the menu
    shoot(member, "chat-pinned-phone")
    first.locator(".msg-menu summary").click()
    first.locator("input[name=reason]").fill("演示删除")
    first.locator("button[value=remove]").click()
    expect(member.locator(f'#messages li.msg[data-seq="{seq}"]')).to_have_class(re.compile("removed"))
    expect(member.locator("#pinned-bar")).to_be_hidden()
    expect(owner.locator("#pinned-bar")).to_be_hidden()
    for context in (owner_context, member_context, phone_owner_context):
        context.close()
