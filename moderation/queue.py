"""The review queue's sources (R12.1): one queue for everything waiting for a person.

**A table, not a union.** The queue is the ``ReviewItem`` table: one row per thing waiting (a complaint
case, a message held by screening, a group creation request, a manual real-name review, an appeal), with
the priority, deadline, claim and escalation the queue needs, and a copy of what its list shows (a title,
the group, the member concerned). A union over the owning tables would have to compute every row's
priority (category, reporters, group size, reporters' accuracy) on each page view and could not claim a
row with ``SELECT … FOR UPDATE SKIP LOCKED``; the table answers "the next 50 by priority, then deadline"
from one partial index, whatever the queue holds (``bench/review_queue.py``).

**How items arrive.** Moderation's own sources open and close their items in the same transaction as the
change: ``complaint_file`` opens (or re-prioritises) its case's item, ``case_close`` closes it. The sources
owned by lower apps (groups: held messages and group requests; identity: real-name reviews) cannot import
moderation, and their services are not changed for the queue: a held message is inserted by one raw SQL
statement on the chat's hot path, where an announcement would cost every message. Instead
``services.review_queue_sync`` *reconciles*: each source names the rows waiting (``pending``, a query served
by a small partial index of the owning app), the sync opens an item for each one without one and settles
the items whose row no longer waits (decided through the older review pages or the admin). It runs every
minute (Celery beat, ``moderation.review_queue_sync``) and, so that the embedded default (no beat) and a
busy desk see new work within seconds, a *quick* run when the queue page or "claim next" finds the last one
older than ``MODERATION_QUEUE_SYNC_SECONDS`` (15): it looks only at rows that arrived since
(``arrival_field``), so it costs what arrived, not what waits. A decision made through the queue settles its
item at once; an item whose row stopped waiting between two runs is settled when someone claims, opens or
decides it, and "claim next" then hands out the next one. This is why no signal is needed from the lower
apps: the owning tables stay the record, the queue is derived from them.

**Adding a source** (appeals, kind ``"appeal"``, is reserved for it):

1. Write ``load`` (rows by id), ``is_pending``, ``describe`` (a ``Entry`` per row: title, group, member,
   reason, reporters), ``decide`` (calls the owning app's service: the queue decides nothing itself), the
   ``choices`` offered (with keyboard keys), and a template showing the row's context on the item page.
2. ``register(Source(kind="appeal", permission="moderation.decide_appeal", ...))`` in your app's
   ``ready`` (or at the end of this module), and either give it ``pending`` (a query of the rows waiting: the
   sync finds them; ``arrival_field`` lets the quick sync look at recent rows only) or call
   ``services.review_item_open`` from the service that creates the row (in its transaction: immediate), let
   the deciding service close the item (``services.review_item_settle``) and set ``own_services``.
3. Add the permission to the "reviewer" or "supervisor" role in your migration. Priority bands and
   deadlines by kind are in ``moderation.rules`` (``appeal`` has defaults already).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from common.actors import Actor
from common.reasons import Reason
from groups import policies as group_policies
from groups import services as group_services
from groups.models import ChatGroup, GroupStatus, Membership, Message, MessageStatus
from identity import services as identity_services
from identity.models import IdentityVerification, VerificationStatus
from moderation.models import Case, CaseStatus, Complaint, ReviewKind, TargetKind
from screening.models import Action, ScreeningEvidence

TITLE_MAX = 200
EXCERPT = 80


@dataclass(frozen=True)
class Choice:
    """A decision offered on an item of a kind, carried out by the owning app's service."""

    code: str
    label: Any
    key: str = ""  # keyboard shortcut on the item page (documented there)
    style: str = ""  # "primary" | "danger"
    note: str = "optional"  # "required" | "optional" | "none"
    note_label: Any = ""
    default_note: str = ""  # a message id, translated when the page pre-fills the note
    bulk: bool = False  # offered for bulk "clear spam" decisions from the list
    applies: Callable[[Any], bool] | None = None  # whether it applies to this row (None: always)
    allowed: Callable[[Any], bool] | None = None  # whether this person may choose it (None: whoever decides)

    def applies_to(self, obj) -> bool:
        return self.applies is None or bool(self.applies(obj))

    def offered_to(self, user, obj) -> bool:
        """Shown to ``user`` on this row; the service checks again when it is chosen."""
        return self.applies_to(obj) and (self.allowed is None or bool(self.allowed(user)))


@dataclass
class Entry:
    """What the queue copies from a source row into its item."""

    title: str
    group_id: int | None = None
    subject_id: int | None = None
    category: str = ""
    reporter_ids: list[int] = field(default_factory=list)  # signed-in reporters (their accuracy counts)
    reporters: int = 0
    deadline: datetime | None = None  # None: from the kind's deadline (rules.queue_deadline_hours)


@dataclass(frozen=True)
class Source:
    kind: str
    label: Any
    permission: str  # "app.codename": who decides items of this kind
    choices: tuple[Choice, ...]
    load: Callable[[Iterable[int]], dict[int, Any]]  # rows by id, with what the item page shows
    is_pending: Callable[[Any], bool]
    describe: Callable[[list], list[Entry]]  # one Entry per row, in order (batched: the sync)
    decide: Callable[[Actor, Any, str, str], Any]  # (actor, row, choice code, note) → the owning service
    template: str  # the item page's partial for the row's context
    context: Callable[[Any], dict] = lambda obj: {}
    pending: Callable[[], QuerySet] | None = None  # rows waiting, for the sync (None: not synced)
    # The row's arrival time (indexed among the waiting rows): the quick sync looks only at recent ones.
    arrival_field: str = ""
    # Opened and closed by its own services in their transactions; the periodic sync checks them too,
    # the quick sync of the queue page does not (it is for the lower apps' sources).
    own_services: bool = False

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    if source.kind not in ReviewKind.values:
        raise ValueError(f"unknown review kind {source.kind!r}: add it to moderation.models.ReviewKind")
    SOURCES[source.kind] = source
    return source


def get(kind: str) -> Source | None:
    return SOURCES.get(kind)


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _title(*parts: str) -> str:
    return " · ".join(p for p in parts if p)[:TITLE_MAX]


# --- complaint cases (moderation) ----------------------------------------------------------------------


def _cases_load(ids) -> dict[int, Case]:
    return Case.objects.select_related("group", "message", "subject", "decided_by").in_bulk(list(ids))


def case_entries(cases: list[Case]) -> list[Entry]:
    reporters: dict[int, list[int]] = {}
    for case_id, reporter_id in (
        Complaint.objects.filter(case__in=cases, reporter__isnull=False)
        .order_by("pk")
        .values_list("case_id", "reporter_id")
    ):
        reporters.setdefault(case_id, []).append(reporter_id)
    entries = []
    for case in cases:
        what = ""
        if case.kind == TargetKind.MESSAGE and case.message is not None:
            what = _excerpt(case.message.body)
        elif case.kind == TargetKind.MEMBER and case.subject is not None:
            what = case.subject.display_name
        what = what or case.group.name
        entries.append(
            Entry(
                title=_title(what),
                group_id=case.group_id,
                subject_id=case.subject_id if case.kind != TargetKind.GROUP else case.group.created_by_id,
                category=case.category,
                reporter_ids=reporters.get(case.pk, []),
                reporters=case.complaint_count,
                deadline=case.deadline,
            )
        )
    return entries


def _case_decide(actor: Actor, case: Case, code: str, note: str):
    from moderation import services  # services imports this module

    return services.case_close(
        actor=actor,
        case=case,
        outcome=note,
        resolution="dismissed" if code == "dismiss" else "upheld",
        remove_message=code == "remove",
    )


def _case_context(case: Case) -> dict:
    return {
        "case": case,
        "complaints": list(case.complaints.select_related("reporter").order_by("created_at", "pk")),
    }


register(
    Source(
        kind=ReviewKind.CASE,
        label=ReviewKind.CASE.label,
        permission="moderation.change_case",
        choices=(
            Choice(
                "uphold",
                _("Uphold and close"),
                key="a",
                style="primary",
                note="required",
                note_label=_("Outcome (the reporters are told)"),
                default_note=gettext_noop(
                    "We checked the report and found a violation; it has been dealt with."
                ),
            ),
            Choice(
                "remove",
                _("Remove the message and close"),
                key="r",
                style="danger",
                note="required",
                note_label=_("Outcome (the reporters are told)"),
                default_note=gettext_noop(
                    "We checked the report: the message broke the rules and was removed."
                ),
                bulk=True,
                allowed=group_policies.can_review_messages,  # the takedown is groups' (R10.1, R12.1)
                applies=lambda case: (
                    case.kind == TargetKind.MESSAGE
                    and case.message is not None
                    and case.message.status == MessageStatus.VISIBLE
                ),
            ),
            Choice(
                "dismiss",
                _("Dismiss and close"),
                key="d",
                note="required",
                note_label=_("Outcome (the reporters are told)"),
                default_note=gettext_noop("We checked the report and found no violation."),
            ),
        ),
        load=_cases_load,
        is_pending=lambda case: case.status == CaseStatus.OPEN,
        describe=case_entries,
        decide=_case_decide,
        template="moderation/queue/_case.html",
        context=_case_context,
        pending=lambda: Case.objects.filter(status=CaseStatus.OPEN),
        own_services=True,
    )
)


# --- messages held by screening (groups) ---------------------------------------------------------------


def _held_load(ids) -> dict[int, Message]:
    return Message.objects.select_related("group", "sender", "attachment").in_bulk(list(ids))


def _held_evidence(messages: list[Message]) -> dict[int, ScreeningEvidence]:
    ids = [m.screening_evidence_id for m in messages if m.screening_evidence_id]
    return ScreeningEvidence.objects.in_bulk(ids) if ids else {}


def _held_category(evidence: ScreeningEvidence | None) -> str:
    """The reason of the strongest hit that held the message (the first one of that action)."""
    if evidence is None:
        return ""
    hits = [h for h in evidence.hits or [] if isinstance(h, dict) and h.get("category")]
    for action in (Action.BLOCK, Action.HOLD, Action.FLAG):
        for hit in hits:
            if hit.get("action") == action:
                return hit["category"]
    return hits[0]["category"] if hits else ""


def _held_entries(messages: list[Message]) -> list[Entry]:
    evidence = _held_evidence(messages)
    return [
        Entry(
            title=_title(
                _excerpt(m.body) or (m.attachment.name if m.attachment_id else ""),
            ),
            group_id=m.group_id,
            subject_id=m.sender_id,
            category=_held_category(evidence.get(m.screening_evidence_id)),
        )
        for m in messages
    ]


def _reason_label(code: str) -> str:
    return Reason(code).label if code in Reason.values else code


def _held_context(message: Message) -> dict:
    evidence = _held_evidence([message]).get(message.screening_evidence_id)
    actions = dict(Action.choices)
    hits = [
        {
            **hit,
            "label": _reason_label(hit.get("category", "")),
            "action_label": actions.get(hit.get("action"), ""),
        }
        for hit in (evidence.hits if evidence is not None else [])
        if isinstance(hit, dict)
    ]
    category = _held_category(evidence)
    return {"message": message, "evidence": evidence, "hits": hits, "held_label": _reason_label(category)}


register(
    Source(
        kind=ReviewKind.HELD_MESSAGE,
        label=ReviewKind.HELD_MESSAGE.label,
        permission="groups.review_message",
        choices=(
            Choice("release", _("Release to the group"), key="a", style="primary", note="none"),
            Choice(
                "remove",
                _("Remove (kept as evidence)"),
                key="r",
                style="danger",
                note="optional",
                note_label=_("Reason (the author is told)"),
                default_note=gettext_noop("The message breaks the platform's rules."),
                bulk=True,
            ),
        ),
        load=_held_load,
        is_pending=lambda message: message.status == MessageStatus.HELD,
        describe=_held_entries,
        decide=lambda actor, message, code, note: group_services.message_review_decide(
            actor=actor, message=message, release=code == "release", reason=note
        ),
        template="moderation/queue/_held_message.html",
        context=_held_context,
        pending=lambda: Message.objects.filter(status=MessageStatus.HELD),
        arrival_field="created_at",
    )
)


# --- group creation requests (groups) ------------------------------------------------------------------


def _groups_load(ids) -> dict[int, ChatGroup]:
    return ChatGroup.objects.select_related("category", "created_by").in_bulk(list(ids))


register(
    Source(
        kind=ReviewKind.GROUP_REQUEST,
        label=ReviewKind.GROUP_REQUEST.label,
        permission="groups.review_chatgroup",
        choices=(
            Choice(
                "approve",
                _("Approve the group"),
                key="a",
                style="primary",
                note="optional",
                note_label=_("Note to the creator"),
            ),
            Choice(
                "refuse",
                _("Refuse"),
                key="r",
                style="danger",
                note="required",
                note_label=_("Why it is refused (the creator is told)"),
            ),
        ),
        load=_groups_load,
        is_pending=lambda group: group.status == GroupStatus.PENDING_REVIEW,
        describe=lambda groups: [
            Entry(
                title=_title(g.name, g.category.label if g.category_id else ""),
                group_id=g.pk,
                subject_id=g.created_by_id,
            )
            for g in groups
        ],
        decide=lambda actor, group, code, note: group_services.group_creation_decide(
            actor=actor, group=group, approve=code == "approve", note=note
        ),
        template="moderation/queue/_group_request.html",
        context=lambda group: {"request_group": group},
        pending=lambda: ChatGroup.objects.filter(status=GroupStatus.PENDING_REVIEW),
        arrival_field="created_at",
    )
)


# --- manual real-name reviews (identity) ---------------------------------------------------------------


def _verifications_load(ids) -> dict[int, IdentityVerification]:
    return IdentityVerification.objects.select_related("user").in_bulk(list(ids))


register(
    Source(
        kind=ReviewKind.IDENTITY_REVIEW,
        label=ReviewKind.IDENTITY_REVIEW.label,
        permission="identity.review_identityverification",
        choices=(
            Choice("approve", _("Approve"), key="a", style="primary", note="optional", note_label=_("Note")),
            Choice(
                "reject",
                _("Reject"),
                key="r",
                style="danger",
                note="optional",
                note_label=_("Note (the person is told)"),
            ),
        ),
        load=_verifications_load,
        is_pending=lambda v: v.status == VerificationStatus.PENDING,
        describe=lambda verifications: [
            Entry(title=_title(v.user.display_name, v.real_name_masked), subject_id=v.user_id)
            for v in verifications
        ],
        decide=lambda actor, verification, code, note: identity_services.verification_decide(
            actor=actor, verification=verification, approve=code == "approve", note=note
        ),
        template="moderation/queue/_identity_review.html",
        context=lambda verification: {"verification": verification},
        pending=lambda: IdentityVerification.objects.filter(status=VerificationStatus.PENDING),
        arrival_field="submitted_at",
    )
)


def group_sizes(group_ids: Iterable[int]) -> dict[int, int]:
    """Active members per group, in one query."""
    ids = {g for g in group_ids if g}
    if not ids:
        return {}
    return dict(
        Membership.objects.filter(group_id__in=ids, left_at__isnull=True)
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )
