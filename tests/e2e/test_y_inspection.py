"""Inspector access in the browser (R13.1, R12.2): the demo supervisor grants the demo inspector access to
one group from the header's staff menu; the inspector opens the grant from their own header link, reads the
group (the removed message too), opens the case and exports its evidence package, whose manifest hashes
every file; the supervisor then sees each page the inspector opened. Screenshots at desktop and phone widths.

It shares the browser tests' live server and database: the case it inspects is made here, in 读书会, by the
demo members through the services (run in the server's database by ``manage.py shell``)."""

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _database_url
from tests.e2e.test_moderation import DESKTOP, shoot_both, sign_in, staff_link

pytestmark = pytest.mark.e2e

AD = "周末团购特价海鲜，私信我下单"


def seed_case() -> str:
    """李雷 posts an advertisement in 读书会, 韩梅梅 reports it and 王芳 (the owner) removes it. Prints the
    group's code."""
    from django.contrib.auth import get_user_model

    from common.actors import Actor, Door
    from groups import services
    from groups.models import ChatGroup
    from moderation import services as moderation_services
    from moderation.selectors import ReportTarget

    users = get_user_model().objects
    group = ChatGroup.objects.get(name="读书会")
    author, reporter, owner = (users.get(username=name) for name in ("lilei", "hanmeimei", "wangfang"))

    def actor(user):
        return Actor.for_user(user, door=Door.WEB, ip="127.0.0.1")

    message, _created = services.message_send(
        actor=actor(author), group=group, body=AD, client_msg_id="insp-ad"
    )
    moderation_services.complaint_file(
        actor=actor(reporter),
        target=ReportTarget("message", group, message, author),
        category="CONDUCT_FRAUD_SPAM",
        description="虚假团购广告",
    )
    services.message_remove(actor=actor(owner), message=message, reason="诈骗广告")
    print(group.code)


def _seed() -> str:
    env = {**os.environ, "DATABASE_URL": _database_url(f"qunzu_e2e_{os.getpid()}")}
    code = "from tests.e2e.test_y_inspection import seed_case; seed_case()"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return done.stdout.decode().split()[-1]


def test_r13_1_supervisor_grants_inspector_opens_the_case_and_exports_its_evidence(browser, live_url):
    code = _seed()
    supervisor_context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    inspector_context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)

    # The supervisor grants the inspector access to 读书会 from the staff menu.
    supervisor = sign_in(supervisor_context, live_url, "supervisor")
    staff_link(supervisor, "检查授权").click()
    expect(supervisor.get_by_role("heading", name="检查授权")).to_be_visible()
    supervisor.get_by_role("link", name="授予检查授权").click()
    supervisor.get_by_label("检查人员账号", exact=True).select_option(label="inspector · 检查员")
    supervisor.get_by_label("检查机关", exact=True).fill("区网信办")
    supervisor.get_by_label("文书编号", exact=True).fill("网信检〔2026〕7号")
    supervisor.get_by_label("检查目的", exact=True).fill("核查读书会群的虚假团购广告及其处置。")
    supervisor.get_by_label("检查范围内的群组", exact=True).fill(f"{code}, NOPE0000")
    supervisor.get_by_role("button", name="授予授权").click()
    expect(supervisor.locator(".field.has-error")).to_contain_text("NOPE0000")  # named, nothing granted
    shoot_both(supervisor, "inspection-grant-form-error")
    supervisor.get_by_label("检查范围内的群组", exact=True).fill(code)
    supervisor.get_by_role("button", name="授予授权").click()
    expect(supervisor.locator(".flash")).to_contain_text("已授予检查授权")
    expect(supervisor.locator("main")).to_contain_text("区网信办")
    grant_page = supervisor.url

    # The inspector finds the grant from the header and reads the group, the removed message included.
    inspector = sign_in(inspector_context, live_url, "inspector")
    expect(inspector.locator("#staff-menu")).to_have_count(0)
    inspector.get_by_role("link", name="监督检查", exact=True).click()
    inspector.get_by_role("link", name="区网信办").click()
    expect(inspector.locator(".inspection-banner")).to_contain_text("您打开的每个页面都会被记录")
    expect(inspector.locator("#statistics")).to_contain_text("投诉及处理情况")
    shoot_both(inspector, "inspection-overview")
    inspector.get_by_role("link", name="读书会").click()
    removed = inspector.locator(".insp-message", has_text=AD)
    expect(removed).to_contain_text("诈骗广告")  # the reason for removal
    inspector.go_back()

    # The case, and its evidence package.
    inspector.locator("table a", has_text="#").first.click()
    expect(inspector.locator("main")).to_contain_text("虚假团购广告")
    shoot_both(inspector, "inspection-case")
    with inspector.expect_download() as download_info:
        inspector.get_by_role("button", name="导出证据包").click()
    download = download_info.value
    assert download.suggested_filename.startswith("evidence-case-")
    package = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    manifest = json.loads(package.read("manifest.json"))
    for entry in manifest["files"]:
        assert hashlib.sha256(package.read(entry["name"])).hexdigest() == entry["sha256"]
    assert any(m["body"] == AD for m in json.loads(package.read("messages.json")))

    # A group outside the grant does not exist for the inspector.
    missing = inspector.goto(
        f"{live_url}/inspection/{grant_page.rstrip('/').split('/')[-1]}/groups/NOPE0000/"
    )
    assert missing.status == 404

    # The supervisor sees every page the inspector opened, the refusal and the export.
    supervisor.goto(grant_page)
    views = supervisor.locator("table tbody tr")
    expect(views.filter(has_text="/groups/NOPE0000/")).to_contain_text("已拒绝访问")
    expect(views.filter(has_text=f"/groups/{code}/")).to_have_count(1)
    expect(supervisor.locator("main")).to_contain_text("已导出 1 个证据包")
    shoot_both(supervisor, "inspection-grant-detail")
    for context in (supervisor_context, inspector_context):
        context.close()
