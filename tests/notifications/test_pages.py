"""The notification centre through its pages: the list with its filters, marking read (one, a group's,
all; never someone else's), the preferences (required kinds stay on), the header's bell and the count."""

import re

import pytest
from django.urls import reverse

from common.actors import Actor
from notifications import kinds, selectors, services
from notifications.models import Notification, NotificationPreference
from tests.conftest import actor_for
from tests.factories import UserFactory

SYSTEM = Actor.system()


def credit_notice(user, delta="+3"):
    return services.notify(
        actor=SYSTEM,
        recipient=user,
        kind="credit.changed",
        context={"delta": delta, "reason": "按时参加读书会。", "level": "3"},
    )


def announce(group, text="周六活动改到周日"):
    return services.notify_group(
        actor=SYSTEM,
        group_id=group.pk,
        group_key=group.code,
        kind="group.announcement",
        context={"group_name": group.name, "text": text},
    )


@pytest.fixture
def reader(client, member):
    """The member, signed in, with whatever their sign-up told them already read."""
    services.notifications_mark_read(actor=actor_for(member))
    client.force_login(member)
    return member


def test_list_shows_personal_and_group_notices_newest_first(client, reader, group):
    credit_notice(reader, "+3")
    announce(group)
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    assert "周六活动改到周日" in response.content.decode()
    first, second = response.context["items"][:2]
    assert (first["scope"], first["kind"]) == ("group", "group.announcement")
    assert (second["scope"], second["kind"]) == ("personal", "credit.changed")
    assert "+3" in second["title"] and second["link"] == "/credit/"
    html = response.content.decode()
    assert 'href="/credit/"' in html and f'href="/groups/{group.code}/"' in html
    assert 'class="n-item sev-warning unread"' in html  # credit changes are shown as a warning


def test_list_times_are_shown_in_shanghai_time(client, reader):
    notice = credit_notice(reader)
    Notification.objects.filter(pk=notice.pk).update(created_at="2026-03-01T16:30:00+00:00")
    response = client.get(reverse("notifications"))
    assert "2026-03-02 00:30" in response.content.decode()


def test_list_speaks_english_when_chosen(client, reader):
    credit_notice(reader, "-2")
    client.cookies["django_language"] = "en"
    response = client.get(reverse("notifications"))
    assert "Your credit changed: -2" in response.content.decode()


def test_unread_filter_leaves_out_what_was_read(client, reader):
    old = credit_notice(reader, "+1")
    credit_notice(reader, "+2")
    services.notifications_mark_read(actor=actor_for(reader), ids=[old.pk])
    everything = [i["id"] for i in client.get(reverse("notifications")).context["items"]]
    unread = client.get(reverse("notifications"), {"unread": "on"}).context["items"]
    assert old.pk in everything
    assert old.pk not in [i["id"] for i in unread] and all(not i["read"] for i in unread)


def test_kind_filter_shows_only_that_kind_and_an_unknown_kind_is_ignored(client, reader, group):
    credit_notice(reader)
    announce(group)
    only_group = client.get(reverse("notifications"), {"kind": "group.announcement"}).context["items"]
    assert only_group and {i["kind"] for i in only_group} == {"group.announcement"}
    only_credit = client.get(reverse("notifications"), {"kind": "credit.changed"}).context["items"]
    assert only_credit and {i["kind"] for i in only_credit} == {"credit.changed"}
    response = client.get(reverse("notifications"), {"kind": "no.such.kind"})
    assert response.status_code == 200 and {i["kind"] for i in response.context["items"]} >= {
        "credit.changed",
        "group.announcement",
    }


def test_filters_with_nothing_found_say_so(client, reader):
    response = client.get(reverse("notifications"), {"unread": "on"})
    assert response.context["items"] == [] and response.context["filtered"]
    assert 'id="notification-empty" hidden' not in response.content.decode()


def test_mark_one_read_lowers_the_count_and_comes_back_with_a_message(client, reader):
    first = credit_notice(reader, "+1")
    credit_notice(reader, "+2")
    assert selectors.unread_count(reader) == 2
    response = client.post(
        reverse("notifications-read"),
        {"scope": "personal", "id": first.pk, "next": "/notifications/?unread=on"},
        follow=True,
    )
    assert response.redirect_chain == [("/notifications/?unread=on", 302)]
    assert selectors.unread_count(reader) == 1
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert [str(m) for m in response.context["messages"]]
    assert first.pk not in [i["id"] for i in response.context["items"]]


def test_mark_a_group_notice_read_reads_that_groups_notices(client, reader, group):
    announce(group, "第一条")
    latest = announce(group, "第二条")
    credit_notice(reader)
    assert selectors.unread_count(reader) == 3
    response = client.post(reverse("notifications-read"), {"scope": "group", "id": latest.pk})
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    assert selectors.unread_count(reader) == 1  # the personal notice is still unread


def test_mark_all_read_reads_personal_and_group_notices(client, reader, group):
    credit_notice(reader)
    announce(group)
    assert selectors.unread_count(reader) == 2
    response = client.post(reverse("notifications-read-all"))
    assert response.status_code == 302
    assert selectors.unread_count(reader) == 0


def test_someone_elses_notice_cannot_be_marked(client, reader, outsider):
    theirs = credit_notice(outsider)
    response = client.post(reverse("notifications-read"), {"scope": "personal", "id": theirs.pk}, follow=True)
    assert response.status_code == 200  # back on the list, no error page
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert selectors.unread_count(outsider) >= 1


def test_a_notice_of_a_group_one_is_not_in_cannot_be_marked(client, owner, group, outsider):
    notice = announce(group)
    services.notifications_mark_read(actor=actor_for(outsider))
    client.force_login(outsider)
    response = client.post(reverse("notifications-read"), {"scope": "group", "id": notice.pk})
    assert response.status_code == 302
    assert selectors.unread_count(owner) >= 1
    from notifications.models import GroupNoticeCursor

    assert not GroupNoticeCursor.objects.filter(user=outsider, group_key=group.code).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"scope": "personal", "id": "abc"},
        {"scope": "other", "id": "1"},
        {"scope": "personal", "id": "-5"},
    ],
)
def test_a_malformed_mark_read_changes_nothing(client, reader, payload):
    notice = credit_notice(reader)
    response = client.post(reverse("notifications-read"), payload)
    assert response.status_code == 302
    assert Notification.objects.get(pk=notice.pk).read_at is None


def test_going_back_only_to_a_page_of_this_site(client, reader):
    response = client.post(reverse("notifications-read-all"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notifications")
    response = client.post(reverse("notifications-read-all"), {"next": "//evil.example/"})
    assert response["Location"] == reverse("notifications")


def test_mark_read_takes_post_only(client, reader):
    assert client.get(reverse("notifications-read")).status_code == 405
    assert client.get(reverse("notifications-read-all")).status_code == 405


def test_a_link_to_another_site_is_not_offered(client, reader, monkeypatch):
    monkeypatch.setitem(
        kinds.KINDS, "test.linked", kinds.Kind("test.linked", "看这里", "{text}", link="{target}")
    )
    for target in ("javascript:alert(1)", "//evil.example/", "https://evil.example/"):
        services.notify(actor=SYSTEM, recipient=reader, kind="test.linked", context={"target": target})
    response = client.get(reverse("notifications"), {"kind": "test.linked"})
    items = response.context["items"]
    assert len(items) == 3 and all(item["link"] == "" for item in items)
    assert "evil.example" not in response.content.decode() and "javascript:" not in response.content.decode()


# --- preferences -----------------------------------------------------------------------------------------


def test_preferences_show_every_kind_required_ones_on_and_locked(client, reader):
    response = client.get(reverse("notification-preferences"))
    html = response.content.decode()
    assert len(response.context["rows"]) == len(kinds.KINDS)
    for code, kind in kinds.KINDS.items():
        tag = re.search(rf'<input[^>]*name="in_app_{re.escape(code)}"[^>]*>', html).group()
        if kind.required:
            assert "disabled" in tag and "checked" in tag, code
        else:
            assert "disabled" not in tag, code
        sms = re.search(rf'<input[^>]*name="sms_{re.escape(code)}"[^>]*>', html)
        assert bool(sms) == kind.sms, code  # a text-message switch only for kinds that go by text
    assert html.count('class="pref-note"') == sum(kind.required for kind in kinds.KINDS.values())


def test_preferences_save_and_required_kinds_cannot_be_turned_off(client, reader):
    response = client.post(
        reverse("notification-preferences"),
        {"in_app_credit.changed": "", "sms_account.suspended": ""},  # nothing ticked, a locked one tampered
        follow=True,
    )
    assert response.redirect_chain == [(reverse("notification-preferences"), 302)]
    off = NotificationPreference.objects.get(user=reader, kind="identity.verification_decided")
    assert (off.in_app, off.sms) == (False, False)
    assert not NotificationPreference.objects.filter(user=reader, kind="credit.changed").exists()
    assert credit_notice(reader) is not None  # required: still told
    assert (
        services.notify(actor=SYSTEM, recipient=reader, kind="identity.verification_decided", context={})
        is None
    )
    html = client.get(reverse("notification-preferences")).content.decode()
    tag = re.search(r'<input[^>]*name="in_app_identity.verification_decided"[^>]*>', html).group()
    assert "checked" not in tag  # the page shows what was saved

    client.post(reverse("notification-preferences"), {"in_app_identity.verification_decided": "on"})
    back_on = NotificationPreference.objects.get(user=reader, kind="identity.verification_decided")
    assert back_on.in_app is True


def test_a_kind_that_goes_by_text_can_keep_the_app_and_drop_the_text(client, reader, monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "test.texted", kinds.Kind("test.texted", "提醒", "{text}", sms=True))
    html = client.get(reverse("notification-preferences")).content.decode()
    assert 'name="sms_test.texted"' in html
    client.post(reverse("notification-preferences"), {"in_app_test.texted": "on"})
    saved = NotificationPreference.objects.get(user=reader, kind="test.texted")
    assert (saved.in_app, saved.sms) == (True, False)


# --- the bell and the count ------------------------------------------------------------------------------


def _bell(html: str) -> str:
    return re.search(r'<a class="bell[^"]*" id="notify-bell".*?</a>', html, re.S).group()


def test_the_bell_shows_the_unread_count_on_every_page(client, reader):
    credit_notice(reader)
    credit_notice(reader)
    response = client.get(reverse("my-credit"))
    assert response.context["unread_notifications"] == 2
    bell = _bell(response.content.decode())
    assert 'href="/notifications/"' in bell
    assert re.search(r'<span class="bell-count" id="notify-count">2</span>', bell)
    assert re.search(r'aria-label="[^"]*2[^"]*"', bell)
    assert "js/notify.js" in response.content.decode()


def test_the_bell_hides_its_number_at_zero(client, reader):
    bell = _bell(client.get(reverse("profile")).content.decode())
    assert '<span class="bell-count" id="notify-count" hidden>' in bell
    assert not re.search(r'aria-label="[^"]*\d', bell)


def test_the_bell_shows_99_plus_for_many(client, reader):
    for n in range(100):
        credit_notice(reader, f"+{n}")
    bell = _bell(client.get(reverse("profile")).content.decode())
    assert ">99+</span>" in bell and "100" in bell  # the label says the real number


def test_no_bell_and_no_script_when_signed_out(client, db):
    html = client.get(reverse("login")).content.decode()
    assert 'id="notify-bell"' not in html and "js/notify.js" not in html


def test_count_endpoint_answers_json_for_the_signed_in_member(client, reader, group):
    credit_notice(reader)
    announce(group)
    response = client.get(reverse("notifications-count"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == {"unread": 2}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_count_endpoint_requires_sign_in(client, db):
    response = client.get(reverse("notifications-count"))
    assert response.status_code == 403 and response.json()["code"] == "not_authenticated"


def test_each_member_counts_only_their_own(client, reader, outsider):
    credit_notice(outsider)
    other = UserFactory()
    credit_notice(other)
    assert client.get(reverse("notifications-count")).json() == {"unread": 0}


def test_following_a_link_reads_the_notice_quietly(client, reader):
    """notify.js marks a notice read as the member follows its link: JSON back, no message for later."""
    notice = credit_notice(reader)
    credit_notice(reader)
    response = client.post(
        reverse("notifications-read"),
        {"scope": "personal", "id": notice.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json() == {"changed": 1, "unread": 1}
    follow = client.get(reverse("my-credit"))
    assert not list(follow.context["messages"])
