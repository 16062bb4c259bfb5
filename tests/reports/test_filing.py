"""R7.2: the filing document, generated from the live configuration, versioned by its content, as
Markdown and PDF for supervisors; every download audited."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEvent
from common.actors import Actor, Door
from credit import services as credit_services
from credit.models import CreditLevel
from groups import services as group_services
from groups.models import GroupCategory
from reports.filing import filing_build, filing_version
from reports.filing_pdf import filing_pdf
from tests.factories import UserFactory, ensure_default_levels

SECTIONS = (
    "documents",
    "categories",
    "tiers",
    "credit",
    "sanctions",
    "complaints",
    "reasons",
    "lexicon",
    "real_name",
    "retention",
    "emergency",
)


@pytest.fixture
def platform_admin(db):
    ensure_default_levels()
    return UserFactory(username="platformadmin", is_staff=True, is_superuser=True)


def _staff(username: str, *codenames: str):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def supervisor(db):
    ensure_default_levels()
    return _staff("filingsupervisor", "change_case", "view_case", "receive_escalations", "approve_sanction")


@pytest.fixture
def reviewer(db):
    return _staff("filingreviewer", "change_case", "view_case", "view_reviewitem")


def _actor(user):
    return Actor.for_user(user, door=Door.ADMIN, ip="127.0.0.1", port=50000)


def _zh():
    return translation.override("zh-hans")


def test_r7_2_document_has_every_section_with_live_values(platform_admin):
    with _zh():
        filing = filing_build()
    assert tuple(s.key for s in filing.sections) == SECTIONS
    for section in filing.sections:
        assert section.title in filing.markdown
        assert re.search(r"R\d+\.\d", section.cites), section.key  # each section cites what it implements
        assert "第" in section.cites
    text = filing.markdown
    social = GroupCategory.objects.get(code="social")
    assert f"| social | {social.name} |" in text
    for level in CreditLevel.objects.all():
        assert f"| L{level.number} | {level.name} | {level.min_score} |" in text
    assert "CONDUCT_FRAUD_SPAM" in text and "ILL_TERROR" in text
    assert "184" in text  # the retention floor
    assert f"{filing.version}" in text


def test_r7_2_same_configuration_same_version(platform_admin):
    first, second = filing_version(), filing_version()
    assert first == second and re.fullmatch(r"[0-9a-f]{8}", first)
    with translation.override("en"):
        assert filing_version() == first  # the filed (Chinese) text decides, whatever the reader's language


def test_r7_2_credit_capability_change_changes_document_and_version(platform_admin):
    before = filing_build()
    level = CreditLevel.objects.get(number=3)
    credit_services.credit_level_save(
        actor=_actor(platform_admin), level=level, changes={"messages_per_minute": 37}, reason="备案测试"
    )
    after = filing_build()
    assert after.version != before.version
    assert "| 37 |" in after.markdown and "| 37 |" not in before.markdown


def test_r7_2_category_cap_change_changes_document_and_version(platform_admin):
    before = filing_build()
    category = GroupCategory.objects.get(code="study")
    category.max_size = 321
    group_services.group_config_save(actor=_actor(platform_admin), config=category, changed=["max_size"])
    after = filing_build()
    assert after.version != before.version
    assert "| study |" in after.markdown and "| 321 |" in after.markdown


@override_settings(FILING_OPERATOR_NAME="示例网络科技有限公司")
def test_r7_2_title_carries_operator_time_and_version(platform_admin):
    now = datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("UTC"))
    filing = filing_build(now=now)
    assert "示例网络科技有限公司" in filing.markdown
    assert "2026-03-02 00:30" in filing.markdown  # Asia/Shanghai
    assert filing.file_stem == f"filing-20260302-{filing.version}"


def test_r7_2_operator_placeholder_names_the_setting(platform_admin):
    filing = filing_build()
    assert not filing.operator_set
    assert "FILING_OPERATOR_NAME" in filing.markdown


def test_r7_2_pdf_is_a_valid_document(platform_admin):
    with _zh():
        data = filing_pdf(filing_build())
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 5000
    pages = re.search(rb"/Type /Pages\s*/Count (\d+)", data) or re.search(rb"/Count (\d+)", data)
    assert pages and int(pages.group(1)) >= 3  # a title page and the sections
    assert b"STSong-Light" in data


def test_r7_2_supervisor_sees_page_and_downloads_both_files_audited(client, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("filing"))
    assert page.status_code == 200
    version = page.context["filing"].version
    assert version in page.content.decode()
    assert reverse("filing-pdf") in page.content.decode()

    markdown = client.get(reverse("filing-markdown"))
    assert markdown.status_code == 200
    assert markdown["Content-Type"].startswith("text/markdown")
    assert f"-{version}.md" in markdown["Content-Disposition"]
    assert version in markdown.content.decode()

    pdf = client.get(reverse("filing-pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f"-{version}.pdf" in pdf["Content-Disposition"]
    assert pdf.content.startswith(b"%PDF")

    events = AuditEvent.objects.filter(event_type="reports.filing_downloaded").order_by("pk")
    assert [(e.data["format"], e.data["version"]) for e in events] == [("md", version), ("pdf", version)]
    assert all(e.actor_id == supervisor.pk for e in events)


def test_r7_2_viewing_the_page_is_not_a_download(client, supervisor):
    client.force_login(supervisor)
    client.get(reverse("filing"))
    assert not AuditEvent.objects.filter(event_type="reports.filing_downloaded").exists()


@pytest.mark.parametrize("name", ["filing", "filing-markdown", "filing-pdf"])
def test_r7_2_anonymous_is_sent_to_sign_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("name", ["filing", "filing-markdown", "filing-pdf"])
def test_r7_2_member_and_reviewer_are_refused(client, reviewer, name):
    member = UserFactory(username="filingmember")
    for user in (member, reviewer):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403
    assert not AuditEvent.objects.filter(event_type="reports.filing_downloaded").exists()


def test_r7_2_staff_menu_links_supervisors_only(client, supervisor, reviewer):
    client.force_login(supervisor)
    page = client.get(reverse("filing")).content.decode()
    assert f'href="{reverse("filing")}"' in page
    client.force_login(reviewer)
    assert f'href="{reverse("filing")}"' not in client.get(reverse("home")).content.decode()


def test_r7_2_page_in_english(client, supervisor):
    client.force_login(supervisor)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("filing"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Credit levels and what each allows" in page and "art. 7(2), art. 8(1)" in page
    assert response.context["filing"].version == filing_version()  # the same version in every language
