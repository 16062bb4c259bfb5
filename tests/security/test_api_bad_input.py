"""Bad input through the REST API (issue 13): deeply nested JSON, NUL and control characters, lone
surrogates, bytes that are not UTF-8, HTML and script, ``javascript:`` links, direction overrides,
zero-width characters and oversized bodies. Each is either taken as the text it is (a chat message may
quote HTML: the pages escape it) or refused with a 4xx JSON body carrying a ``code`` and a translated
``detail``; never a 500, and nothing is stored half-way."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from groups.models import ChatGroup, Message
from moderation.models import Complaint, Sanction
from tests.security.fuzz_world import build_world

JSON = "application/json"

BAD_TEXTS = {
    "nul": "a\x00b",
    "escape": "red \x1b[31m text",
    "lone_surrogate": "\ud800",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "javascript_link": "javascript:alert(document.cookie)",
    "rtl_override": "abc\u202egnp.exe",
    "zero_width": "a\u200bb\u200d",
    "long": "长" * 20000,
}


@pytest.fixture
def world(db):
    return build_world()


def _client(user, language: str = "zh-hans") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def _encoded(data) -> bytes:
    """JSON as a client sends it: a lone surrogate travels as its ``\\ud800`` escape."""
    return json.dumps(data).encode()


def _assert_clear_refusal(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(JSON)
    body = response.json()
    assert body["code"] and isinstance(body["code"], str)
    assert body["detail"]


def _assert_not_a_crash(response):
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith(JSON)
    if response.status_code >= 400:
        _assert_clear_refusal(response, response.status_code)


def _state(world) -> dict:
    group = ChatGroup.objects.get(pk=world.group.pk)
    return {
        "messages": Message.objects.filter(group=group).count(),
        "name": group.name,
        "announcement": group.announcement,
        "complaints": Complaint.objects.count(),
        "sanctions": Sanction.objects.count(),
    }


def _operations(world):
    """(user, path, body with the bad text in place of {}) for the API's text fields."""
    code = world.group.code
    return {
        "message": (
            world.member,
            f"/api/groups/{code}/messages/",
            lambda t: {"body": t, "client_msg_id": "bad-1"},
        ),
        "group_name": (world.owner, f"/api/groups/{code}/settings/", lambda t: {"name": t}),
        "announcement": (world.owner, f"/api/groups/{code}/announcement/", lambda t: {"text": t}),
        "complaint": (
            world.member,
            "/api/complaints/",
            lambda t: {
                "group": code,
                "member_id": world.admin.pk,
                "category": "HARM_OTHER",
                "description": t,
            },
        ),
        "sanction_note": (
            world.staff,
            "/api/sanctions/",
            lambda t: {"kind": "user_mute", "category": "HARM_OTHER", "user_id": world.member.pk, "note": t},
        ),
    }


METHODS = {"group_name": "patch", "announcement": "put"}


@pytest.mark.parametrize("text_name", list(BAD_TEXTS))
@pytest.mark.parametrize("field", ["message", "group_name", "announcement", "complaint", "sanction_note"])
def test_bad_text_in_every_field_is_refused_clearly_or_kept_as_text(world, field, text_name):
    user, path, body = _operations(world)[field]
    text = BAD_TEXTS[text_name]
    before = _state(world)
    method = METHODS.get(field, "post")
    response = getattr(_client(user), method)(path, _encoded(body(text)), content_type=JSON)
    _assert_not_a_crash(response)
    if response.status_code >= 400:
        assert _state(world) == before, "a refused request stored something"
    if text_name in ("nul", "lone_surrogate", "escape"):  # never text: PostgreSQL or the screen would choke
        assert response.status_code == 400
    if text_name == "html" and field == "message":  # a quote of HTML is text, kept as sent, escaped on pages
        assert response.status_code == 201
        assert response.json()["body"] == text


def test_a_refusal_is_in_the_persons_language(world):
    path = f"/api/groups/{world.group.code}/messages/"
    chinese = _client(world.member).post(
        path, _encoded({"body": "a\x00b", "client_msg_id": "z"}), content_type=JSON
    )
    english = _client(world.member, "en").post(
        path, _encoded({"body": "a\x00b", "client_msg_id": "z"}), content_type=JSON
    )
    assert chinese.json()["code"] == english.json()["code"]
    assert chinese.json()["detail"] != english.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.json()["detail"])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested_arrays"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="nested_objects"),
        pytest.param(b'{"body": "\xff\xfe\xc3\x28", "client_msg_id": "u"}', id="invalid_utf8"),
        pytest.param(b'{"body": NaN, "client_msg_id": "n"}', id="nan"),
        pytest.param(b'{"body": "x", "client_msg_id": ', id="truncated"),
        pytest.param(b'{"body": "x", "client_msg_id": "' + b"9" * 5000 + b'"}', id="long_id"),
        pytest.param(b'{"body": "x", "client_msg_id": ' + b"9" * 5000 + b"}", id="huge_number"),
        pytest.param(b'["body", "x"]', id="not_an_object"),
        pytest.param(b"", id="empty"),
    ],
)
def test_malformed_json_is_a_clear_400(world, raw):
    before = _state(world)
    response = _client(world.member).post(f"/api/groups/{world.group.code}/messages/", raw, content_type=JSON)
    _assert_clear_refusal(response, 400)
    assert _state(world) == before


def test_a_deeply_nested_body_is_refused_in_the_persons_language(world):
    raw = b"[" * 100_000 + b"]" * 100_000
    response = _client(world.owner).patch(f"/api/groups/{world.group.code}/settings/", raw, content_type=JSON)
    _assert_clear_refusal(response, 400)
    assert response.json()["code"] == "parse_error"
    assert "JSON" in response.json()["detail"]


def test_an_oversized_json_body_is_413_before_it_is_parsed(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    before = _state(world)
    raw = _encoded({"body": "长" * 100_000, "client_msg_id": "big"})
    response = _client(world.member).post(f"/api/groups/{world.group.code}/messages/", raw, content_type=JSON)
    _assert_clear_refusal(response, 413)
    assert response.json()["code"] == "body_too_large"
    assert _state(world) == before


def test_a_form_body_without_the_decision_decides_nothing(world):
    """A form body's missing ``approve`` was read as false (an unticked checkbox): the join request
    declined, the four-eyes sanction refused, on no decision at all; a settings form without
    ``announcement_only`` switched it off."""
    from groups.models import JoinRequest

    join_request = JoinRequest.objects.get(pk=world.ids["join_request"][0])
    response = _client(world.owner).post(
        f"/api/groups/{world.group.code}/join-requests/{join_request.pk}/decide/", {"note": "x"}
    )
    _assert_clear_refusal(response, 400)
    assert "approve" in response.json()["detail"]
    join_request.refresh_from_db()
    assert join_request.status == "pending"

    sanction = Sanction.objects.get(pk=world.ids["sanction"][0])
    response = _client(world.staff).post(
        f"/api/sanctions/{sanction.pk}/decide/",
        "note=dismissed",
        content_type="application/x-www-form-urlencoded",
    )
    _assert_clear_refusal(response, 400)
    sanction.refresh_from_db()
    assert sanction.status == "pending"

    ChatGroup.objects.filter(pk=world.group.pk).update(announcement_only=True)
    response = _client(world.owner).patch(
        f"/api/groups/{world.group.code}/settings/",
        "description=new",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    assert ChatGroup.objects.get(pk=world.group.pk).announcement_only is True
