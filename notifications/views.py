"""The notification centre's pages: the list (personal and group notices together), marking read, the
unread count for the header's bell, and the person's preferences per kind.

Every change goes through ``notifications.services``; reading the list and the count is
``notifications.selectors``. The live part (the bell and toasts on every page) is ``static/js/notify.js``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actors import Actor
from notifications import selectors, services
from notifications.forms import MarkReadForm, NotificationFilterForm, PreferencesForm
from notifications.models import GroupNotice, NotificationPreference

LIST_LIMIT = 100


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return None


def _local_link(link: str) -> str:
    """Only a path on this site is offered as the place to act (never another site or a script)."""
    return link if link.startswith("/") and not link.startswith("//") and "\\" not in link else ""


def _shown(item: dict) -> dict:
    return {
        **item,
        "link": _local_link(item.get("link") or ""),
        "when": datetime.fromisoformat(item["created_at"]),
        "key": f"{item['scope']}-{item['id']}",
    }


@login_required
@require_GET
def notification_list(request):
    form = NotificationFilterForm(request.GET or None)
    filters = form.filters()
    items = selectors.notification_list(request.user, limit=LIST_LIMIT, **filters)
    blank = {
        "id": 0,
        "scope": "personal",
        "kind": "",
        "title": "",
        "body": "",
        "link": "/",
        "severity": "info",
        "created_at": "",
        "read": False,
        "key": "",
    }
    return render(
        request,
        "notifications/list.html",
        {
            "form": form,
            "filters": filters,
            "filtered": filters["unread_only"] or bool(filters["kind"]),
            "items": [_shown(item) for item in items],
            "cut": len(items) >= LIST_LIMIT,
            "blank": blank,
        },
    )


def _back(request) -> HttpResponseRedirect:
    return HttpResponseRedirect(_safe_next(request) or reverse("notifications"))


@login_required
@require_POST
def mark_read(request):
    """One notice read. A group notice moves the member's read cursor for that group, so the group's earlier
    notices count as read too. Someone else's notice, or one of a group they are not in, changes nothing."""
    form = MarkReadForm(request.POST)
    changed = 0
    if form.is_valid():
        actor = Actor.from_request(request)
        pk = form.cleaned_data["id"]
        if form.cleaned_data["scope"] == "personal":
            changed = services.notifications_mark_read(actor=actor, ids=[pk])
        else:
            key = GroupNotice.objects.filter(pk=pk).values_list("group_key", flat=True).first()
            if key and key in selectors.groups_of(request.user):
                changed = services.notifications_mark_read(actor=actor, group_key=key)
    if _wants_json(request):  # notify.js, as the member follows a notice's link: no page, no message
        return JsonResponse({"changed": changed, "unread": selectors.unread_count(request.user)})
    if changed:
        messages.success(request, _("Marked as read."))
    else:
        messages.info(request, _("There was nothing unread to mark."))
    return _back(request)


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


@login_required
@require_POST
def mark_all_read(request):
    services.notifications_mark_read(actor=Actor.from_request(request))
    messages.success(request, _("All notifications are marked as read."))
    return _back(request)


@require_GET
@never_cache
def unread_count(request):
    """The bell's number, for a page that heard of a group notice (whose frame carries no count)."""
    if not request.user.is_authenticated:
        return JsonResponse(
            {"code": "not_authenticated", "detail": _("Please sign in first.")},
            status=403,
        )
    return JsonResponse({"unread": selectors.unread_count(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    saved = {p.kind: p for p in NotificationPreference.objects.filter(user=request.user)}
    form = PreferencesForm(request.POST if request.method == "POST" else None, saved=saved)
    if request.method == "POST" and form.is_valid():
        services.notification_preferences_save(actor=Actor.from_request(request), choices=form.choices())
        messages.success(request, _("Your notification preferences are saved."))
        return redirect("notification-preferences")
    start, end = settings.NOTIFY_QUIET_HOURS
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "rows": form.bound_rows(),
            "sms_per_day": settings.NOTIFY_SMS_PER_DAY,
            "quiet_start": f"{start:02d}:00",
            "quiet_end": f"{end:02d}:00",
        },
    )
