"""R7.3, R7.2: the level grid is data that staff edit in the admin, through the service, with history; the
ledger is shown there, never edited."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditEvent
from common.actors import Actor, Door
from credit import selectors, services
from credit.models import CreditAccount, CreditAdjustment, CreditEvent, CreditLevel, CreditLevelRevision
from tests.factories import UserFactory, ensure_default_levels

SYSTEM = Actor.system(door=Door.CLI)
VIEW_ALL = (
    "view_creditlevel",
    "view_creditlevelrevision",
    "view_creditaccount",
    "view_creditevent",
    "view_creditadjustment",
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _levels(db):
    ensure_default_levels()  # a transactional test elsewhere may have flushed the migration's rows


def _staff(username, *codenames):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="credit", codename__in=codenames)
    )
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: no stale permission cache


@pytest.fixture
def grid_admin(db):
    return _staff("grid-admin", "change_creditlevel", *VIEW_ALL)


@pytest.fixture
def viewer(db):
    return _staff("grid-viewer", *VIEW_ALL)


def _signed_in(client, user):
    """Signed in, with pages in English (the msgids) whatever the catalogue holds."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def admin_client(client, grid_admin):
    return _signed_in(client, grid_admin)


def _level(number) -> CreditLevel:
    return CreditLevel.objects.get(number=number)


def _change_url(level) -> str:
    return reverse("admin:credit_creditlevel_change", args=[level.pk])


def _form_data(level, **changes):
    """The change form as the page submits it, with ``changes`` applied."""
    data = {
        field: getattr(level, field)
        for field in services.EDITABLE
        if field not in ("creatable_categories", "may_be_admin")
    }
    data["creatable_categories"] = ", ".join(level.creatable_categories)
    if level.may_be_admin:
        data["may_be_admin"] = "on"
    data["reason"] = "调整消息频率"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _form(response):
    return response.context["adminform"].form


# --- editing the grid --------------------------------------------------------------------------------


def test_level_changed_in_the_admin_goes_through_the_service_and_applies_at_once(
    admin_client, grid_admin, django_capture_on_commit_callbacks
):
    member = UserFactory(credit_score=10)
    assert selectors.capabilities_for(member).level.number == 2
    assert selectors.capabilities_for(member).messages_per_minute == 10  # the grid is cached now
    level = _level(2)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_change_url(level), _form_data(level, messages_per_minute=15))
    assert response.status_code == 302, response.content[:1000]
    level.refresh_from_db()
    assert level.messages_per_minute == 15
    revision = CreditLevelRevision.objects.get(level_number=2)
    assert revision.changed_by == grid_admin and revision.reason == "调整消息频率"
    assert revision.snapshot["messages_per_minute"] == 15 and revision.snapshot["name"] == "普通"
    event = AuditEvent.objects.get(event_type="credit.level_changed", target_id=str(level.pk))
    assert event.actor_id == grid_admin.pk and event.door == Door.ADMIN and event.reason == "调整消息频率"
    assert event.data["before"] == {"messages_per_minute": 10}
    assert event.data["after"] == {"messages_per_minute": 15}  # only what changed
    assert selectors.capabilities_for(member).messages_per_minute == 15


def test_threshold_out_of_order_is_a_form_error_and_saves_nothing(admin_client):
    level = _level(2)  # level 3 starts at 40
    response = admin_client.post(_change_url(level), _form_data(level, min_score=50, messages_per_minute=15))
    assert response.status_code == 200
    assert "higher lowest score" in " ".join(_form(response).errors["min_score"])
    level.refresh_from_db()
    assert (level.min_score, level.messages_per_minute) == (10, 10)
    assert not CreditLevelRevision.objects.exists()
    assert not AuditEvent.objects.filter(event_type="credit.level_changed").exists()


def test_reason_for_the_change_is_required(admin_client):
    level = _level(2)
    response = admin_client.post(_change_url(level), _form_data(level, messages_per_minute=15, reason="  "))
    assert response.status_code == 200
    assert "reason" in _form(response).errors
    level.refresh_from_db()
    assert level.messages_per_minute == 10
    assert not CreditLevelRevision.objects.exists()


def test_unchanged_level_saved_records_no_revision(admin_client):
    level = _level(3)
    response = admin_client.post(_change_url(level), _form_data(level), follow=True)
    assert response.status_code == 200
    assert "no revision was recorded" in response.content.decode()
    assert not CreditLevelRevision.objects.exists()
    assert not AuditEvent.objects.filter(event_type="credit.level_changed").exists()


def test_only_changed_fields_are_sent_to_the_service(admin_client):
    level = _level(4)
    response = admin_client.post(
        _change_url(level), _form_data(level, max_group_size=800, may_be_admin=None, name_en="Veteran")
    )
    assert response.status_code == 302, response.content[:1000]
    event = AuditEvent.objects.get(event_type="credit.level_changed")
    assert event.data["after"] == {"max_group_size": 800, "may_be_admin": False, "name_en": "Veteran"}
    level.refresh_from_db()
    assert (level.max_group_size, level.may_be_admin, level.name_en) == (800, False, "Veteran")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("*", ["*"]),
        (" study, hobby，study ; local ", ["study", "hobby", "local"]),
        ("", []),
    ],
)
def test_categories_typed_as_text_are_stored_as_a_list(admin_client, typed, stored):
    level = _level(3)
    response = admin_client.post(_change_url(level), _form_data(level, creatable_categories=typed))
    assert response.status_code == 302, response.content[:1000]
    level.refresh_from_db()
    assert level.creatable_categories == stored


@pytest.mark.parametrize("typed", ["*, study", "学习", "bad/code", "-lead"])
def test_malformed_categories_are_a_form_error(admin_client, typed):
    level = _level(3)
    response = admin_client.post(_change_url(level), _form_data(level, creatable_categories=typed))
    assert response.status_code == 200
    assert "creatable_categories" in _form(response).errors
    level.refresh_from_db()
    assert level.creatable_categories == ["*"]
    assert not CreditLevelRevision.objects.exists()


def test_change_page_shows_categories_as_text_and_history_newest_first(admin_client, grid_admin):
    level = _level(2)
    actor = Actor.for_user(grid_admin, door=Door.CLI)
    services.credit_level_save(actor=actor, level=level, changes={"messages_per_minute": 12}, reason="第一次")
    services.credit_level_save(actor=actor, level=level, changes={"messages_per_minute": 14}, reason="第二次")
    response = admin_client.get(_change_url(level))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="creatable_categories"' in page and 'value="*"' in page
    assert 'name="reason"' in page
    assert page.index("第二次") < page.index("第一次")
    assert "12 → 14" in page


def test_grid_list_shows_every_level_and_no_add_or_delete(admin_client):
    response = admin_client.get(reverse("admin:credit_creditlevel_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("新手", "普通", "活跃", "资深", "模范"):
        assert name in page
    assert "neither added nor removed" in page
    assert reverse("admin:credit_creditlevel_add") not in page
    assert "delete_selected" not in page
    assert admin_client.get(reverse("admin:credit_creditlevel_add")).status_code == 403
    level = _level(5)
    delete = reverse("admin:credit_creditlevel_delete", args=[level.pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert CreditLevel.objects.count() == 5


def test_superuser_may_edit_the_grid(client, django_capture_on_commit_callbacks):
    root = get_user_model().objects.create_superuser("root", password="Correct-Horse-42")
    _signed_in(client, root)
    level = _level(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_change_url(level), _form_data(level, messages_per_minute=3))
    assert response.status_code == 302, response.content[:1000]
    assert _level(1).messages_per_minute == 3
    assert CreditLevelRevision.objects.get().changed_by == root


def test_staff_without_change_permission_can_view_but_not_save(client, viewer):
    _signed_in(client, viewer)
    level = _level(2)
    response = client.get(_change_url(level))
    assert response.status_code == 200
    assert 'name="reason"' not in response.content.decode()  # shown read-only, nothing to submit
    response = client.post(_change_url(level), _form_data(level, messages_per_minute=99))
    assert response.status_code == 403
    assert _level(2).messages_per_minute == 10
    assert not CreditLevelRevision.objects.exists()
    assert not AuditEvent.objects.filter(event_type="credit.level_changed").exists()


def test_staff_without_any_credit_permission_sees_nothing(client):
    _signed_in(client, _staff("no-credit"))
    assert client.get(reverse("admin:credit_creditlevel_changelist")).status_code == 403
    level = _level(2)
    assert client.post(_change_url(level), _form_data(level, messages_per_minute=99)).status_code == 403
    assert _level(2).messages_per_minute == 10


# --- the ledger is read-only -------------------------------------------------------------------------


def test_ledger_admin_is_read_only(admin_client, grid_admin):
    member = UserFactory(username="ledger-member", nickname="账本成员", credit_score=30)
    adjuster = _staff("adjuster", "adjust_creditaccount")
    services.credit_adjust(actor=Actor.for_user(adjuster, door=Door.CLI), user=member, delta=5, reason="补发")
    services.credit_level_save(actor=SYSTEM, level=_level(2), changes={"messages_per_minute": 11}, reason="x")
    account = CreditAccount.objects.get(user=member)
    event = CreditEvent.objects.filter(account=account).first()
    adjustment = CreditAdjustment.objects.get(account=account)
    revision = CreditLevelRevision.objects.get()
    records = [
        (account, {"score": 9999}),
        (event, {"delta": 9999, "reason": "sanction", "source_ref": "forged", "note": "forged"}),
        (adjustment, {"delta": 9999, "status": "approved", "reason": "forged"}),
        (revision, {"level_number": 9, "reason": "forged", "snapshot": "{}"}),
    ]
    for record, forged in records:
        opts = record._meta
        before = {field: getattr(record, field) for field in forged}
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
        assert admin_client.get(change).status_code == 200
        assert admin_client.post(change, forged).status_code == 403
        record.refresh_from_db()
        assert {field: getattr(record, field) for field in forged} == before
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert admin_client.get(add).status_code == 403
        assert admin_client.post(add, forged).status_code == 403
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[record.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200
        assert "delete_selected" not in changelist.content.decode()
    assert CreditAccount.objects.get(pk=account.pk).score == 35


def test_ledger_lists_filter_and_search(admin_client):
    member = UserFactory(username="searched", nickname="被搜索的人", credit_score=30)
    UserFactory(username="other", nickname="别人", credit_score=50)
    services.credit_penalize(actor=SYSTEM, user=member, points=3, reason="sanction", source_ref="case:7")
    events = reverse("admin:credit_creditevent_changelist")
    response = admin_client.get(events, {"q": "被搜索"})
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert found and all(event.account.user == member for event in found)
    response = admin_client.get(events, {"reason__exact": "sanction"})
    assert [event.source_ref for event in response.context["cl"].result_list] == ["case:7"]
    accounts = admin_client.get(reverse("admin:credit_creditaccount_changelist"), {"q": "searched"})
    assert [account.user for account in accounts.context["cl"].result_list] == [member]
    adjustments = admin_client.get(
        reverse("admin:credit_creditadjustment_changelist"), {"status__exact": "pending"}
    )
    assert adjustments.status_code == 200
    account_page = admin_client.get(
        reverse("admin:credit_creditaccount_change", args=[CreditAccount.objects.get(user=member).pk])
    )
    assert account_page.status_code == 200 and "case:7" in account_page.content.decode()
