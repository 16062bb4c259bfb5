"""R7.2: the filing document's sections on the rule documents in force (R5.2, R5.3) and the screening
lexicon (R10.1); settings printed by their labels, never their raw codes; the Markdown, the page and the
PDF say the same."""

import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import translation

from common.actors import Actor, Door
from groups.models import GroupCategory
from identity import services as identity_services
from reports import filing as filing_module
from reports.filing import filing_build, filing_version
from reports.filing_pdf import filing_pdf
from screening import services as screening_services
from screening.models import Action, LexiconTerm
from tests.factories import UserFactory, ensure_default_agreements, ensure_default_levels

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_admin(db):
    ensure_default_levels()
    ensure_default_agreements()
    return UserFactory(username="filingadmin", is_staff=True, is_superuser=True)


def _section(filing, key: str):
    return next(section for section in filing.sections if section.key == key)


def _english():
    return translation.override("en")


def test_r5_2_filing_lists_the_rule_documents_in_force_with_version_and_date(platform_admin):
    before = filing_version()
    with _english():
        rows = {row[0]: row for row in _section(filing_build(), "documents").tables[0].rows}
    assert set(rows) >= {"Service agreement", "Platform convention", "Management rules"}
    assert rows["Service agreement"][2] == "v1" and rows["Service agreement"][4] == "yes"
    assert rows["Management rules"][4] == "no"  # published, not accepted one by one
    assert rows["Service agreement"][5] == reverse("legal-document", kwargs={"kind": "service-agreement"})
    identity_services.agreement_publish(
        actor=Actor.for_user(platform_admin, door=Door.ADMIN),
        kind="service-agreement",
        title="服务协议",
        body="新",
    )
    with _english():
        filing = filing_build()
    rows = {row[0]: row for row in _section(filing, "documents").tables[0].rows}
    assert rows["Service agreement"][2] == "v2"  # the version in force, not every version
    assert len([row for row in rows.values() if row[0] == "Service agreement"]) == 1
    assert filing.version != before  # a new version to accept is a new filing
    assert "| Service agreement | 服务协议 | v2 |" in filing.markdown


def test_r10_1_filing_counts_enabled_lexicon_terms_by_category(platform_admin, lexicon):
    system = Actor.system(door=Door.CLI)
    screening_services.lexicon_term_save(
        actor=system, term="博彩", category="ILL_OBSCENE_GAMBLING_VIOLENCE", action=Action.HOLD
    )
    LexiconTerm.objects.create(
        term="停用", normalised="停用", category="CONDUCT_FRAUD_SPAM", action=Action.BLOCK, enabled=False
    )
    with _english():
        section = _section(filing_build(), "lexicon")
    table = section.tables[0]
    assert table.headers[2:] == ("flag", "hold for review", "block", "Enabled terms")
    rows = {row[0]: row[2:] for row in table.rows}
    # By hand: 赌博 block + 博彩 hold; 刷单 hold + spam block (停用 is disabled); 加微信 flag.
    assert rows == {
        "ILL_OBSCENE_GAMBLING_VIOLENCE": ("0", "1", "1", "2"),
        "CONDUCT_FRAUD_SPAM": ("0", "1", "1", "2"),
        "ACCT_CONTACT_EMBED": ("1", "0", "0", "1"),
    }
    assert dict(section.facts)["Enabled terms"] == "5"
    assert "赌博" not in filing_build().markdown  # counts only: the terms themselves are not filed


def test_r7_2_verifier_activity_and_credit_reasons_print_labels_not_codes(platform_admin, settings):
    settings.IDENTITY_VERIFIER = "result_only"
    with _english():
        filing = filing_build()
    facts = dict(_section(filing, "real_name").facts)
    assert facts["Verification backend"] == "National identity service, result only (nothing stored)"
    activity = dict(_section(filing, "tiers").facts)["Activity levels (messages in 7 days)"]
    assert activity == "Quiet ≥ 0; Normal ≥ 20; Active ≥ 200; Very active ≥ 2000"
    points = dict(_section(filing, "credit").facts)["Points earned"]
    assert "Real-name verification completed +" in points and "identity_verified" not in points
    default = dict(_section(filing, "categories").facts)["Category of new groups by default"]
    assert default == f"{GroupCategory.objects.get(code='social').name_en} (social)"
    assert "result_only" not in filing.markdown and "very_active" not in filing.markdown


def test_r7_2_sections_with_one_table_are_built_by_one_helper(platform_admin):
    calls = []
    original = filing_module._table_section

    def spy(key, *args, **kwargs):
        calls.append(key)
        return original(key, *args, **kwargs)

    filing_module._table_section = spy
    try:
        filing = filing_build()
    finally:
        filing_module._table_section = original
    with_tables = [section.key for section in filing.sections if section.tables]
    assert sorted(set(calls)) == sorted(with_tables)


def test_r7_2_empty_table_says_none_configured_everywhere(platform_admin, client):
    with _english():
        filing = filing_build()  # no lexicon in this test
        assert _section(filing, "lexicon").tables[0].rows == ()
        assert "| None configured. |" in filing.markdown
        pdf = filing_pdf(filing)
    assert pdf.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        assert "None configured." in text.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler's pdftotext reads the PDF back")
def test_r7_2_pdf_and_markdown_carry_the_same_sections_and_values(platform_admin, lexicon):
    with _english():
        filing = filing_build()
        pdf = filing_pdf(filing)
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    flat = " ".join(text.decode().split())
    for number, section in enumerate(filing.sections, start=1):
        assert f"## {number}. {section.title}" in filing.markdown
        assert f"{number}. {section.title}" in flat, section.key
        for label, value in section.facts:
            assert f"- {label}: " in filing.markdown
            assert " ".join(f"{label}: {value}".split()) in flat, (section.key, label)
    for key in ("documents", "lexicon"):
        for row in _section(filing, key).tables[0].rows:
            assert "| " + " | ".join(row) + " |" in filing.markdown
            for cell in row:
                assert cell in flat, (key, cell)


def test_r7_2_page_shows_the_new_sections(client, platform_admin, lexicon):
    client.force_login(platform_admin)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("filing")).content.decode()
    assert 'id="filing-documents"' in page and 'id="filing-lexicon"' in page
    assert "Screening lexicon in force" in page and "User agreement and platform rules in force" in page
