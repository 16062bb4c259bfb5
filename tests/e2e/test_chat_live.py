"""Members in real browsers: sign up by mobile, verify, create, invite, join, chat live, reload."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import valid_id_number

pytestmark = pytest.mark.e2e

PASSWORD = "Jiangnan-Spring-2026"


def sign_up(page, sms_code, phone: str, nickname: str):
    page.fill("input[name=phone]", phone)
    page.fill("input[name=nickname]", nickname)
    page.click("button[value=send_code]")
    expect(page.locator(".flash")).to_contain_text("验证码已发送")
    page.fill("input[name=sms_code]", sms_code("+86" + phone))
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.check("input[name=accept]")
    page.click("button[value=signup]")


def verify_identity(page, name: str):
    expect(page.locator("h1")).to_have_text("实名认证")
    page.fill("input[name=real_name]", name)
    page.fill("input[name=id_number]", valid_id_number())
    page.check("input[name=consent]")
    page.click("main form button[type=submit]")


def wait_for_socket(page, state: str = "open"):
    """The page's socket reached ``state`` (its body's data-socket). Not ``wait_for_function``: its polling
    evaluates a string, which the pages' Content-Security-Policy (no eval) refuses."""
    expect(page.locator("body")).to_have_attribute("data-socket", state, timeout=10_000)


def send(page, text: str):
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def test_newcomer_is_sent_to_verification_then_chats_live_and_history_survives_reload(
    browser, live_url, shoot, sms_code
):
    alice = browser.new_context(viewport={"width": 1280, "height": 800})
    bob = browser.new_context(viewport={"width": 390, "height": 780})  # a phone-sized screen
    a, b = alice.new_page(), bob.new_page()

    a.goto(f"{live_url}/")
    expect(a.locator("h1")).to_have_text("负责任的群组聊天")  # Chinese first, whatever the browser asks
    a.goto(f"{live_url}/accounts/signup/")
    sign_up(a, sms_code, "13911110001", "爱丽丝")
    shoot(a, "verify-page")
    verify_identity(a, "艾丽")
    expect(a).to_have_url(f"{live_url}/")
    a.goto(f"{live_url}/groups/new/")
    a.fill("input[name=name]", "周末登山")
    a.click("main form button[type=submit]")
    expect(a.locator(".conv-title h1")).to_have_text("周末登山")
    code = a.locator(".conv-title .code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{8}", code)
    a.locator(".conv-actions a", has_text="邀请").click()
    invite_link = a.input_value("#invite-link")
    shoot(a, "invite-page")

    b.goto(invite_link)
    expect(b.locator("h1")).to_have_text("周末登山")
    b.locator("main a", has_text="注册账号").click()
    sign_up(b, sms_code, "13911110002", "鲍勃")
    expect(b.locator("main form button[type=submit]")).to_have_text("加入群组")
    other_tab = bob.new_page()  # Bob's group list in a second tab follows the join live
    other_tab.goto(f"{live_url}/")
    wait_for_socket(other_tab)
    expect(other_tab.locator("#group-list li.empty")).to_be_visible()
    b.click("main form button[type=submit]")
    expect(other_tab.locator("#group-list li[data-group] .g-name")).to_have_text("周末登山")
    expect(b.locator(".conv-title .code")).to_have_text(code)
    wait_for_socket(b)

    # Not verified yet: the send is refused with the reason and a way to fix it (R6.2).
    expect(b.locator(".publish-gate")).to_contain_text("实名认证")
    send(b, "我能说话吗？")
    failed = b.locator("#messages .msg.failed")
    expect(failed).to_contain_text("请先完成实名认证")
    shoot(b, "chat-refused-unverified")
    failed.locator("a.fix-link").click()
    verify_identity(b, "鲍博")
    expect(b).to_have_url(f"{live_url}/groups/{code}/")
    wait_for_socket(b)

    a.goto(f"{live_url}/groups/{code}/")
    wait_for_socket(a)
    send(a, "大家好，周六早上八点出发！")
    expect(b.locator("#messages .msg .bubble", has_text="周六早上八点出发")).to_be_visible()
    expect(b.locator("#messages .msg", has_text="周六早上八点出发").locator(".role.owner")).to_have_text(
        "群主"
    )
    send(b, "收到，我带水和干粮。")
    expect(a.locator("#messages .msg .bubble", has_text="我带水和干粮")).to_be_visible()
    expect(b.locator("#messages .msg.mine", has_text="我带水和干粮")).not_to_have_class(re.compile("sending"))
    shoot(a, "chat-desktop")
    shoot(b, "chat-phone")

    b.reload()
    bubbles = b.locator("#messages .msg .bubble")
    expect(bubbles).to_have_count(2)
    expect(bubbles.nth(0)).to_have_text("大家好，周六早上八点出发！")
    expect(bubbles.nth(1)).to_have_text("收到，我带水和干粮。")
    seqs = b.locator("#messages .msg").evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == [1, 2]
    alice.close()
    bob.close()


def test_switching_to_english_keeps_the_page(browser, live_url, shoot):
    page = browser.new_page()
    page.goto(f"{live_url}/accounts/login/")
    expect(page.locator("h1")).to_have_text("登录")
    page.click("button[name=language][value=en]")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page).to_have_url(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", "13900000000")
    page.fill("input[name=password]", "wrong-password")
    page.click("main form button[type=submit]")
    expect(page.locator(".errors")).to_contain_text("not correct")
    shoot(page, "login-error-en")
    page.close()
