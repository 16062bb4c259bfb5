"""Issue 13: bad input at the HTTP layer itself, sent byte for byte to a real uvicorn (no client tidies it
up): bytes that are not UTF-8 in the path, the query string or a form body, NUL and other control
characters, an oversized form body, a huge query string, too many fields. Each is a 4xx that says why (in
Chinese first), never a 500, and nothing is stored.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from audit.models import AuditEvent
from groups.models import ChatGroup
from tests.security.badinput_server import body_of, serve, status_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def uvicorn_server():
    yield from serve()


REFUSED_ZH = "请求被拒绝"  # the 400 page's heading


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _get(target: bytes, cookie: str = "") -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    if cookie:
        lines.append(b"Cookie: " + cookie.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


CSRF = "b" * 32  # a token the CSRF check accepts: the request would reach its view but for its input


def _post(target: bytes, body: bytes, cookie: str = "", *, length: int | None = None) -> bytes:
    body = f"csrfmiddlewaretoken={CSRF}&".encode() + body
    lines = [
        b"POST " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: " + str(len(body) if length is None else length).encode(),
    ]
    if cookie:
        lines.append(b"Cookie: " + cookie.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# (row id, the request (a function of the group's code), the status expected, a text the answer shows)
HOSTILE_REQUESTS = [
    # A path is a route's: what no converter takes is a 404 before any query (groups.converters).
    ("path_invalid_utf8", lambda code: _get(b"/groups/%FF%FE%FD%FC/"), 404, ""),
    ("path_lone_surrogate", lambda code: _get(b"/g/%ED%A0%80/"), 404, ""),
    ("path_nul", lambda code: _get(b"/legal/%00/"), 404, ""),
    ("path_nul_in_token", lambda code: _get(b"/files/a%00b/"), 404, ""),
    ("query_invalid_utf8", lambda code: _get(f"/groups/{code}/search/?q=%FF".encode()), 400, REFUSED_ZH),
    (
        "query_lone_surrogate",
        lambda code: _get(f"/groups/{code}/search/?q=%ED%A0%80".encode()),
        400,
        REFUSED_ZH,
    ),
    ("query_nul", lambda code: _get(f"/groups/{code}/search/?q=a%00b".encode()), 400, REFUSED_ZH),
    ("query_escape", lambda code: _get(f"/groups/{code}/search/?q=%1B%5B31m".encode()), 400, REFUSED_ZH),
    ("query_nul_in_name", lambda code: _get(b"/compliance/audit/?user%00=1"), 400, REFUSED_ZH),
    ("query_raw_non_utf8", lambda code: _get(f"/groups/{code}/search/?q=\xff".encode("latin-1")), 400, ""),
    ("query_huge", lambda code: _get(f"/groups/{code}/search/?q={'x' * 60_000}".encode()), None, ""),
    ("query_many_fields", lambda code: _get(b"/notifications/?" + b"&".join([b"k=1"] * 2000)), 400, ""),
    (
        "api_query_nul",
        lambda code: _get(f"/api/groups/{code}/messages/?after=%00".encode()),
        400,
        "bad_input",
    ),
    ("form_invalid_utf8", lambda code: _post(b"/groups/new/", b"name=%FF%FE&description="), 400, REFUSED_ZH),
    ("form_lone_surrogate", lambda code: _post(b"/groups/new/", b"name=%ED%B0%80"), 400, REFUSED_ZH),
    ("form_raw_non_utf8", lambda code: _post(b"/groups/new/", b"name=\xc3\x28"), 400, REFUSED_ZH),
    ("form_nul", lambda code: _post(b"/groups/new/", b"name=a%00b"), 400, REFUSED_ZH),
    ("form_nul_in_name", lambda code: _post(b"/groups/new/", b"na%00me=x"), 400, REFUSED_ZH),
    ("form_control", lambda code: _post(b"/accounts/profile/", b"nickname=a%07b"), 400, REFUSED_ZH),
    ("form_c1_control", lambda code: _post(b"/accounts/profile/", b"nickname=a%C2%85b"), 400, REFUSED_ZH),
    (
        "form_oversized",  # above Django's DATA_UPLOAD_MAX_MEMORY_SIZE, below the upload limit
        lambda code: _post(b"/groups/new/", b"name=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)),
        400,
        REFUSED_ZH,
    ),
    (
        "form_over_the_upload_limit",  # refused on its declared length before a byte is read
        lambda code: _post(b"/groups/new/", b"name=x", length=settings.ATTACHMENT_MAX_BYTES + 2 * 2**20),
        413,
        "上传",
    ),
    ("form_many_fields", lambda code: _post(b"/groups/new/", b"&".join([b"f=1"] * 2000)), 400, REFUSED_ZH),
]


@pytest.mark.parametrize(
    ("request_for", "status", "shown"),
    [row[1:] for row in HOSTILE_REQUESTS],
    ids=[row[0] for row in HOSTILE_REQUESTS],
)
def test_hostile_request_gets_a_clear_4xx_and_stores_nothing(
    uvicorn_server, owner, group, request_for, status, shown
):
    cookie = _cookie(owner)
    events, groups = AuditEvent.objects.count(), ChatGroup.objects.count()
    request = request_for(group.code)
    # Signed in as the group's owner, so that the request would otherwise reach its view.
    cookie += f"; {settings.CSRF_COOKIE_NAME}={CSRF}"
    request = request.replace(b"Connection: close", b"Connection: close\r\nCookie: " + cookie.encode(), 1)
    answer = uvicorn_server.raw(request)
    code = status_of(answer)
    assert code != 0, answer[:200]
    if status is None:
        assert code < 500 and code != 0
    else:
        assert code == status, answer[:600]
    if shown:
        assert shown in body_of(answer)
    assert (AuditEvent.objects.count(), ChatGroup.objects.count()) == (events, groups)


def test_the_refusal_page_speaks_english_when_chosen(client, owner):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    answer = client.get("/notifications/", {"kind": "a\x00b"})
    assert answer.status_code == 400
    assert "control characters" in answer.content.decode()


def test_an_ordinary_form_with_tabs_newlines_and_chinese_is_not_refused(client, owner, group):
    """The guard refuses only what cannot be text: line breaks, tabs and any script pass to the form."""
    client.force_login(owner)
    answer = client.post(
        f"/groups/{group.code}/manage/announcement/", {"text": "第一行\r\n\t第二行 «ок» 🎉 <b>"}
    )
    assert answer.status_code in (200, 302)
    group.refresh_from_db()
    assert group.announcement == "第一行\n\t第二行 «ок» 🎉 <b>"  # line breaks as one LF
