"""Compliance pages: search the audit trail and network logs, export CSV (itself audited), legal holds."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit import chain, selectors, services
from audit.forms import HoldForm, LiftForm, SearchForm
from audit.models import ChainCheck, LegalHold
from common.actors import Actor
from common.policies import PolicyDenied

EXPORT_LIMIT = 100_000


def _require_staff(request) -> None:
    user = request.user
    if not (user.is_staff and user.has_perm("audit.export_auditevent")):
        raise PolicyDenied("not_allowed", _("Only compliance staff may search the logs."))


def _results(form):
    data = form.cleaned_data
    user_id = None
    if data.get("user"):
        raw = data["user"].strip()
        user_id = _user_id(raw)
    if data.get("source") == "logs":
        return "logs", selectors.network_log_search(
            user_id=user_id,
            group_code=data.get("group_code", ""),
            ip=data.get("ip") or "",
            kind=data.get("kind", ""),
            message_id=data.get("message_id"),
            since=data.get("since"),
            until=data.get("until"),
        )
    return "events", selectors.audit_event_search(
        actor_id=user_id,
        target_type=data.get("target_type", ""),
        target_id=data.get("target_id", ""),
        group_code=data.get("group_code", ""),
        ip=data.get("ip") or "",
        event_type=data.get("event_type", ""),
        since=data.get("since"),
        until=data.get("until"),
    )


def _user_id(raw: str) -> int:
    """A user by id, account name or mainland mobile; -1 (matches nothing) when there is none.
    The audit app knows users only through AUTH_USER_MODEL."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    found = users.filter(username__iexact=raw).first()
    has_phone = any(f.name == "phone" for f in users.model._meta.fields)
    digits = raw.isascii() and raw.isdigit()
    if found is None and has_phone and digits and len(raw) == 11:
        found = users.filter(phone=f"+86{raw}").first()
    if found is None and digits and len(raw) < 11:
        found = users.filter(pk=int(raw)).first()
    return found.pk if found else -1


def _names(user_ids) -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(pk__in={u for u in user_ids if u})
    return {u.pk: f"{u.display_name} ({u.username})" for u in users}


@login_required
def audit_search(request):
    _require_staff(request)
    form = SearchForm(request.GET or None)
    page, source, names = None, "events", {}
    if form.is_valid():
        source, rows = _results(form)
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        names = _names(getattr(row, "actor_id" if source == "events" else "user_id") for row in page)
    last_check = ChainCheck.objects.order_by("-ran_at").first()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "page": page,
            "source": source,
            "names": names,
            "last_check": last_check,
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value):
        return value


@login_required
def audit_export(request):
    """CSV of what the search shows (at most 100,000 rows); the export is recorded in the audit trail."""
    _require_staff(request)
    form = SearchForm(request.GET or None)
    if not form.is_valid():
        messages.error(request, _("Correct the search before exporting."))
        return redirect("audit-search")
    source, rows = _results(form)
    rows = rows[:EXPORT_LIMIT]
    filters = {k: str(v) for k, v in form.cleaned_data.items() if v not in (None, "")}
    services.audit_export_record(
        actor=Actor.from_request(request), what=source, filters=filters, rows=rows.count()
    )
    # The columns the hashes cover, so an exported row can be checked against its digest or chain.
    header = list(chain.LOG_FIELDS) if source == "logs" else [*chain.EVENT_FIELDS, "hash"]
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # so that spreadsheet programs read the Chinese text as UTF-8
        yield writer.writerow(header)
        for row in rows.values_list(*header).iterator(chunk_size=2000):
            yield writer.writerow([_csv_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{source}.csv"'
    return response


def _csv_safe(value):
    """Cells that a spreadsheet would run as a formula are quoted as text."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_http_methods(["GET", "POST"])
def holds(request):
    _require_staff(request)
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.legal_hold_set(actor=Actor.from_request(request), **form.cleaned_data)
        except PolicyDenied as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Hold set. Nothing it covers will be purged until it is lifted."))
            return redirect("legal-holds")
    return render(
        request,
        "audit/holds.html",
        {"form": form, "holds": selectors.legal_hold_list(), "lift_form": LiftForm()},
    )


@login_required
@require_POST
def hold_lift(request, pk):
    _require_staff(request)
    hold = get_object_or_404(LegalHold, pk=pk, lifted_at__isnull=True)
    form = LiftForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("State why the hold can be lifted."))
    else:
        services.legal_hold_lift(
            actor=Actor.from_request(request), hold=hold, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("Hold lifted."))
    return redirect("legal-holds")
