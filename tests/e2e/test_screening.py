"""R10.1 in the browser: a disguised term is refused with its category, a held message is shown to its
author only, marked as under review."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_live import send, wait_for_socket

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"


def sign_in(context, live_url, account: str):
    page = context.new_page()
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", account)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.locator("#group-list li[data-group]", has_text="读书会").click()
    wait_for_socket(page)
    return page


def test_disguised_terms_are_refused_or_held_for_the_author_only(browser, live_url, shoot):
    author_context = browser.new_context(viewport={"width": 390, "height": 780})
    reader_context = browser.new_context(viewport={"width": 1280, "height": 800})
    author = sign_in(author_context, live_url, "hanmeimei")
    reader = sign_in(reader_context, live_url, "lilei")

    send(author, "周末来玩 百 家 樂")  # spaced out, traditional: still the demo term 百家乐
    refused = author.locator("#messages .msg.failed")
    expect(refused).to_contain_text("赌博")  # the category is named …
    expect(refused.locator(".fail-note")).not_to_contain_text("百家乐")  # … the term is not
    expect(refused.locator("button", has_text="重试")).to_have_count(0)  # the same text would fail again

    send(author, "这个项目稳\u200b赚\u200b不\u200b赔")
    held = author.locator("#messages .msg.held")
    expect(held).to_contain_text("审核")
    shoot(author, "chat-screening-refused-and-held")

    send(author, "周六见！")
    expect(reader.locator("#messages .msg .bubble", has_text="周六见")).to_be_visible()
    expect(reader.locator("#messages")).not_to_contain_text("稳")
    expect(reader.locator("#messages")).not_to_contain_text("百")

    author.reload()  # the held message stays visible to its author, marked
    expect(author.locator("#messages .msg.held")).to_contain_text("稳")
    author_context.close()
    reader_context.close()
