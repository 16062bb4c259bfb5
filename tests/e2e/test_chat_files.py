"""Pictures and files in real browsers (issue 10): 刘洋 (phone) sends a photo taken with location data; 李雷
(desktop) sees its thumbnail and opens the full picture; a renamed program is refused with its reason."""

import io

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.test_chat_live import wait_for_socket
from tests.e2e.test_group_management import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.e2e

GROUP = "读书会"  # 王芳's group; 李雷 is its admin, 刘洋 a member (demo data)


def photo_with_location() -> bytes:
    image = Image.linear_gradient("L").resize((1200, 900)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(10):
        draw.ellipse((60 * i, 40 * i, 60 * i + 300, 40 * i + 200), fill=(200, 40 * i % 255, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def open_group(page):
    page.locator("#group-list li[data-group]", has_text=GROUP).click()
    wait_for_socket(page)


def test_a_photo_reaches_the_group_as_a_thumbnail_and_opens_in_full(browser, live_url, shoot):
    his_context = browser.new_context(viewport=DESKTOP)
    her_context = browser.new_context(viewport=PHONE)
    sender = sign_in(her_context, live_url, "liuyang")
    reader = sign_in(his_context, live_url, "lilei")
    open_group(sender)
    open_group(reader)

    sender.set_input_files(
        "#attach-input",
        files=[{"name": "晚霞.jpg", "mimeType": "image/jpeg", "buffer": photo_with_location()}],
    )
    mine = sender.locator("#messages li.msg.mine .attachment.image img").last
    expect(mine).to_be_visible(timeout=15_000)
    expect(sender.locator("#messages li.msg.sending")).to_have_count(0)
    shoot(sender, "chat-photo-sent-phone")

    thumbnail = reader.locator("#messages li.msg .attachment.image img").last
    expect(thumbnail).to_be_visible(timeout=15_000)
    expect(thumbnail).to_have_js_property("complete", True, timeout=10_000)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    assert thumbnail.evaluate("img => img.naturalWidth") <= 480  # the thumbnail, not the original
    shoot(reader, "chat-photo-received-desktop")
    with reader.expect_popup() as opened:
        thumbnail.click()
    full = opened.value
    full.wait_for_load_state()
    assert "/raw/" in full.url and full.evaluate("document.contentType") == "image/jpeg"
    shoot(full, "chat-photo-opened-desktop")
    full.close()

    # A program renamed as a picture is refused, and the sender is told why.
    sender.set_input_files(
        "#attach-input",
        files=[{"name": "照片.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00" + b"\x00" * 2048}],
    )
    refused = sender.locator("#messages li.msg.failed .fail-note").last
    expect(refused).to_contain_text("不能发送", timeout=15_000)
    shoot(sender, "chat-file-refused-phone")
    her_context.close()
    his_context.close()
