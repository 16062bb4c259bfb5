"""The review queue's pages (R12.1): the queue, "claim next", an item with its full context and history
and its decisions, and bulk decisions for clear spam.

The rules are not here: items are fetched and authorised by ``moderation.selectors``, every change goes
through ``moderation.services`` (which decides through the owning app's service), and who may do what is
``moderation.policies``. Refusals and bad input come back as a message on the page, never an error page.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied
from common.reasons import Reason, ReasonKind
from moderation import policies, queue, rules, selectors, services
from moderation.models import ReviewKind

BULK_MAX = 200
QUERY_KEYS = ("kind", "category", "overdue", "mine")


def _filters(request, kinds: list[str]) -> selectors.QueueFilters:
    """The filters from the query string; anything unknown is dropped with a message."""
    kind = request.GET.get("kind", "")
    category = request.GET.get("category", "")
    bad = (kind and kind not in kinds) or (category and category not in ReasonKind.values)
    if bad:
        messages.warning(request, _("A filter was not understood and has been ignored."))
    return selectors.QueueFilters(
        kind=kind if kind in kinds else "",
        category_kind=category if category in ReasonKind.values else "",
        overdue=request.GET.get("overdue") == "1",
        mine=request.GET.get("mine") == "1",
    )


def _query(filters: selectors.QueueFilters, **changes) -> str:
    values = {
        "kind": filters.kind,
        "category": filters.category_kind,
        "overdue": "1" if filters.overdue else "",
        "mine": "1" if filters.mine else "",
        **changes,
    }
    return "&".join(f"{key}={value}" for key, value in values.items() if value)


def _back_to_queue(request) -> str:
    """Where a decision returns: the queue with the filters it came from (``back``: the queue's own address
    only), or the queue."""
    target = request.POST.get("back") or request.GET.get("back") or ""
    home = reverse("compliance-queue")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if target and safe and target.startswith(home) else home


def _kind_labels() -> dict[str, str]:
    return {kind: label for kind, label in ReviewKind.choices}


def _decorate(items: list, now) -> list:
    """What each row shows, worked out once per distinct value rather than by template tags per row (a page
    of 50 rows stays cheap to render)."""
    kinds = {value: str(label) for value, label in ReviewKind.choices}
    reasons = {value: str(label) for value, label in Reason.choices}
    reports = functools.lru_cache(maxsize=None)(
        lambda n: ngettext("%(counter)s report", "%(counter)s reports", n) % {"counter": n}
    )
    members = functools.lru_cache(maxsize=None)(
        lambda n: ngettext("%(counter)s member", "%(counter)s members", n) % {"counter": n}
    )
    for item in items:
        item.kind_label = kinds.get(item.kind, item.kind)
        item.category_label = reasons.get(item.category, "") if item.category else ""
        item.reports_text = reports(item.reporters) if item.reporters else ""
        item.members_text = members(item.group_size)
        item.overdue = item.deadline < now
        item.held = (
            item.claimed_by_id is not None and item.claimed_until is not None and item.claimed_until > now
        )
        item.due_text = _("due %(when)s") % {
            "when": date_format(timezone.localtime(item.deadline), "m-d H:i")
        }
        if item.held:
            item.held_text = _("held by %(name)s until %(until)s") % {
                "name": item.claimed_by.display_name,
                "until": date_format(timezone.localtime(item.claimed_until), "H:i"),
            }
    return items


@login_required
@require_GET
def queue_page(request):
    """R12.1: everything waiting for a person, in one list: counts per kind (overdue highlighted), filters
    by kind, kind of reason, overdue and mine, highest priority first then the nearest deadline, "claim next"
    and bulk decisions for clear spam. Its query count does not depend on the queue's size."""
    actor = Actor.from_request(request)
    policies.require_work_queue(request.user)
    services.review_queue_sync(actor=actor, quick=True)
    kinds = policies.queue_kinds_for(request.user)
    filters = _filters(request, kinds)
    labels = _kind_labels()
    counts = selectors.queue_counts(request.user, kinds)
    now = timezone.now()
    items = _decorate(selectors.queue_list(request.user, kinds, filters), now)
    bulk_kinds = {kind for kind in kinds if any(c.bulk for c in queue.get(kind).choices)}
    return render(
        request,
        "moderation/queue/queue.html",
        {
            "items": items,
            "counts": counts,
            "kind_tabs": [
                {
                    "kind": kind,
                    "label": labels[kind],
                    "count": counts["by_kind"][kind],
                    "query": _query(filters, kind=kind),
                }
                for kind in kinds
            ],
            "all_query": _query(filters, kind=""),
            "filters": filters,
            "category_choices": ReasonKind.choices,
            "bulk_kinds": bulk_kinds,
            "now": now,
            "here": request.get_full_path(),
            "back_query": urlencode({"back": request.get_full_path()}),
        },
    )


@login_required
@require_POST
def claim_next(request):
    """R12.1: take the most urgent item nobody holds (of one kind, if the queue was filtered) and open it."""
    actor = Actor.from_request(request)
    policies.require_work_queue(request.user)
    kind = request.POST.get("kind", "")
    try:
        services.review_queue_sync(actor=actor, quick=True)
        item = services.review_claim_next(actor=actor, kinds=[kind] if kind else None)
    except PolicyDenied as exc:
        messages.error(request, exc.message)
        return redirect(_back_to_queue(request))
    if item is None:
        messages.info(request, _("Nothing is waiting for you. Well done."))
        return redirect(_back_to_queue(request))
    return redirect("compliance-queue-item", pk=item.pk)


def _choices(source, obj, user) -> list[dict]:
    return [
        {
            "choice": choice,
            "note": _(choice.default_note) if choice.default_note else "",
            "note_label": choice.note_label or _("Note"),
        }
        for choice in source.choices
        if obj is not None and choice.offered_to(user, obj)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def item_page(request, pk):
    """R12.1: one item with its full context (a case: the frozen evidence and every complaint; a held
    message: the message and its screening evidence; a group request; a real-name review), the target's
    history in the last six months, and its decisions, each carried out by the owning app's service."""
    actor = Actor.from_request(request)
    item = selectors.review_item_get_for_staff(request.user, pk)
    if request.method == "POST":
        return _item_post(request, actor, item)
    source = queue.get(item.kind)
    obj = source.load([item.object_id]).get(item.object_id)
    waiting = obj is not None and source.is_pending(obj)
    decision = policies.can_decide_item(request.user, item)
    claimed_by_me = (
        item.claimed_by_id == request.user.pk
        and item.claimed_until is not None
        and item.claimed_until > timezone.now()
    )
    return render(
        request,
        "moderation/queue/item.html",
        {
            "item": item,
            "source": source,
            "obj": obj,
            "waiting": waiting,
            "context_template": source.template,
            **(source.context(obj) if obj is not None else {}),
            "choices": _choices(source, obj, request.user) if waiting and item.status == "open" else [],
            "refusal": "" if decision else decision.reason,  # why this reviewer cannot decide it now
            "refusal_code": "" if decision else decision.code,
            "claimed_by_me": claimed_by_me,
            "can_release": bool(policies.can_release_claim(request.user, item)),
            "history": selectors.target_history(item),
            "sanctions": _sanctions(item),
            "now": timezone.now(),
            "back": _back_to_queue(request),
        },
    )


def _sanctions(item) -> list:
    """R11, R12.1: measures on the same member or group in the last six months (the sanctions' own
    selector), newest first."""
    history = getattr(selectors, "sanction_history", None)
    if history is None:
        return []
    since = timezone.now() - timedelta(days=rules.history_days())
    found = []
    if item.subject_id is not None:
        found += history(target_user=item.subject, limit=20)
    if item.group_id is not None:
        found += [s for s in history(target_group=item.group, limit=20) if s not in found]
    return sorted((s for s in found if s.created_at >= since), key=lambda s: s.created_at, reverse=True)


def _item_post(request, actor, item):
    action = request.POST.get("action", "")
    try:
        if action == "claim":
            services.review_claim(actor=actor, item=item)
            messages.success(request, _("You hold this item now; nobody else will be given it."))
        elif action == "release":
            services.review_claim_release(actor=actor, item=item)
            messages.success(request, _("The item is back in the queue."))
            return redirect(_back_to_queue(request))
        elif action == "decide":
            services.review_item_decide(
                actor=actor,
                item=item,
                decision=request.POST.get("decision", ""),
                note=request.POST.get("note", ""),
            )
            messages.success(request, _("Decided. The people concerned are told."))
            if request.POST.get("then") == "next":
                following = services.review_claim_next(actor=actor)
                if following is not None:
                    return redirect("compliance-queue-item", pk=following.pk)
                messages.info(request, _("Nothing else is waiting for you."))
            return redirect(_back_to_queue(request))
        else:
            messages.error(request, _("Unknown action."))
    except PolicyDenied as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("compliance-queue-item", pk=item.pk)


def _ids(values) -> list[int]:
    ids = []
    for raw in values:
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19:
            ids.append(int(raw))
    return list(dict.fromkeys(ids))


@login_required
@require_POST
def bulk(request):
    """R12.1: clear spam in one go: the selected held messages are removed and the selected reported
    messages taken down and their cases closed as upheld, one service call per item, with a summary of
    what was done and what was skipped (and why)."""
    actor = Actor.from_request(request)
    policies.require_work_queue(request.user)
    ids = _ids(request.POST.getlist("items"))
    if not ids:
        messages.error(request, _("Select the items to remove first."))
        return redirect(_back_to_queue(request))
    if len(ids) > BULK_MAX:
        messages.error(request, _("Select at most %(max)d items at a time.") % {"max": BULK_MAX})
        return redirect(_back_to_queue(request))
    done, skipped = 0, Counter()
    for item in selectors.review_items_for_staff(request.user, ids):
        choice = next((c for c in queue.get(item.kind).choices if c.bulk), None)
        if choice is None:
            skipped[_("this kind of item cannot be removed in bulk")] += 1
            continue
        try:
            services.review_item_decide(
                actor=actor, item=item, decision=choice.code, note=_(choice.default_note)
            )
        except PolicyDenied as exc:
            skipped[exc.message] += 1
        except ValidationError as exc:
            skipped[" ".join(exc.messages)] += 1
        else:
            done += 1
    missing = len(ids) - done - sum(skipped.values())
    if missing:
        skipped[_("not found")] += missing
    if done:
        messages.success(request, _("Removed and closed: %(count)d.") % {"count": done})
    for reason, count in skipped.items():
        messages.warning(request, _("Skipped %(count)d: %(reason)s") % {"count": count, "reason": reason})
    return redirect(_back_to_queue(request))
