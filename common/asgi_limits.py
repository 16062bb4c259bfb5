"""Refuse an HTTP body that is too large before Django reads it (Django's ASGI handler spools every body
to a temporary file before any view runs, so a view's own check comes too late to spare the disk)."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

# Room for the multipart envelope and the other form fields around the largest allowed file.
BODY_SLACK = 1024 * 1024


def body_limit() -> int:
    return settings.ATTACHMENT_MAX_BYTES + BODY_SLACK


class BodySizeLimit:
    """ASGI middleware: 413 for a declared ``Content-Length`` above the limit, before the body is read; a
    body without a length that grows past it gets the 413 as soon as it does, and is read no further."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(scope, headers, send, limit)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    await self._refuse(scope, headers, send, limit)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing more
            return message

        return await self.app(scope, limited_receive, send)

    async def _refuse(self, scope, headers, send, limit: int) -> None:
        language = _cookie_language(headers.get(b"cookie", b""))
        with translation.override(language):
            detail = _("The upload is too large: at most %(mb)d MB.") % {
                "mb": settings.ATTACHMENT_MAX_BYTES // 2**20
            }
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps({"code": "body_too_large", "detail": detail}, ensure_ascii=False).encode()
            content_type = b"application/json"
        else:
            body = detail.encode()
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _cookie_language(cookie: bytes) -> str:
    chosen = ""
    for part in cookie.decode("latin-1").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == settings.LANGUAGE_COOKIE_NAME:
            chosen = value
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
