"""R11.2: a suspended account is not in use. While the suspension lasts its holder may learn of the measure
and answer it (their sanctions and the appeal, their notices, the rule documents), look after the account
itself (its sessions, its deletion, its own records) and sign out; every other page, API call and the chat
socket is refused with the suspension and its end. Reading groups is refused too: a blacklisted or muted
member still reads (those measures restrict what they do, R11.3, R9.2), a suspended one does not.

Compared with now on every request (one query for a signed-in person), so a suspension takes effect at once
and ends by itself; adding one also signs the account out everywhere (``identity.services``)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from common.realtime import CLOSE_SUSPENDED
from identity import policies

# Route names a suspended account still reaches (what it needs to learn of the measure and answer it).
ALLOWED_WHILE_SUSPENDED = frozenset(
    {
        "logout",
        "login",
        "set_language",
        "healthz",
        "my-sanctions",
        "sanction-appeal",
        "notifications",
        "notifications-count",
        "notifications-read",
        "notifications-read-all",
        "notification-preferences",
        "legal-index",
        "legal-document",
        "legal-version",
        "legal-diff",
        "profile",
        "sessions",
        "account-delete",
        "my-credit",
        "my-reports",
    }
)

__all__ = ["CLOSE_SUSPENDED", "SuspendedAccountGate", "SuspendedSocketGate"]


def _suspension(user):
    """The refusal for a signed-in account that is suspended right now, or None."""
    if user is None or not user.is_authenticated:
        return None
    decision = policies.can_use_account(user)
    return decision if not decision and decision.code == "account_suspended" else None


class SuspendedAccountGate:
    """Django middleware (after authentication): refuses a suspended account everywhere but
    ``ALLOWED_WHILE_SUSPENDED``, as a page or, under ``/api/``, as the API's JSON refusal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = match.view_name if match is not None else None  # namespaced: admin:login is not login
        if name in ALLOWED_WHILE_SUSPENDED or request.path.startswith("/static/"):
            return None
        refusal = _suspension(getattr(request, "user", None))
        if refusal is None:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"code": refusal.code, "detail": refusal.reason}, status=403)
        return render(
            request,
            "identity/suspended.html",
            {"reason": refusal.reason, "sanctions_url": reverse("my-sanctions")},
            status=403,
        )


class SuspendedSocketGate:
    """ASGI middleware for the chat socket, inside the authentication stack: a suspended account's socket is
    refused before it opens."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and (
            await database_sync_to_async(_suspension)(scope.get("user")) is not None  # a refusal is falsy
        ):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": CLOSE_SUSPENDED})
            return None
        return await self.app(scope, receive, send)
