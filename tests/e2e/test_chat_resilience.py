"""Live chat through a flaky connection, recall, and scrolling back through history, in real browsers.

韩梅梅 (phone) goes offline, writes two messages, and comes back while 张伟 (desktop) writes one: each sees
each message exactly once and in order. She recalls one and it disappears for him. Then the group gets
a long history over several days: the page shows the latest, loads older pages while scrolling up, and
puts a separator before each day."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_live import send, wait_for_socket
from tests.e2e.test_group_management import DESKTOP, PHONE, sign_in
from tests.e2e.test_notifications import run_on_server

pytestmark = pytest.mark.e2e

GROUP = "小区邻里"  # 王芳's group with 韩梅梅 and 张伟 (demo data)


def open_group(page):
    page.locator("#group-list li[data-group]", has_text=GROUP).click()
    wait_for_socket(page)


def shown(page) -> list[tuple[int, str]]:
    """(seq, text) of every numbered message on the page, top to bottom."""
    return page.locator("#messages li.msg[data-seq]").evaluate_all(
        "els => els.map(e => [Number(e.dataset.seq), (e.querySelector('.bubble') || e).textContent.trim()])"
    )


def assert_each_once_in_order(rows):
    seqs = [seq for seq, _text in rows]
    assert seqs == sorted(set(seqs)), seqs
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs  # no gap either


def test_offline_sends_arrive_once_in_order_and_a_recall_disappears(browser, live_url, shoot):
    her_context = browser.new_context(viewport=PHONE)
    his_context = browser.new_context(viewport=DESKTOP)
    her = sign_in(her_context, live_url, "hanmeimei")
    him = sign_in(his_context, live_url, "zhangwei")
    open_group(her)
    open_group(him)

    her_context.set_offline(True)
    wait_for_socket(her, "closed")
    expect(her.locator("#conn-banner")).to_be_visible()
    send(her, "停水期间楼下有桶装水")
    send(her, "需要的邻居来 3 栋拿")
    expect(her.locator("#messages li.msg.sending")).to_have_count(2)
    send(him, "物业说下午两点恢复供水")
    expect(him.locator("#messages .bubble", has_text="下午两点恢复供水")).to_be_visible()
    shoot(her, "chat-offline-phone")

    her_context.set_offline(False)
    wait_for_socket(her)
    expect(her.locator("#conn-banner")).to_be_hidden()
    for page in (her, him):
        for text in ("停水期间楼下有桶装水", "需要的邻居来 3 栋拿", "物业说下午两点恢复供水"):
            expect(page.locator("#messages .bubble", has_text=text)).to_have_count(1)
    expect(her.locator("#messages li.msg.sending")).to_have_count(0)
    her_rows, his_rows = shown(her), shown(him)
    assert_each_once_in_order(her_rows)
    assert her_rows == his_rows
    mine = [text for _seq, text in her_rows if text.startswith(("停水期间", "需要的邻居"))]
    assert mine == ["停水期间楼下有桶装水", "需要的邻居来 3 栋拿"]  # in the order she wrote them

    # She recalls her last message from its menu; he sees the line instead of the text.
    last = her.locator("#messages li.msg.mine", has_text="需要的邻居来 3 栋拿")
    last.locator(".msg-menu summary").click()
    shoot(her, "chat-recall-menu-phone")
    last.locator("form.msg-recall button").click()
    expect(him.locator("#messages .bubble", has_text="需要的邻居来 3 栋拿")).to_have_count(0)
    expect(him.locator("#messages li.recalled", has_text="韩梅梅 撤回了一条消息")).to_be_visible()
    expect(her.locator("#messages li.recalled", has_text="你撤回了一条消息")).to_be_visible()
    shoot(him, "chat-recalled-desktop")

    him.reload()
    wait_for_socket(him)
    assert [seq for seq, _text in shown(him)] == [seq for seq, _text in shown(her)]
    her_context.close()
    his_context.close()


SEED_HISTORY = """
from datetime import timedelta
from django.utils import timezone
from common.actors import Actor, Door
from groups import services
from groups.models import ChatGroup, Message
from identity.models import User
group = ChatGroup.objects.get(name="小区邻里")
wangfang = User.objects.get(username="wangfang")
actor = Actor.for_user(wangfang, door=Door.CLI)
services._require_within_rate = lambda user: None  # seeding a history, not testing the rate limit
now = timezone.now()
for n in range(1, 131):
    group.refresh_from_db()
    message, _ = services.message_send(actor=actor, group=group, body=f"第{n}条通知", client_msg_id=f"h{n}")
    Message.objects.filter(pk=message.pk).update(created_at=now - timedelta(minutes=(130 - n) * 30 + 1))
"""


def test_history_loads_while_scrolling_up_with_day_separators(browser, live_url, shoot):
    run_on_server(SEED_HISTORY)  # 130 messages from 王芳, half-hourly until a minute ago
    context = browser.new_context(viewport=DESKTOP)
    page = sign_in(context, live_url, "zhangwei")
    open_group(page)
    expect(page.locator("#messages li.msg[data-seq]")).to_have_count(50)
    first_shown = shown(page)[0][0]
    for _ in range(6):  # scroll to the top until the start of the conversation
        page.locator("#messages").evaluate(
            "el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }"
        )
        page.wait_for_timeout(400)
        if page.locator("#history-top", has_text="以上是全部聊天记录").is_visible():
            break
    expect(page.locator("#history-top")).to_contain_text("以上是全部聊天记录")
    rows = shown(page)
    assert rows[0][0] == 1 and rows[0][0] < first_shown
    assert_each_once_in_order(rows)
    assert len(page.locator("#messages li.day").all()) >= 3  # three days ago, two days ago, … today
    expect(page.locator("#messages li.day").last).to_have_text("今天")
    page.locator("#messages li.day").nth(1).scroll_into_view_if_needed()
    shoot(page, "chat-history-days-desktop")

    page.goto(f"{live_url}/groups/{page.url.rstrip('/').split('/')[-1]}/search/?q=第12")
    hits = page.locator(".search-hit")
    expect(hits.first).to_contain_text("第129条通知")
    assert {text.strip() for text in hits.locator(".search-body").all_inner_texts()} >= {
        "第12条通知",
        "第120条通知",
    }
    shoot(page, "chat-search-desktop")
    context.close()
