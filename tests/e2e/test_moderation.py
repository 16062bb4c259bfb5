"""R12.1, R11.1, R5.1 in the browser: a member reports a message from its menu in the chat, a reviewer
opens the review queue from the header's staff menu, claims the case and, on the queue item itself,
suspends posting in the group for a day and then upholds the case, the members see the
suspension and their sends are refused, and the reporter sees the outcome under "My reports". Then a
supervisor broadcasts a system notice, which an open chat page shows at once and drops when it ends.

The suspension is put on 小区邻里 (王芳's group with 韩梅梅 and 张伟): the browser tests share one database,
and the tests after this one chat in 读书会."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_chat_live import send, wait_for_socket

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Qunzu-demo-2026"
GROUP = "小区邻里"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
AD = "低价代购名牌包，私聊我有优惠"
OUTCOME = "经核查，该群存在垃圾广告，已暂停群内发言一天。"


def sign_in(context, live_url, account: str):
    page = context.new_page()
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=identifier]", account)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    expect(page.locator("#notify-bell")).to_be_visible()
    return page


def open_chat(page, live_url):
    page.goto(f"{live_url}/")
    page.locator("#group-list li[data-group]", has_text=GROUP).click()
    wait_for_socket(page)


def staff_link(page, name: str):
    """A link of the header's staff menu (a <details>): opened first if it is closed."""
    menu = page.locator("#staff-menu")
    if not menu.evaluate("menu => menu.open"):
        menu.locator("summary").click()
    return menu.get_by_role("link", name=name, exact=True)


def shoot_header(page, name: str):
    """The header with the staff menu open, on a desktop and on a phone (the top of the page)."""
    size = page.viewport_size
    for suffix, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{suffix}.png"))
    page.set_viewport_size(size)


def shoot_both(page, name: str):
    """The page as it is now, on a desktop and on a phone (whole page), then back to the desktop size."""
    size = page.viewport_size
    for suffix, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{suffix}.png"), full_page=True)
    page.set_viewport_size(size)


def test_report_claim_suspend_posting_and_the_reporter_sees_the_outcome(browser, live_url):
    reporter_context = browser.new_context(viewport=DESKTOP)
    author_context = browser.new_context(viewport=PHONE)
    reviewer_context = browser.new_context(viewport=DESKTOP)
    owner_context = browser.new_context(viewport=DESKTOP)

    # 张伟 posts an advertisement; 韩梅梅 reports it from its menu in the chat.
    author = sign_in(author_context, live_url, "zhangwei")
    open_chat(author, live_url)
    send(author, AD)
    expect(author.locator("#messages li.msg.mine[data-seq]", has_text=AD)).to_be_visible()
    reporter = sign_in(reporter_context, live_url, "hanmeimei")
    expect(reporter.locator("#staff-menu")).to_have_count(0)  # members' header: their links only
    shoot_header(reporter, "moderation-header-member")
    open_chat(reporter, live_url)
    reported = reporter.locator("#messages li.msg[data-seq]", has_text=AD)
    reported.get_by_label("消息操作").click()
    reported.get_by_role("link", name="举报").click()
    expect(reporter.get_by_role("heading", name="举报消息")).to_be_visible()
    expect(reporter.locator("main")).to_contain_text(AD)
    reporter.get_by_label("诈骗、垃圾广告、流量造假").check()
    reporter.get_by_label("具体情况（可选）").fill("群里反复发同样的广告链接。")
    shoot_both(reporter, "moderation-report-form")
    reporter.get_by_role("button", name="提交举报").click()
    expect(reporter.get_by_role("heading", name="感谢您，举报已提交")).to_be_visible()
    reporter.get_by_role("link", name="我的举报").first.click()
    expect(reporter.locator(".report-item").first).to_contain_text("处理中")

    # The reviewer's header: members' links as they are, the compliance pages in one menu, which opens and
    # closes from the keyboard too.
    reviewer = sign_in(reviewer_context, live_url, "reviewer")
    nav = reviewer.get_by_role("navigation").first
    for name in ("我的群组", "我的信用", "我的举报", "我的处置"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    menu = reviewer.locator("#staff-menu")
    expect(menu.get_by_role("link", name="审核队列")).to_be_hidden()
    shoot_header(reviewer, "moderation-header-menu-closed")
    menu.locator("summary").focus()
    reviewer.keyboard.press("Enter")
    expect(menu.get_by_role("link", name="审核队列")).to_be_visible()
    expect(menu.get_by_role("link", name="举报案件")).to_be_visible()
    shoot_header(reviewer, "moderation-header-menu")
    reviewer.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="审核队列")).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()

    # The reviewer claims the next case from the queue and opens it.
    staff_link(reviewer, "审核队列").click()
    expect(reviewer.get_by_role("heading", name="审核队列")).to_be_visible()
    reviewer.get_by_role("navigation", name="事项类型").get_by_role(
        "link", name=re.compile(r"^举报\s*\d")
    ).click()
    expect(reviewer.locator("#rq-list")).to_contain_text(AD)
    shoot_both(reviewer, "moderation-queue")
    reviewer.get_by_role("button", name=re.compile("领取下一项")).first.click()
    expect(reviewer).to_have_url(re.compile(r"/compliance/queue/\d+/$"))
    item_url = reviewer.url
    expect(reviewer.locator("main")).to_contain_text(AD)
    expect(reviewer.locator("main")).to_contain_text("诈骗、垃圾广告、流量造假")
    shoot_both(reviewer, "moderation-queue-item")

    # On the queue item itself: posting suspended in the group for a day. The form shows only the fields
    # of the chosen measure.
    measures = reviewer.locator("form.measures-form")
    measures.get_by_label("处置措施").select_option(label="扣减信用分")
    expect(measures.get_by_label("扣减信用分（仅限扣分）")).to_be_visible()
    expect(measures.get_by_label("期限（小时）")).to_be_hidden()
    measures.get_by_label("处置措施").select_option(label="暂停群内发言")
    expect(measures.get_by_label("扣减信用分（仅限扣分）")).to_be_hidden()
    expect(measures.get_by_label("永久（须主管批准）")).to_be_hidden()
    expect(measures.get_by_label("列入身份（仅限列入黑名单）")).to_be_hidden()
    measures.get_by_label("对象").select_option(value="group")  # "群组 小区邻里（code）"
    measures.get_by_label("原因", exact=True).select_option(label="诈骗、垃圾广告、流量造假")
    measures.get_by_label("期限（小时）").fill("24")
    measures.get_by_label("说明（将告知被处置者）").fill("群内多次出现垃圾广告。")
    reviewer.locator("#measures").scroll_into_view_if_needed()
    shoot_both(reviewer, "moderation-measures-form")
    measures.get_by_role("button", name="作出处置").click()
    expect(reviewer.locator(".flash .flash-success")).to_be_visible()
    expect(reviewer).to_have_url(item_url)  # back on the queue item, to decide it
    expect(reviewer.locator("#measures")).to_contain_text("暂停群内发言")

    # Still on the queue item: uphold and close the case with its outcome, which the reporter is told.
    expect(reviewer.locator(".rq-history")).to_contain_text("暂停群内发言")  # the target's penalty history
    reviewer.locator(".rq-history").screenshot(
        path=str(SCREENSHOTS / "moderation-queue-item-history-desktop.png")
    )
    uphold = reviewer.locator(
        "form.rq-choice", has=reviewer.get_by_role("button", name=re.compile("举报属实"))
    )
    uphold.get_by_role("textbox").fill(OUTCOME)
    uphold.get_by_role("checkbox").uncheck()
    uphold.get_by_role("button", name=re.compile("举报属实")).click()
    expect(reviewer.locator(".flash .flash-success")).to_be_visible()

    # The sanctions, as compliance staff see them.
    staff_link(reviewer, "处置").click()
    row = reviewer.locator("main tbody tr", has_text="暂停群内发言").first
    expect(row).to_contain_text(GROUP)
    expect(row).to_contain_text("生效")
    shoot_both(reviewer, "moderation-sanction-list")
    row.get_by_role("link").first.click()
    expect(reviewer).to_have_url(re.compile(r"/compliance/sanctions/\d+/$"))
    expect(reviewer.locator("main")).to_contain_text(GROUP)
    for summary in reviewer.locator("main details summary").all():  # the frozen evidence, opened
        summary.click()
    expect(reviewer.locator("pre.evidence").first).to_contain_text(AD)
    shoot_both(reviewer, "moderation-sanction-detail")

    # The group's owner sees the measure on her group under "My sanctions".
    owner = sign_in(owner_context, live_url, "wangfang")
    owner.get_by_role("navigation").get_by_role("link", name="我的处置").click()
    expect(owner.locator("main")).to_contain_text("暂停群内发言")
    expect(owner.locator("main")).to_contain_text("群内多次出现垃圾广告")
    shoot_both(owner, "moderation-my-sanctions")

    # The reported author, on a phone: the suspension banner, and his send is refused.
    open_chat(author, live_url)
    banner = author.locator(".group-restriction.restriction-post")
    expect(banner).to_contain_text("本群已被平台暂停发言")
    expect(banner).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    send(author, "我还能发言吗？")
    refused = author.locator("#messages .msg.failed")
    expect(refused).to_contain_text("暂停发言")
    expect(refused.get_by_role("button", name="重试")).to_have_count(0)  # retrying at once would not help
    author.screenshot(path=str(SCREENSHOTS / "moderation-chat-suspended-phone.png"))

    # The reporter: the same banner in the chat, and the outcome under "My reports".
    open_chat(reporter, live_url)
    expect(reporter.locator(".group-restriction.restriction-post")).to_contain_text("暂停发言")
    send(reporter, "那我们去别的群聊吧")
    expect(reporter.locator("#messages .msg.failed")).to_contain_text("暂停发言")
    reporter.screenshot(path=str(SCREENSHOTS / "moderation-chat-suspended-desktop.png"))
    reporter.get_by_role("navigation").get_by_role("link", name="我的举报").click()
    mine = reporter.locator(".report-item").first
    expect(mine).to_contain_text("已处理")
    expect(mine).to_contain_text(OUTCOME)
    shoot_both(reporter, "moderation-my-reports")

    for context in (reporter_context, author_context, reviewer_context, owner_context):
        context.close()


def test_a_system_notice_shows_live_on_an_open_chat_page_and_goes_when_ended(browser, live_url):
    member_context = browser.new_context(viewport=PHONE)
    supervisor_context = browser.new_context(viewport=DESKTOP)
    member = sign_in(member_context, live_url, "liuyang")
    member.locator("#group-list li[data-group]", has_text="读书会").click()
    wait_for_socket(member)
    member.evaluate("window.__sameDocument = true")  # gone if the page reloads
    notices = member.locator("#platform-notices")
    expect(notices).to_be_hidden()

    supervisor = sign_in(supervisor_context, live_url, "supervisor")
    staff_link(supervisor, "应急").click()
    expect(supervisor.get_by_role("heading", name="应急措施", exact=True)).to_be_visible()
    supervisor.get_by_label("处置措施").select_option(label="发布系统公告")
    ends = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=2)
    supervisor.get_by_label("截止时间").fill(ends.strftime("%Y-%m-%dT%H:%M"))
    supervisor.get_by_label("原因").fill("演示：系统维护")
    supervisor.get_by_label("向所有人显示的公告").fill("今晚 23:00 起系统维护半小时，请提前保存。")
    supervisor.get_by_role("button", name="发布").click()
    expect(supervisor.locator(".flash .flash-success")).to_be_visible()
    expect(supervisor.locator("#emergency-in-force")).to_contain_text("系统维护半小时")
    shoot_both(supervisor, "moderation-emergency")

    expect(notices).to_be_visible()
    expect(notices).to_contain_text("系统维护半小时")
    assert member.evaluate("window.__sameDocument === true")
    member.screenshot(path=str(SCREENSHOTS / "moderation-chat-system-notice-phone.png"))

    in_force = supervisor.locator("#emergency-in-force li", has_text="系统维护半小时")
    in_force.get_by_label("结束原因").fill("维护取消")
    in_force.get_by_role("button", name="立即结束").click()
    expect(supervisor.locator(".flash .flash-success")).to_be_visible()
    expect(notices).to_be_hidden()
    expect(notices).not_to_contain_text("系统维护半小时")
    assert member.evaluate("window.__sameDocument === true")
    member_context.close()
    supervisor_context.close()
