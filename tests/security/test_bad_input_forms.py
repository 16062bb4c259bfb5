"""Issue 13: hostile input through every form of the pages.

Two tables:

- ``GUARDED``: what cannot be text (NUL and other control characters, bytes that are not UTF-8, a lone
  surrogate, which arrives as such bytes) in any field of any POST page. The routes are those of the
  authorization table (tests/architecture), posted by a role that table lets through, so adding a form
  there adds it here. Each answers 400 with the reason, and no row of any table changes.
- ``FIELD_CASES``: what a person can type or paste (too long, direction overrides, zero-width characters,
  HTML and script, ``javascript:`` links) × the forms whose text is shown to others. Refused text
  re-renders or redirects with the refusal and stores nothing; accepted text is escaped wherever shown.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.apps import apps
from django.urls import reverse

from audit.models import AuditEvent, NetworkLog
from groups.models import ChatGroup, Message
from tests.architecture.test_authorization_matrix import (
    BODIES,
    LOGIN,
    MATRIX,
    REDIRECT,
    ROLES,
    _url,
    build_world,
    expected_for,
)

PROJECT_APPS = (
    "identity",
    "groups",
    "moderation",
    "credit",
    "notifications",
    "reports",
    "audit",
    "screening",
)
NOT_STATE = {NetworkLog}  # every signed-in request leaves a network-log row (R13.2): not the form's doing

# (value id, the field's value as it goes on the wire, percent-encoded)
GUARDED = [
    ("nul", "a%00b"),
    ("bell_escape", "a%07%1B%5B31mb"),
    ("c1_control", "a%C2%85b"),
    ("invalid_utf8", "a%FF%FEb"),
    ("lone_surrogate", "a%ED%A0%80b"),
    ("overlong_utf8", "%C0%AE%C0%AE"),
]

PAGE_POSTS = sorted(
    name for name, method in MATRIX if method == "POST" and not name.startswith(("api-", "admin:"))
)
ROLE_PREFERENCE = ("owner", "supervisor", "member", "non_member", "reviewer", "anonymous", *ROLES)


def _acting_role(name: str) -> str:
    """The first role the authorization table lets through to the form (else the first at all)."""
    row = MATRIX[(name, "POST")]
    for role in ROLE_PREFERENCE:
        if expected_for(row, role, (name, "POST")) in (REDIRECT, 200):
            return role
    return "owner"


def snapshot() -> dict[str, int]:
    """Row counts of every table of the platform's apps (the network log aside), and the audit trail."""
    counts = {}
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model not in NOT_STATE:
                counts[model._meta.label] = model.objects.count()
    counts["audit.last"] = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return counts


def _encoded(body: dict, field: str, wire: str) -> str:
    parts = []
    for key, value in body.items():
        for one in value if isinstance(value, list) else [value]:
            encoded = wire if key == field else quote(str(one), safe="")
            parts.append(f"{quote(key, safe='')}={encoded}")
    if field not in body:
        parts.append(f"{field}={wire}")
    return "&".join(parts)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_POSTS)
def test_guarded_values_in_any_field_of_any_form_are_refused_and_nothing_is_stored(client, name):
    world = build_world()
    role = _acting_role(name)
    if world[role] is not None:
        client.force_login(world[role])
    grant = world["grants"].get(role, world["grants"]["inspector_in"])
    url = _url(name, world["group"], grant.pk)
    body = BODIES.get(name, {})
    body = body(world["group"]) if callable(body) else dict(body)
    fields = [key for key, value in body.items() if isinstance(value, str)] or ["text"]
    before = snapshot()
    for field in fields:
        for value_id, wire in GUARDED:
            answer = client.post(
                url, _encoded(body, field, wire), content_type="application/x-www-form-urlencoded"
            )
            assert answer.status_code == 400, (field, value_id, answer.status_code)
            page = answer.content.decode()
            assert "UTF-8" in page or "NUL" in page, (
                field,
                value_id,
            )  # the reason (its language: tests/http)
            assert snapshot() == before, (field, value_id)


def test_every_page_form_has_a_role_that_reaches_it():
    assert PAGE_POSTS, "the authorization table lists no page forms"
    assert all(expected_for(MATRIX[(n, "POST")], _acting_role(n), (n, "POST")) != LOGIN for n in PAGE_POSTS)


# --- what a person can type ------------------------------------------------------------------------------

RTL = "abc\u202egnp.exe"
ISOLATE = "a\u2067b\u2069"
ZERO_WIDTH = "群\u200b主"
BOM = "\ufeff群主"
HTML = "<script>alert(1)</script>"  # short enough for a nickname (32)
HTML_IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "javascript:alert(1)"

REFUSED, STORED = "refused", "stored"


def _owner_page(world, name):
    return reverse(name, kwargs={"code": world["group"].code})


# (case id, the form's route builder, role, the form's body builder (value -> dict), the hostile value,
#  what happens, how to read what was stored (world -> str or None))
def _group_name(world):
    return ChatGroup.objects.filter(created_by=world["non_member"]).values_list("name", flat=True).first()


def _settings_name(world):
    world["group"].refresh_from_db()
    return world["group"].name


def _nickname(world):
    world["member"].refresh_from_db()
    return world["member"].nickname


def _description(world):
    return (
        ChatGroup.objects.filter(created_by=world["non_member"]).values_list("description", flat=True).first()
    )


def _last_message(world):
    return Message.objects.filter(group=world["group"]).order_by("-pk").values_list("body", flat=True).first()


def _complaint(world):
    from moderation.models import Complaint

    return Complaint.objects.order_by("-pk").values_list("description", flat=True).first()


def _announcement(world):
    world["group"].refresh_from_db()
    return world["group"].announcement or None


FORMS = {
    "group-create name": (
        lambda w: reverse("group-create"),
        "non_member",
        lambda v: {"name": v, "description": ""},
        _group_name,
    ),
    "group-create description": (
        lambda w: reverse("group-create"),
        "non_member",
        lambda v: {"name": "新群", "description": v},
        _description,
    ),
    "manage settings name": (
        lambda w: _owner_page(w, "group-manage-settings"),
        "owner",
        lambda v: {"name": v, "join_mode": "link", "slow_mode_seconds": "0"},
        _settings_name,
    ),
    "profile nickname": (lambda w: reverse("profile"), "member", lambda v: {"nickname": v}, _nickname),
    "chat message": (
        lambda w: _owner_page(w, "group-chat"),
        "member",
        lambda v: {"body": v, "client_msg_id": "form-1"},
        _last_message,
    ),
    "announcement": (
        lambda w: _owner_page(w, "group-manage-announcement"),
        "owner",
        lambda v: {"text": v},
        _announcement,
    ),
    "complaint description": (
        lambda w: reverse("group-report", kwargs={"code": w["group"].code}),
        "member",
        lambda v: {"category": "CONDUCT_FRAUD_SPAM", "description": v},
        _complaint,
    ),
}

# form -> {value id: outcome}; a value not named is STORED
OUTCOMES = {
    "group-create name": {
        "too_long": REFUSED,
        "rtl": REFUSED,
        "isolate": REFUSED,
        "zero_width": REFUSED,
        "bom": REFUSED,
    },
    "manage settings name": {
        "too_long": REFUSED,
        "rtl": REFUSED,
        "isolate": REFUSED,
        "zero_width": REFUSED,
        "bom": REFUSED,
    },
    "profile nickname": {
        "too_long": REFUSED,
        "rtl": REFUSED,
        "isolate": REFUSED,
        "zero_width": REFUSED,
        "bom": REFUSED,
    },
    "group-create description": {"too_long": REFUSED, "rtl": REFUSED, "isolate": REFUSED},
    "chat message": {"too_long": REFUSED, "rtl": REFUSED, "isolate": REFUSED},
    "announcement": {"too_long": REFUSED, "rtl": REFUSED, "isolate": REFUSED},
    "complaint description": {"too_long": REFUSED, "rtl": REFUSED, "isolate": REFUSED},
}
VALUES = {
    "too_long": "长" * 5001,
    "rtl": RTL,
    "isolate": ISOLATE,
    "zero_width": ZERO_WIDTH,
    "bom": BOM,
    "html": HTML,
    "html_img": HTML_IMG,
    "js_link": JS_LINK,
}
FIELD_CASES = [(form, value_id) for form in FORMS for value_id in VALUES]


@pytest.mark.django_db
@pytest.mark.parametrize(("form", "value_id"), FIELD_CASES, ids=[f"{f}-{v}" for f, v in FIELD_CASES])
def test_typed_hostile_text_is_refused_on_the_field_or_stored_as_text(client, form, value_id):
    world = build_world()
    url_for, role, body_for, stored = FORMS[form]
    client.force_login(world[role])
    value = VALUES[value_id]
    before = snapshot()
    stored_before = stored(world)
    answer = client.post(url_for(world), body_for(value), follow=True)
    assert answer.status_code in (200, 400), answer.status_code
    page = answer.content.decode()
    expected = OUTCOMES.get(form, {}).get(value_id, STORED)
    if expected == REFUSED:
        assert stored(world) == stored_before
        changed = {k for k, v in snapshot().items() if before.get(k) != v}
        assert changed <= {"identity.UserSession"}, changed  # nothing stored, no audit event
        shown = ("has-error", 'class="errors"', "flash-error")
        assert any(mark in page for mark in shown), page[:3000]  # the refusal is shown
    else:
        assert stored(world) is not None and value.strip() in stored(world)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert 'href="javascript:' not in page


# --- accepted text is escaped wherever it is shown ---------------------------------------------------------


@pytest.mark.django_db
def test_html_in_names_messages_and_reports_is_escaped_on_every_page_that_shows_it(client):
    from groups import services
    from moderation import selectors as moderation_selectors
    from moderation import services as moderation_services
    from moderation.models import Case
    from tests.conftest import actor_for

    world = build_world()
    owner, member, group = world["owner"], world["member"], world["group"]
    type(member).objects.filter(pk=member.pk).update(nickname="<b>昵称</b>")
    services.group_settings_update(actor=actor_for(owner), group=group, name="<i>x</i>" + HTML)
    services.group_announcement_set(actor=actor_for(owner), group=group, text=HTML_IMG + " " + JS_LINK)
    member.refresh_from_db()
    services.message_send(
        actor=actor_for(member), group=group, body=HTML + " " + JS_LINK, client_msg_id="esc-1"
    )
    moderation_services.complaint_file(
        actor=actor_for(member),
        target=moderation_selectors.report_target_for_actor(
            actor_for(member), group.code, message_seq=None, member_id=None
        ),
        category="CONDUCT_FRAUD_SPAM",
        description=HTML,
    )
    pages = {
        "chat": (owner, reverse("group-chat", kwargs={"code": group.code})),
        "manage": (owner, reverse("group-manage", kwargs={"code": group.code})),
        "settings": (owner, reverse("group-manage-settings", kwargs={"code": group.code})),
        "home": (member, reverse("home")),
        "notifications": (member, reverse("notifications")),
        "cases": (world["supervisor"], reverse("case-list")),
        "case": (world["supervisor"], reverse("case-detail", kwargs={"pk": Case.objects.latest("pk").pk})),
    }
    for page_name, (viewer, url) in pages.items():
        client.force_login(viewer)
        answer = client.get(url)
        assert answer.status_code == 200, page_name
        page = answer.content.decode()
        for raw in ("<script>alert", "<img src=x", "<b>昵称</b>", "<i>x</i>", 'href="javascript:'):
            assert raw not in page, (page_name, raw)
