"""R10.1: the lexicon is managed in the Django admin, and every change there goes through the services."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from common.actors import Actor, Door
from screening import matcher, services
from screening.models import Action, AllowEntry, LexiconTerm, LexiconVersion, ScreeningEvidence
from tests.factories import UserFactory

SYSTEM = Actor.system(door=Door.CLI)
GAMBLING = "ILL_OBSCENE_GAMBLING_VIOLENCE"
SPAM = "CONDUCT_FRAUD_SPAM"
IMPORT_URL = "admin:screening_lexiconterm_import"
EXPORT_URL = "admin:screening_lexiconterm_export"

pytestmark = pytest.mark.django_db


def _staff(username, *codenames):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="screening", codename__in=codenames)
    )
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: no stale permission cache


@pytest.fixture
def manager(db):
    return _staff("lexicon-manager", "change_lexiconterm", "view_screeningevidence", "view_lexiconversion")


@pytest.fixture
def admin_client(client, manager):
    """Signed in as the lexicon manager, with pages in English (the msgids) whatever the catalogue holds."""
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _term(term, category=GAMBLING, action=Action.BLOCK, **fields):
    return services.lexicon_term_save(actor=SYSTEM, term=term, category=category, action=action, **fields)


def _form_data(**fields):
    return {
        "term": "",
        "category": GAMBLING,
        "action": "block",
        "enabled": "on",
        "source": "",
        "notes": "",
    } | fields


def _upload(content, name="terms.csv"):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _import(client, content, name="terms.csv"):
    return client.post(reverse(IMPORT_URL), {"file": _upload(content, name)})


# --- lexicon terms -----------------------------------------------------------------------------------


def test_term_added_through_the_admin_goes_through_the_service(admin_client, manager):
    versions = LexiconVersion.objects.count()
    response = admin_client.post(
        reverse("admin:screening_lexiconterm_add"), _form_data(term=" 赌博 ", source="staff", notes="R10.1")
    )
    assert response.status_code == 302, response.content[:500]
    term = LexiconTerm.objects.get(term="赌博")
    assert (term.category, term.action, term.enabled, term.source) == (GAMBLING, "block", True, "staff")
    assert term.normalised and term.updated_by == manager
    assert LexiconVersion.objects.count() == versions + 1
    event = AuditEvent.objects.get(event_type="screening.term_added", target_id=str(term.pk))
    assert event.actor_id == manager.pk and event.door == Door.ADMIN


def test_duplicate_term_is_a_form_error_not_a_server_error(admin_client):
    _term("spam", category=SPAM)
    response = admin_client.post(
        reverse("admin:screening_lexiconterm_add"), _form_data(term="ＳＰＡＭ", category=SPAM)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["term"]
    assert "already in the lexicon" in errors[0]
    assert "“spam”" in " ".join(errors)  # which term it clashes with
    assert LexiconTerm.objects.count() == 1
    assert not AuditEvent.objects.filter(
        event_type="screening.term_added", data__after__term="ＳＰＡＭ"
    ).exists()


def test_term_changed_through_the_admin(admin_client):
    term = _term("刷单", category=SPAM)
    url = reverse("admin:screening_lexiconterm_change", args=[term.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, _form_data(term="刷单", category=SPAM, action="hold"))
    assert response.status_code == 302
    term.refresh_from_db()
    assert term.action == "hold"
    event = AuditEvent.objects.get(event_type="screening.term_changed", target_id=str(term.pk))
    assert event.data["before"]["action"] == "block" and event.data["after"]["action"] == "hold"


def test_change_into_a_duplicate_is_refused(admin_client):
    _term("spam", category=SPAM)
    other = _term("scam", category=SPAM)
    url = reverse("admin:screening_lexiconterm_change", args=[other.pk])
    response = admin_client.post(url, _form_data(term="s.p.a.m", category=SPAM))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["term"]
    other.refresh_from_db()
    assert other.term == "scam"


def test_unchanged_save_makes_no_new_version(admin_client):
    term = _term("刷单", category=SPAM)
    versions = LexiconVersion.objects.count()
    url = reverse("admin:screening_lexiconterm_change", args=[term.pk])
    response = admin_client.post(url, _form_data(term="刷单", category=SPAM))
    assert response.status_code == 302
    assert LexiconVersion.objects.count() == versions


def test_term_deleted_through_the_service(admin_client):
    term = _term("赌博")
    url = reverse("admin:screening_lexiconterm_delete", args=[term.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not LexiconTerm.objects.exists()
    assert AuditEvent.objects.filter(event_type="screening.term_removed", data__term_id=term.pk).exists()


def test_bulk_delete_and_disable_go_through_the_services(admin_client):
    first, second, third = _term("赌博"), _term("刷单", category=SPAM), _term("spam", category=SPAM)
    changelist = reverse("admin:screening_lexiconterm_changelist")
    response = admin_client.post(
        changelist, {"action": "disable_selected", "_selected_action": [first.pk, second.pk]}
    )
    assert response.status_code == 302
    disabled = LexiconTerm.objects.filter(enabled=False).values_list("pk", flat=True)
    assert set(disabled) == {first.pk, second.pk}
    assert AuditEvent.objects.filter(event_type="screening.term_changed").count() == 2

    admin_client.post(changelist, {"action": "enable_selected", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.enabled

    response = admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [second.pk, third.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert list(LexiconTerm.objects.values_list("pk", flat=True)) == [first.pk]
    assert AuditEvent.objects.filter(event_type="screening.term_removed").count() == 2


def test_changelist_links_import_and_export(admin_client):
    _term("赌博")
    response = admin_client.get(reverse("admin:screening_lexiconterm_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse(IMPORT_URL) in html and reverse(EXPORT_URL) in html
    assert "赌博" in html


# --- allow-list --------------------------------------------------------------------------------------


def test_allow_entry_added_and_disabled_never_deleted(admin_client):
    response = admin_client.post(
        reverse("admin:screening_allowentry_add"), {"phrase": "反赌博宣传", "enabled": "on", "notes": ""}
    )
    assert response.status_code == 302
    entry = AllowEntry.objects.get(phrase="反赌博宣传")
    assert AuditEvent.objects.filter(
        event_type="screening.allow_entry_saved", target_id=str(entry.pk)
    ).exists()

    duplicate = admin_client.post(
        reverse("admin:screening_allowentry_add"), {"phrase": "反 赌 博 宣 传", "enabled": "on", "notes": ""}
    )
    assert duplicate.status_code == 200
    assert duplicate.context["adminform"].form.errors["phrase"]

    assert admin_client.get(reverse("admin:screening_allowentry_delete", args=[entry.pk])).status_code == 403
    changelist = reverse("admin:screening_allowentry_changelist")
    assert "delete_selected" not in admin_client.get(changelist).content.decode()
    response = admin_client.post(changelist, {"action": "disable_selected", "_selected_action": [entry.pk]})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.enabled is False


# --- CSV import and export ---------------------------------------------------------------------------


def test_import_good_csv_shows_the_counts(admin_client, manager):
    _term("刷单", category=SPAM, action=Action.HOLD)
    _term("spam", category=SPAM, source="seed")
    content = (
        "\ufeffterm,category,action,enabled,source,notes\n"
        f"赌博,{GAMBLING},block,yes,,\n"
        f"加微信,ACCT_CONTACT_EMBED,flag,yes,,\n"
        f"刷单,{SPAM},block,yes,,\n"  # changed: hold -> block
        f"spam,{SPAM},block,yes,seed,\n"  # as it is (an empty source would become the file's name)
    )
    response = _import(admin_client, content, name="2024-lexicon.csv")
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.updated, report.unchanged, report.errors) == (2, 1, 1, [])
    html = response.content.decode()
    assert '<strong class="count-created">2</strong>' in html
    assert '<strong class="count-updated">1</strong>' in html
    assert '<strong class="count-unchanged">1</strong>' in html
    assert LexiconTerm.objects.get(term="赌博").source == "2024-lexicon.csv"
    assert LexiconTerm.objects.get(term="刷单").action == "block"
    event = AuditEvent.objects.get(event_type="screening.lexicon_imported")
    assert event.actor_id == manager.pk and event.data["source"] == "2024-lexicon.csv"


def test_import_bad_csv_lists_the_lines_and_imports_nothing(admin_client):
    content = (
        "term,category,action\n"
        f"赌博,{GAMBLING},block\n"
        "坏词,NO_SUCH_REASON,block\n"  # line 3
        f"刷单,{SPAM},explode\n"  # line 4
        f"賭博,{GAMBLING},block\n"  # line 5: the same as line 2 once normalised
    )
    response = _import(admin_client, content)
    assert response.status_code == 200
    assert [line for line, _message in response.context["report"].errors] == [3, 4, 5]
    html = response.content.decode()
    assert "Nothing was imported" in html
    for line in (3, 4, 5):
        assert f'<td class="line">{line}</td>' in html
    assert "NO_SUCH_REASON" in html
    assert not LexiconTerm.objects.exists()
    assert not AuditEvent.objects.filter(event_type="screening.lexicon_imported").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("term,category\n赌博,ILL_OTHER\n".encode("gbk"), "not UTF-8"),
        (b"", "empty"),
        (b"\xef\xbb\xbf \n", "empty"),
        (b"term,category\n" + b"x" * (5 * 1024 * 1024), "larger than 5 MB"),
        (b"term,category\nab\x00c,ILL_OTHER\n", "NUL characters"),
    ],
    ids=["gbk", "empty", "bom-only", "too-large", "nul"],
)
def test_unreadable_upload_is_refused_with_a_clear_message(admin_client, content, message):
    response = _import(admin_client, content)
    assert response.status_code == 200
    assert response.context["report"] is None
    assert message in " ".join(response.context["form"].errors["file"])
    assert message in response.content.decode()
    assert not LexiconTerm.objects.exists()


def test_csv_the_parser_cannot_read_is_a_message_not_a_server_error(admin_client):
    response = _import(admin_client, f'term,category\n"{"x" * 200_000}",{GAMBLING}\n')
    assert response.status_code == 200
    report = response.context["report"]
    assert report is not None and not report.ok and "field limit" in report.errors[0][1]
    assert "Not readable as CSV" in response.content.decode()
    assert not LexiconTerm.objects.exists()


def test_header_only_file_reports_no_terms(admin_client):
    response = _import(admin_client, "term,category\n")
    assert response.status_code == 200
    assert response.context["report"].errors == [(1, "The file has no terms.")]


def test_export_is_utf8_csv_with_bom_that_imports_back_unchanged(admin_client):
    _term("赌博", source="seed", notes="含中文")
    _term("spam", category=SPAM, action=Action.HOLD, enabled=False, source="seed")
    response = admin_client.get(reverse(EXPORT_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="lexicon-{timezone.localdate():%Y%m%d}.csv"' in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8")
    assert text.splitlines()[0] == "\ufeffterm,category,action,enabled,source,notes"
    assert f"赌博,{GAMBLING},block,yes,seed,含中文" in text
    assert f"spam,{SPAM},hold,no,seed," in text

    again = _import(admin_client, response.content, name="export.csv")
    report = again.context["report"]
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 2, [])


@pytest.mark.parametrize("codenames", [(), ("view_lexiconterm",)], ids=["no-perms", "view-only"])
def test_staff_without_the_permission_may_not_import_or_export(client, codenames):
    client.force_login(_staff("plain-staff", *codenames))
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    upload = _upload(f"term,category\n赌博,{GAMBLING}\n")
    assert client.post(reverse(IMPORT_URL), {"file": upload}).status_code == 403
    assert client.get(reverse(EXPORT_URL)).status_code == 403
    assert not LexiconTerm.objects.exists()


def test_viewer_sees_the_lexicon_but_cannot_change_it(client):
    _term("赌博")
    client.force_login(_staff("viewer", "view_lexiconterm"))
    response = client.get(reverse("admin:screening_lexiconterm_changelist"))
    assert response.status_code == 200
    assert reverse(IMPORT_URL) not in response.content.decode()
    assert client.get(reverse("admin:screening_lexiconterm_add")).status_code == 403
    term = LexiconTerm.objects.get()
    response = client.post(
        reverse("admin:screening_lexiconterm_change", args=[term.pk]), _form_data(term="赌钱")
    )
    assert response.status_code == 403
    term.refresh_from_db()
    assert term.term == "赌博"


# --- read-only records -------------------------------------------------------------------------------


@pytest.fixture
def evidence(db):
    _term("赌博")
    matcher.announce(LexiconVersion.objects.latest("pk").pk)
    author = UserFactory(username="writer")
    actor = Actor.for_user(author, door=Door.WEB, ip="203.0.113.7", port=51234)
    verdict = services.screen(
        actor=actor, text="一起来\n赌.博吧", context={"kind": "message", "group": "ABCD2345"}
    )
    assert verdict.action == Action.BLOCK
    return ScreeningEvidence.objects.get(pk=verdict.evidence_id)


def test_evidence_admin_is_read_only(admin_client, evidence):
    changelist = admin_client.get(reverse("admin:screening_screeningevidence_changelist"))
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "一起来 赌.博吧" in html and GAMBLING in html and "writer" in html
    assert reverse("admin:screening_screeningevidence_add") not in html
    assert admin_client.get(reverse("admin:screening_screeningevidence_add")).status_code == 403

    url = reverse("admin:screening_screeningevidence_change", args=[evidence.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("赌.博", evidence.normalised_text, "203.0.113.7", "51234", "ABCD2345", "<pre>"):
        assert shown in html, shown
    assert 'name="_save"' not in html

    assert admin_client.post(url, {"original_text": "edited", "action": "flag"}).status_code == 403
    evidence.refresh_from_db()
    assert evidence.original_text == "一起来\n赌.博吧" and evidence.action == Action.BLOCK
    delete = reverse("admin:screening_screeningevidence_delete", args=[evidence.pk])
    assert admin_client.get(delete).status_code == 403


def test_lexicon_versions_are_read_only(admin_client):
    _term("赌博")
    version = LexiconVersion.objects.latest("pk")
    assert admin_client.get(reverse("admin:screening_lexiconversion_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:screening_lexiconversion_add")).status_code == 403
    url = reverse("admin:screening_lexiconversion_change", args=[version.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"summary": "edited"}).status_code == 403
    version.refresh_from_db()
    assert version.summary != "edited"
