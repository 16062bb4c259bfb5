"""The compliance dashboard (issue 12): one row per requirement R5.1 … R13.2 with its live evidence,
computed from the database, and a status (met / attention / failing) with a one-sentence reason.

Every figure is an aggregate in the database (``Count`` with filters, ``TruncDate``), so the number of
queries does not grow with the data. A requirement without an evidence source yet says "not yet
measured" (attention): never a guessed "met". The whole result is cached for a short time per language.

Thresholds read from settings (``getattr`` with the default given here, so none is required):

- ``REPORTS_ACK_OVERDUE_HOURS`` (default 24): R11.4, a report delivered but not acknowledged by the
  authority for longer than this makes the row "attention".
- ``DASHBOARD_LOG_SILENCE_MINUTES`` (default 15): R13.2, a message or sign-in this much later than the
  newest network-log row means logging has stopped while requests were served ("failing").
- ``DASHBOARD_SEAL_LAG_MINUTES`` (default 30) and ``DASHBOARD_SEAL_LAG_FAILING_MINUTES`` (default 360):
  R13.2, network-log rows left unsealed (no digest) for longer make the row "attention", then "failing".
"""

from __future__ import annotations

import statistics
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from audit.models import AuditEvent, ChainCheck, LogDigest, NetworkLog
from credit.models import CreditAccount, CreditLevel
from groups.models import (
    ChatGroup,
    EmergencyMeasure,
    GroupStatus,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Message,
    Role,
)
from groups.selectors import group_rules
from identity.models import (
    AgreementAcceptance,
    AgreementDocument,
    AgreementKind,
    BlacklistEntry,
    BlacklistRole,
    IdentityVerification,
    VerificationStatus,
)
from moderation.models import (
    Case,
    CaseStatus,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Sanction,
    SanctionKind,
    SanctionStatus,
)
from reports.figures import nearest_rank
from screening.models import Action, LexiconTerm, LexiconVersion, ScreeningEvidence

MET, ATTENTION, FAILING = "met", "attention", "failing"
STATUS_LABELS = {
    MET: gettext_lazy("met"),
    ATTENTION: gettext_lazy("attention"),
    FAILING: gettext_lazy("failing"),
}

WINDOW_DAYS = 30  # "in the period" for the rows
RETENTION_DAYS = 180  # R13.2: six months at least
CACHE_SECONDS = 60
CACHE_KEY = "reports:dashboard:rows:{lang}"

GROUP_KINDS = (SanctionKind.GROUP_WARNING, SanctionKind.GROUP_POSTING, SanctionKind.GROUP_CLOSURE)
USER_KINDS = (
    SanctionKind.USER_CREDIT,
    SanctionKind.USER_LEVEL,
    SanctionKind.USER_MANAGE,
    SanctionKind.USER_CREATE,
    SanctionKind.USER_MUTE,
    SanctionKind.USER_SUSPEND,
)
MANAGEMENT_EVENTS = (
    "groups.join_request_approved",
    "groups.join_request_declined",
    "groups.member_removed",
    "groups.member_muted",
    "groups.member_unmuted",
    "groups.message_pinned",
    "groups.message_unpinned",
    "groups.announcement_set",
    "groups.settings_changed",
    "groups.admin_appointed",
    "groups.admin_dismissed",
    "groups.ownership_transferred",
)
NOT_MEASURED = gettext_lazy("Not yet measured: the evidence source is still being built.")

# (ID, title, evidence checked, route of the page where the evidence lives or "")
REQUIREMENTS: tuple[tuple[str, object, object, str], ...] = (
    (
        "R5.1",
        gettext_lazy("Management systems and emergency response"),
        gettext_lazy("Review pipeline; emergency measures in force and in the period"),
        "emergency-measures",
    ),
    (
        "R5.2",
        gettext_lazy("Published management rules and platform convention"),
        gettext_lazy("Current versions and publication dates"),
        "legal-index",
    ),
    (
        "R5.3",
        gettext_lazy("Service agreement with every user"),
        gettext_lazy("Share of active members on the current version"),
        "legal-index",
    ),
    (
        "R6.1",
        gettext_lazy("Backend real-name verification"),
        gettext_lazy("Verification states; share of active members verified"),
        "review-queue",
    ),
    (
        "R6.2",
        gettext_lazy("No publishing without verified identity"),
        gettext_lazy("Messages by accounts not verified when sending (must be 0)"),
        "",
    ),
    (
        "R6.3",
        gettext_lazy("Personal information protected"),
        gettext_lazy("Decryptions in the period and by how many staff"),
        "audit-search",
    ),
    (
        "R7.1",
        gettext_lazy("Tiered and classified management of groups"),
        gettext_lazy("Active groups per category; activity distribution"),
        "",
    ),
    (
        "R7.2",
        gettext_lazy("Filing document of the management systems"),
        gettext_lazy("Last generated filing document and its version"),
        "filing",
    ),
    ("R7.3", gettext_lazy("User credit levels"), gettext_lazy("Accounts per credit level"), "credit-search"),
    (
        "R8.1",
        gettext_lazy("Caps on group size and groups per person"),
        gettext_lazy("Active groups above their member cap (must be 0)"),
        "",
    ),
    (
        "R8.2",
        gettext_lazy("Unique group identification code"),
        gettext_lazy("Groups without a code (must be 0)"),
        "",
    ),
    (
        "R8.3",
        gettext_lazy("Group info page for large groups"),
        gettext_lazy("Groups over the threshold with an info page"),
        "",
    ),
    (
        "R8.4",
        gettext_lazy("Review of the creator's qualification"),
        gettext_lazy("Creation requests by outcome; median review time"),
        "group-requests",
    ),
    (
        "R8.5",
        gettext_lazy("Review of creating and joining groups"),
        gettext_lazy("Join requests by outcome"),
        "",
    ),
    (
        "R8.6",
        gettext_lazy("Owner, admins and members labelled"),
        gettext_lazy("Active groups without an owner (must be 0)"),
        "",
    ),
    (
        "R9.1",
        gettext_lazy("Group rules shown and agreed"),
        gettext_lazy("Share of active memberships that agreed to the group rules"),
        "",
    ),
    (
        "R9.2",
        gettext_lazy("Management powers of owners and admins"),
        gettext_lazy("Management actions in the last 7 days"),
        "",
    ),
    (
        "R10.1",
        gettext_lazy("Prohibited content screened"),
        gettext_lazy("Screening hits by action; lexicon version; held backlog"),
        "compliance-queue",
    ),
    (
        "R11.1",
        gettext_lazy("Sanctions on groups"),
        gettext_lazy("Group sanctions in the period by kind; in force now"),
        "sanction-list",
    ),
    (
        "R11.2",
        gettext_lazy("Sanctions on owners, admins and users"),
        gettext_lazy("User sanctions in the period by kind; in force now"),
        "sanction-list",
    ),
    ("R11.3", gettext_lazy("Blacklist"), gettext_lazy("Blacklist entries in force by role"), "blacklist"),
    (
        "R11.4",
        gettext_lazy("Measures reported to the authority"),
        gettext_lazy("Reports due, delivered, failed; oldest undelivered"),
        "report-register",
    ),
    (
        "R12.1",
        gettext_lazy("Complaints handled in time"),
        gettext_lazy("Open cases; overdue; median and 95th percentile handling time"),
        "case-list",
    ),
    (
        "R12.2",
        gettext_lazy("Regulators supervise complaint handling"),
        gettext_lazy("Inspector view of statistics and case files"),
        "inspection-grants",
    ),
    (
        "R13.1",
        gettext_lazy("Lawful inspections supported"),
        gettext_lazy("Active inspector grants; exports made"),
        "inspection-grants",
    ),
    (
        "R13.2",
        gettext_lazy("Network logs kept six months, tamper-evident"),
        gettext_lazy("Oldest retained log entry; last chain verification"),
        "audit-search",
    ),
)
NOT_YET_MEASURED: set[str] = set()


@dataclass
class Row:
    id: str
    title: object
    evidence: object
    route: str
    status: str = ATTENTION
    reason: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]


def _hours(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    return _("%(hours).1f h") % {"hours": delta.total_seconds() / 3600}


def duration_percentile(values: list[timedelta], share: float) -> timedelta | None:
    """The ``share`` percentile of durations by the one rule the regulator reports use (nearest rank, whole
    seconds: ``reports.figures.nearest_rank``), so the dashboard's 95th percentile of handling time and the
    periodic summary's ``handling_seconds_p95`` are computed alike."""

    seconds = nearest_rank([value.total_seconds() for value in values], share)
    return None if seconds is None else timedelta(seconds=seconds)


def durations(queryset, start: str, end: str, *, by: str | None = None) -> list:
    """The time from ``start`` to ``end`` of each row, subtracted in the database (one value to read per
    row instead of two date-times); with ``by``, (that field, duration) pairs."""
    took = queryset.annotate(took=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
    if by:
        return list(took.values_list(by, "took"))
    return list(took.values_list("took", flat=True))


def _active_members():
    """Accounts with at least one membership in an active group (a semi-join: each account once, so its
    counts need no DISTINCT)."""
    return get_user_model().objects.filter(
        pk__in=Membership.objects.filter(left_at__isnull=True, group__status=GroupStatus.ACTIVE).values(
            "user_id"
        )
    )


# Figures more than one row reads, computed once per ``requirement_rows`` call (a row computed on its own,
# outside that call, computes them itself).
_shared: ContextVar[dict | None] = ContextVar("dashboard_shared", default=None)


def _once(key: str, compute):
    memo = _shared.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _service_agreement_current():
    return _once(
        "service_agreement",
        lambda: (
            AgreementDocument.objects.filter(kind=AgreementKind.SERVICE_AGREEMENT)
            .order_by("-version")
            .first()
        ),
    )


def _active_member_totals() -> dict:
    """R5.3 and R6.1 in one pass over the active members: how many, how many verified, how many accepted the
    current service agreement."""

    def compute() -> dict:
        current = _service_agreement_current()
        counts = {
            "total": Count("pk"),
            "verified": Count("pk", filter=Q(verification__status=VerificationStatus.VERIFIED)),
        }
        if current is not None:
            accepted = AgreementAcceptance.objects.filter(document=current).values("user_id")
            counts["accepted"] = Count("pk", filter=Q(pk__in=accepted))
        return {"accepted": 0, **_active_members().aggregate(**counts)}

    return _once("active_member_totals", compute)


def _review_overdue(now, kinds) -> int:
    return ReviewItem.objects.filter(status=ReviewStatus.OPEN, kind__in=kinds, deadline__lt=now).count()


# --- one function per row; each returns (status, reason, figures) -------------------------------------


def _r5_1(now, since):
    counts = EmergencyMeasure.objects.aggregate(
        in_force=Count("pk", filter=Q(starts_at__lte=now, ends_at__gt=now, ended_at__isnull=True)),
        period=Count("pk", filter=Q(starts_at__gte=since)),
    )
    queue = ReviewItem.objects.aggregate(
        open=Count("pk", filter=Q(status=ReviewStatus.OPEN)),
        overdue=Count("pk", filter=Q(status=ReviewStatus.OPEN, deadline__lt=now)),
    )
    figures = [
        (_("Emergency measures in force"), str(counts["in_force"])),
        (_("Declared in the last 30 days"), str(counts["period"])),
        (_("Review queue open"), str(queue["open"])),
        (_("Review queue overdue"), str(queue["overdue"])),
    ]
    if queue["overdue"]:
        return ATTENTION, _("The review pipeline runs, but some items are past their deadline."), figures
    return MET, _("The review pipeline has nothing overdue; emergency switches are in place."), figures


def _r5_2(now, since):
    docs = {
        doc.kind: doc
        for doc in AgreementDocument.objects.filter(
            kind__in=[AgreementKind.MANAGEMENT_RULES, AgreementKind.CONVENTION]
        ).order_by("kind", "-version")
    }
    figures = []
    for kind in (AgreementKind.MANAGEMENT_RULES, AgreementKind.CONVENTION):
        doc = docs.get(kind)
        value = (
            _("version %(version)s, %(date)s")
            % {"version": doc.version, "date": timezone.localtime(doc.published_at).strftime("%Y-%m-%d")}
            if doc
            else "—"
        )
        figures.append((str(kind.label), value))
    if len(docs) < 2:
        return FAILING, _("A required public document has no published version."), figures
    return MET, _("Both documents are published with a version and date."), figures


def _r5_3(now, since):
    current = _service_agreement_current()
    if current is None:
        return FAILING, _("No service agreement is published."), []
    totals = _active_member_totals()
    figures = [
        (_("Current version"), str(current.version)),
        (_("Active members on it"), f"{totals['accepted']} / {totals['total']}"),
    ]
    if totals["accepted"] < totals["total"]:
        return (
            ATTENTION,
            _(
                "Some active members have not accepted the current version yet "
                "(they cannot publish until they do)."
            ),
            figures,
        )
    return MET, _("Every active member has accepted the current version."), figures


def _r6_1(now, since):
    by_status = dict(IdentityVerification.objects.values_list("status").annotate(n=Count("pk")).order_by())
    totals = _active_member_totals()
    figures = [
        (str(label), str(by_status.get(value, 0)))
        for value, label in VerificationStatus.choices
        if value in (VerificationStatus.VERIFIED, VerificationStatus.PENDING, VerificationStatus.REJECTED)
    ]
    figures.append((_("Active members verified"), f"{totals['verified']} / {totals['total']}"))
    if totals["verified"] < totals["total"]:
        missing = totals["total"] - totals["verified"]
        return (
            ATTENTION,
            ngettext(
                "%(n)d active member is not verified.", "%(n)d active members are not verified.", missing
            )
            % {"n": missing},
            figures,
        )
    return MET, _("Every active member is verified."), figures


def unverified_messages(since):
    """R6.2: messages sent since ``since`` by an account that was not verified when sending (verified now
    and decided before the message is the only good case)."""
    verified_then = Q(
        sender__verification__status=VerificationStatus.VERIFIED,
        sender__verification__decided_at__lte=F("created_at"),
    )
    # Start from the few accounts that could have sent one (not verified, or verified only within the
    # period): the messages table is the largest and has no index on its time, but one on the sender.
    suspects = (
        get_user_model()
        .objects.exclude(verification__status=VerificationStatus.VERIFIED, verification__decided_at__lt=since)
        .values("pk")
    )
    return Message.objects.filter(created_at__gte=since, sender__in=suspects).exclude(verified_then).count()


def _r6_2(now, since):
    count = unverified_messages(since)
    figures = [(_("Messages by unverified accounts, last 30 days"), str(count))]
    if count:
        return FAILING, _("Accounts without verified identity published messages."), figures
    return MET, _("No message was published by an unverified account."), figures


def _r6_3(now, since):
    events = AuditEvent.objects.filter(occurred_at__gte=since).aggregate(
        revealed=Count("pk", filter=Q(event_type="identity.pi_revealed")),
        staff=Count("actor_id", distinct=True, filter=Q(event_type="identity.pi_revealed")),
        denied=Count("pk", filter=Q(event_type="identity.reveal_denied")),
    )
    figures = [
        (_("Decryptions, last 30 days"), str(events["revealed"])),
        (_("By staff members"), str(events["staff"])),
        (_("Refused attempts"), str(events["denied"])),
    ]
    return MET, _("Every decryption is recorded in the audit trail with its reason."), figures


def _r7_1(now, since):
    from reports.filing import activity_label  # the levels' labels, shared with the filing document

    active = ChatGroup.objects.filter(status=GroupStatus.ACTIVE)
    per_category = list(
        active.values_list("category__name").annotate(n=Count("pk")).order_by("-n", "category__name")
    )
    activity = dict(active.values_list("activity_level").annotate(n=Count("pk")).order_by())
    figures = [(name or _("no category"), str(n)) for name, n in per_category[:6]]
    figures.append(
        (
            _("Activity"),
            " · ".join(f"{activity_label(level)} {n}" for level, n in sorted(activity.items())) or "—",
        )
    )
    without = sum(n for name, n in per_category if name is None)
    if without:
        return ATTENTION, _("Some active groups have no category, so no tier rules apply to them."), figures
    return MET, _("Every active group has a category."), figures


def _r7_3(now, since):
    levels = list(CreditLevel.objects.order_by("min_score").values_list("number", "name", "min_score"))
    if not levels:
        return FAILING, _("No credit levels are defined."), []
    aggregates = {}
    for i, (number, _name, low) in enumerate(levels):
        condition = Q(score__gte=low)
        if i + 1 < len(levels):
            condition &= Q(score__lt=levels[i + 1][2])
        aggregates[f"l{number}"] = Count("pk", filter=condition)
    counts = CreditAccount.objects.aggregate(**aggregates)
    figures = [(f"L{number} {name}", str(counts[f"l{number}"])) for number, name, _low in levels]
    return MET, _("Every account has a credit level (by score; temporary caps not counted)."), figures


def _active_member_count():
    """A group's active members, as a subquery per group (it walks the membership index of that group:
    cheaper than grouping the whole membership table by group)."""
    count = (
        Membership.objects.filter(group=OuterRef("pk"), left_at__isnull=True)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(count), 0)


def groups_over_cap() -> list[ChatGroup]:
    """R8.1: the active groups with more members than their effective cap, as ``groups.selectors.group_rules``
    computes it (the smaller of the group's own cap and its category's largest size, or the platform's
    largest size without a category).

    The database first keeps the only groups that can be over it: those with more members than at least one
    of the caps ``group_rules`` takes the smallest of (a group under all of them is under the smallest);
    then ``group_rules`` decides for each of those few, so the rule itself is never copied here."""
    candidates = (
        ChatGroup.objects.filter(status=GroupStatus.ACTIVE)
        .select_related("category")
        .annotate(n=_active_member_count())
        .filter(
            Q(member_cap__gt=0, n__gt=F("member_cap"))
            | Q(category__isnull=False, n__gt=F("category__max_size"))
            | Q(category__isnull=True, n__gt=settings.GROUP_MAX_MEMBERS)
        )
        .order_by("pk")
    )
    return [group for group in candidates if group.n > group_rules(group, member_count=group.n).cap]


def _r8_1(now, since):
    over = groups_over_cap()
    figures = [(_("Groups above their cap"), str(len(over)))]
    if over:
        return (
            FAILING,
            _("Some groups have more members than their cap allows (%(codes)s).")
            % {"codes": ", ".join(group.code for group in over[:5]) + (" …" if len(over) > 5 else "")},
            figures,
        )
    return MET, _("No group is above its member cap (refusals by caps are not counted yet)."), figures


def _r8_2(now, since):
    totals = ChatGroup.objects.aggregate(
        total=Count("pk"), without=Count("pk", filter=Q(code="") | Q(code__isnull=True))
    )
    figures = [(_("Groups"), str(totals["total"])), (_("Without a code"), str(totals["without"]))]
    if totals["without"]:
        return FAILING, _("Some groups have no identification code."), figures
    return MET, _("Every group has its identification code."), figures


# R8.3: the info page (groups.views_info) is reached by the group's code: eight letters and digits.
INFO_PAGE_CODE = r"^[0-9A-Z]{8}$"


def _r8_3(now, since):
    """R8.3: every active group with at least ``GROUP_INFO_PAGE_THRESHOLD`` active members has its public
    info page served (``groups.views_info``, which answers for exactly those groups), and the page has what
    it shows: the name, the member count, the category, the code (one its address can reach), the creation
    date and the owner's nickname (the page shows the owner's username when the nickname is empty, so an
    owner is what it needs)."""
    threshold = settings.GROUP_INFO_PAGE_THRESHOLD
    owner = Membership.objects.filter(group=OuterRef("pk"), role=Role.OWNER, left_at__isnull=True)
    large = (
        ChatGroup.objects.filter(status=GroupStatus.ACTIVE)
        .annotate(n=_active_member_count(), has_owner=Exists(owner))
        .filter(n__gte=threshold)
    )
    missing = {
        "name": Q(name=""),
        "category": Q(category__isnull=True),
        "code": ~Q(code__regex=INFO_PAGE_CODE),
        "created": Q(created_at__isnull=True),
        "owner": Q(has_owner=False),
    }
    counts = large.aggregate(
        total=Count("pk"),
        incomplete=Count("pk", filter=Q(*missing.values(), _connector=Q.OR)),
        **{key: Count("pk", filter=condition) for key, condition in missing.items()},
    )
    served = counts["total"] - counts["incomplete"]
    figures = [
        (_("Threshold (members)"), str(threshold)),
        (_("Active groups at or over it"), str(counts["total"])),
        (_("With a complete info page"), f"{served} / {counts['total']}"),
    ]
    if counts["incomplete"]:
        labels = {
            "name": _("no name"),
            "category": _("no category"),
            "code": _("no valid code"),
            "created": _("no creation date"),
            "owner": _("no owner"),
        }
        gaps = ", ".join(f"{labels[key]} {counts[key]}" for key in missing if counts[key])
        return (
            FAILING,
            ngettext(
                "%(n)d large group has no complete info page (%(gaps)s).",
                "%(n)d large groups have no complete info page (%(gaps)s).",
                counts["incomplete"],
            )
            % {"n": counts["incomplete"], "gaps": gaps},
            figures,
        )
    return MET, _("Every group over the threshold has its complete public info page."), figures


def _r8_4(now, since):
    rows = ChatGroup.objects.filter(Q(created_at__gte=since) | Q(status=GroupStatus.PENDING_REVIEW))
    counts = rows.aggregate(
        pending=Count("pk", filter=Q(status=GroupStatus.PENDING_REVIEW)),
        approved=Count("pk", filter=Q(reviewed_at__isnull=False) & ~Q(status=GroupStatus.REJECTED)),
        refused=Count("pk", filter=Q(status=GroupStatus.REJECTED)),
    )
    times = durations(rows.filter(reviewed_at__isnull=False), "created_at", "reviewed_at")
    median = statistics.median(times) if times else None
    overdue = _review_overdue(now, [ReviewKind.GROUP_REQUEST])
    figures = [
        (_("Waiting"), str(counts["pending"])),
        (_("Approved, last 30 days"), str(counts["approved"])),
        (_("Refused, last 30 days"), str(counts["refused"])),
        (_("Median review time"), _hours(median)),
    ]
    if overdue:
        return ATTENTION, _("Some creation requests are past their review deadline."), figures
    return MET, _("Creation requests are reviewed within their deadline."), figures


def _r8_5(now, since):
    counts = JoinRequest.objects.filter(created_at__gte=since).aggregate(
        pending=Count("pk", filter=Q(status=JoinRequestStatus.PENDING)),
        approved=Count("pk", filter=Q(status=JoinRequestStatus.APPROVED)),
        declined=Count("pk", filter=Q(status=JoinRequestStatus.DECLINED)),
    )
    figures = [
        (str(label), str(counts[key]))
        for key, label in (
            ("pending", JoinRequestStatus.PENDING.label),
            ("approved", JoinRequestStatus.APPROVED.label),
            ("declined", JoinRequestStatus.DECLINED.label),
        )
    ]
    return MET, _("Joins go through approval, confirmed invitation or an allowed open link."), figures


def _r8_6(now, since):
    owner = Membership.objects.filter(group=OuterRef("pk"), role=Role.OWNER, left_at__isnull=True)
    without = ChatGroup.objects.filter(status=GroupStatus.ACTIVE).filter(~Exists(owner)).count()
    figures = [(_("Active groups without an owner"), str(without))]
    if without:
        return FAILING, _("Some active groups have no owner to label."), figures
    return MET, _("Every active group has its owner labelled."), figures


def _r9_1(now, since):
    totals = Membership.objects.filter(left_at__isnull=True, group__status=GroupStatus.ACTIVE).aggregate(
        total=Count("pk"),
        agreed=Count("pk", filter=Q(rules_accepted_at__isnull=False) | Q(role=Role.OWNER)),
    )
    figures = [(_("Memberships that agreed"), f"{totals['agreed']} / {totals['total']}")]
    if totals["agreed"] < totals["total"]:
        return ATTENTION, _("Some members have not agreed to their group's rules."), figures
    return MET, _("Every member agreed to the group rules on joining."), figures


def _r9_2(now, since):
    count = AuditEvent.objects.filter(
        occurred_at__gte=now - timedelta(days=7), event_type__in=MANAGEMENT_EVENTS
    ).count()
    return (
        MET,
        _("Owners and admins have their management powers."),
        [(_("Management actions, last 7 days"), str(count))],
    )


def _r10_1(now, since):
    hits = ScreeningEvidence.objects.filter(created_at__gte=since).aggregate(
        total=Count("pk"),
        **{value: Count("pk", filter=Q(action=value)) for value in Action.values},
    )
    version = LexiconVersion.objects.order_by("-pk").values_list("pk", flat=True).first()
    terms = LexiconTerm.objects.filter(enabled=True).count()
    held = ReviewItem.objects.filter(status=ReviewStatus.OPEN, kind=ReviewKind.HELD_MESSAGE).count()
    overdue = _review_overdue(now, [ReviewKind.HELD_MESSAGE])
    figures = [(_("Screening hits, last 30 days"), str(hits["total"]))]
    figures += [(str(label), str(hits[value])) for value, label in Action.choices]
    figures += [
        (_("Lexicon version"), f"v{version}" if version else "—"),
        (_("Enabled terms"), str(terms)),
        (_("Held for review"), str(held)),
    ]
    if not terms:
        return FAILING, _("The lexicon has no enabled term: nothing is screened."), figures
    if overdue:
        return ATTENTION, _("Held messages are waiting past their review deadline."), figures
    return (
        MET,
        _("Content is screened against the lexicon and the held backlog is within its deadline."),
        figures,
    )


def _sanction_row(kinds, now, since):
    rows = Sanction.objects.filter(kind__in=kinds)
    aggregates = {f"p_{kind}": Count("pk", filter=Q(kind=kind, created_at__gte=since)) for kind in kinds}
    counts = rows.aggregate(
        active=Count("pk", filter=Q(status=SanctionStatus.ACTIVE)),
        pending=Count("pk", filter=Q(status=SanctionStatus.PENDING)),
        **aggregates,
    )
    figures = [(str(SanctionKind(kind).label), str(counts[f"p_{kind}"])) for kind in kinds]
    figures += [
        (_("In force now"), str(counts["active"])),
        (_("Waiting for approval"), str(counts["pending"])),
    ]
    if counts["pending"]:
        return ATTENTION, _("Some measures wait for a supervisor's approval."), figures
    return MET, _("Measures are decided and recorded with their reason and evidence."), figures


def _r11_1(now, since):
    return _sanction_row(GROUP_KINDS, now, since)


def _r11_2(now, since):
    return _sanction_row(USER_KINDS, now, since)


def _r11_3(now, since):
    in_force = Q(lifted_at__isnull=True) & (Q(until__isnull=True) | Q(until__gt=now))
    by_role = dict(
        BlacklistEntry.objects.filter(in_force).values_list("role").annotate(n=Count("pk")).order_by()
    )
    groups = Sanction.objects.filter(
        kind=SanctionKind.BLACKLIST, target_group__isnull=False, status=SanctionStatus.ACTIVE
    ).count()
    figures = [(str(label), str(by_role.get(value, 0))) for value, label in BlacklistRole.choices]
    figures.append((_("Groups"), str(groups)))
    return MET, _("Blacklisting is recorded and enforced by the policies."), figures


def _r7_2(now, since):
    """The filing document is generated from the live configuration; the row asks whether the version
    in force has been downloaded for filing since the configuration last changed."""
    from reports.filing import filing_version

    version = filing_version()
    downloads = AuditEvent.objects.filter(event_type="reports.filing_downloaded")
    last = downloads.order_by("-pk").values_list("occurred_at", "data").first()
    filed = downloads.filter(data__version=version).exists()
    figures = [
        (_("Version in force"), version),
        (_("Last downloaded"), timezone.localtime(last[0]).strftime("%Y-%m-%d %H:%M") if last else "—"),
    ]
    if not filed:
        return (
            ATTENTION,
            _(
                "The version in force has not been downloaded yet (the configuration changed, or nothing "
                "was ever downloaded): download it and file it again."
            ),
            figures,
        )
    return MET, _("The version in force has been downloaded for filing."), figures


# A report still undelivered after this long shows the row as failing (deliveries retry with backoff).
REPORT_OVERDUE = timedelta(days=1)
# A measure without a report after this long means the periodic job (every 5 minutes) is not doing its work.
REPORT_GENERATION_GRACE = timedelta(minutes=15)


def ack_overdue() -> timedelta:
    """R11.4: how long a delivered report may wait for the authority's acknowledgement
    (``REPORTS_ACK_OVERDUE_HOURS``, default 24)."""
    return timedelta(hours=getattr(settings, "REPORTS_ACK_OVERDUE_HOURS", 24))


def reports_unacknowledged(now) -> int:
    """R11.4: reports delivered (not acknowledged) longer ago than ``ack_overdue()``. A directory drop
    never acknowledges (the authority collects the files), so without an endpoint there is nothing to wait
    for."""
    from reports.models import RegulatorReport, ReportState

    if not settings.REPORTS_ENDPOINT_URL:
        return 0
    return (
        RegulatorReport.objects.filter(state=ReportState.DELIVERED)
        .annotate(since=Coalesce("delivered_at", "created_at"))
        .filter(since__lt=now - ack_overdue())
        .count()
    )


def _r11_4(now, since):
    from reports import selectors as report_selectors

    counts = report_selectors.register_counts()
    unreported = report_selectors.measures_not_reported(older_than=REPORT_GENERATION_GRACE)
    age = counts["oldest_undelivered_age_seconds"]
    unacknowledged = reports_unacknowledged(now)
    figures = [
        (_("Measures without a report"), str(unreported)),
        (_("Waiting for delivery"), str(counts["pending"])),
        (_("Delivered"), str(counts["delivered"])),
        (_("Delivered, not acknowledged in time"), str(unacknowledged)),
        (_("Acknowledged"), str(counts["acknowledged"])),
        (_("Failed, to be retried"), str(counts["failed"])),
        (_("Oldest undelivered"), _hours(timedelta(seconds=age)) if age is not None else "—"),
    ]
    if unreported:
        return FAILING, _("Measures that took effect have no report: is the periodic job running?"), figures
    if age is not None and timedelta(seconds=age) > REPORT_OVERDUE:
        return FAILING, _("A report has waited more than a day for delivery."), figures
    if counts["failed"]:
        return ATTENTION, _("A delivery failed; it is retried with backoff."), figures
    if unacknowledged:
        return (
            ATTENTION,
            ngettext(
                "%(n)d report delivered more than %(hours)d hours ago is not acknowledged by the authority.",
                "%(n)d reports delivered more than %(hours)d hours ago are not acknowledged by the "
                "authority.",
                unacknowledged,
            )
            % {"n": unacknowledged, "hours": int(ack_overdue().total_seconds() // 3600)},
            figures,
        )
    return MET, _("Every report generated so far is delivered or on its way."), figures


def _r12_1(now, since):
    counts = Case.objects.aggregate(
        open=Count("pk", filter=Q(status=CaseStatus.OPEN)),
        overdue=Count("pk", filter=Q(status=CaseStatus.OPEN, deadline__lt=now)),
    )
    times = durations(Case.objects.filter(decided_at__gte=since), "created_at", "decided_at")
    figures = [
        (_("Open cases"), str(counts["open"])),
        (_("Overdue"), str(counts["overdue"])),
        (_("Median handling time, last 30 days"), _hours(statistics.median(times) if times else None)),
        (_("95th percentile"), _hours(duration_percentile(times, 0.95))),
    ]
    if counts["overdue"]:
        return (
            FAILING,
            ngettext(
                "%(n)d case is past its deadline.", "%(n)d cases are past their deadline.", counts["overdue"]
            )
            % {"n": counts["overdue"]},
            figures,
        )
    return MET, _("No open case is past its deadline."), figures


def _inspection_counts(now, since) -> dict:
    from reports.models import EvidenceExport, InspectionGrant

    grants = InspectionGrant.objects.aggregate(
        in_force=Count("pk", filter=Q(revoked_at=None, starts_at__lte=now, ends_at__gt=now)),
        in_period=Count("pk", filter=Q(created_at__gte=since)),
        stale=Count(
            "pk",
            filter=Q(revoked_at=None, starts_at__lte=now, ends_at__gt=now)
            & (Q(inspector__is_active=False) | Q(inspector__is_staff=True)),
        ),
    )
    views = AuditEvent.objects.filter(occurred_at__gte=since).aggregate(
        viewed=Count("pk", filter=Q(event_type="reports.inspection_viewed")),
        refused=Count("pk", filter=Q(event_type="reports.inspection_refused")),
    )
    exports = EvidenceExport.objects.filter(created_at__gte=since).count()
    return {**grants, **views, "exports": exports}


def _r12_2(now, since):
    """R12.2: the inspector view exists for every grant (statistics and case files within its scope); the
    row shows how it was used in the period."""
    counts = _inspection_counts(now, since)
    figures = [
        (_("Grants in force"), str(counts["in_force"])),
        (_("Inspector pages opened, last 30 days"), str(counts["viewed"])),
        (_("Evidence packages exported, last 30 days"), str(counts["exports"])),
    ]
    if counts["viewed"]:
        return MET, _("Inspectors read complaint statistics and case files within their grants."), figures
    return MET, _("No inspection in the period; the inspector view is ready for any grant."), figures


def _r13_1(now, since):
    """R13.1: time-limited, scoped, read-only grants; every page audited (opened and refused alike). A grant
    in force whose inspector account was deactivated or made staff cannot be used: attention."""
    counts = _inspection_counts(now, since)
    figures = [
        (_("Grants in force"), str(counts["in_force"])),
        (_("Granted, last 30 days"), str(counts["in_period"])),
        (_("Pages opened (audited)"), str(counts["viewed"])),
        (_("Refused (audited)"), str(counts["refused"])),
        (_("Evidence packages exported, last 30 days"), str(counts["exports"])),
    ]
    if counts["stale"]:
        return (
            ATTENTION,
            ngettext(
                "%(n)d grant in force belongs to an account that can no longer inspect.",
                "%(n)d grants in force belong to accounts that can no longer inspect.",
                counts["stale"],
            )
            % {"n": counts["stale"]},
            figures,
        )
    return (
        MET,
        _("Inspector access is granted for a purpose and a time, scoped, read-only and audited."),
        figures,
    )


def _minutes_setting(name: str, default: int) -> timedelta:
    return timedelta(minutes=getattr(settings, name, default))


def logging_silence(now, newest_log) -> object | None:
    """R13.2: when the platform served someone after its network log went quiet, the moment it did.

    Every message is inserted together with its network-log row (one statement) and every sign-in writes
    one next to its audit event, so a message or a sign-in later than the newest network-log row by more
    than ``DASHBOARD_LOG_SILENCE_MINUTES`` proves requests were served while logging had stopped. An idle
    platform (no message, no sign-in) writes no log and is not flagged. Two index look-ups: the newest
    message by id (its time has no index), the first sign-in after the newest log by time."""
    after = (newest_log or now - timedelta(days=WINDOW_DAYS)) + _minutes_setting(
        "DASHBOARD_LOG_SILENCE_MINUTES", 15
    )
    message_at = Message.objects.order_by("-pk").values_list("created_at", flat=True).first()
    login_at = (
        AuditEvent.objects.filter(event_type="identity.login", occurred_at__gt=after)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    served = [moment for moment in (message_at, login_at) if moment is not None and moment > after]
    return min(served) if served else None


def sealing_lag(now) -> timedelta | None:
    """R13.2: how long the oldest network-log row not yet sealed by a digest has waited (None: all
    sealed). The seal job runs every 5 minutes and leaves the last 30 seconds for the next run."""
    last = LogDigest.objects.order_by("-last_id").values_list("last_id", flat=True).first() or 0
    oldest = (
        NetworkLog.objects.filter(pk__gt=last).order_by("pk").values_list("occurred_at", flat=True).first()
    )
    return now - oldest if oldest is not None else None


def _r13_2(now, since):
    """R13.2: logs kept six months, written now, sealed and verified.

    Failing: the last chain verification found a broken row; the platform is older than 180 days and the
    oldest log is younger; requests were served after logging stopped (``logging_silence``); rows waited
    unsealed longer than ``DASHBOARD_SEAL_LAG_FAILING_MINUTES``. Attention: unsealed longer than
    ``DASHBOARD_SEAL_LAG_MINUTES``, or a digest sealed that long ago is not exported yet; the chain never
    verified or not in 7 days."""
    span = NetworkLog.objects.aggregate(oldest=Min("occurred_at"), newest=Max("occurred_at"))
    oldest, newest = span["oldest"], span["newest"]
    started = get_user_model().objects.aggregate(first=Min("date_joined"))["first"]
    check = ChainCheck.objects.order_by("-ran_at").first()
    silent_since = logging_silence(now, newest)
    lag = sealing_lag(now)
    lag_attention = _minutes_setting("DASHBOARD_SEAL_LAG_MINUTES", 30)
    lag_failing = _minutes_setting("DASHBOARD_SEAL_LAG_FAILING_MINUTES", 360)
    unexported = LogDigest.objects.filter(
        exported_at__isnull=True, created_at__lt=now - lag_attention
    ).count()
    age = (now - oldest).days if oldest else 0
    platform_age = (now - started).days if started else 0

    def moment(value) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"

    figures = [
        (_("Oldest log entry"), _("%(days)d days old") % {"days": age} if oldest else "—"),
        (_("Newest log entry"), moment(newest)),
        (_("Platform age"), _("%(days)d days") % {"days": platform_age}),
        (_("Oldest row waiting for a seal"), _hours(lag) if lag is not None else _("none")),
        (
            _("Last chain verification"),
            ((_("passed") if check.ok else _("FAILED")) + " · " + moment(check.ran_at)) if check else "—",
        ),
    ]
    if check is not None and not check.ok:
        return FAILING, _("The last verification of the log chain found a broken row."), figures
    if platform_age >= RETENTION_DAYS and age < RETENTION_DAYS:
        return (
            FAILING,
            _("Logs younger than 180 days are all that is kept, though the platform is older."),
            figures,
        )
    if silent_since is not None:
        return (
            FAILING,
            _(
                "Logging has stopped: the platform served users at %(served)s, but the newest network-log "
                "entry is from %(newest)s."
            )
            % {"served": moment(silent_since), "newest": moment(newest)},
            figures,
        )
    if lag is not None and lag > lag_failing:
        return (
            FAILING,
            _("Network logs have waited %(hours)s for their seal: the sealing job is not running.")
            % {"hours": _hours(lag)},
            figures,
        )
    if lag is not None and lag > lag_attention:
        return (
            ATTENTION,
            _("Network-log sealing is behind: the oldest unsealed row has waited %(hours)s.")
            % {"hours": _hours(lag)},
            figures,
        )
    if unexported:
        return ATTENTION, _("Some log digests are not yet exported outside the database."), figures
    if check is None:
        return ATTENTION, _("The log chain has never been verified."), figures
    if now - check.ran_at > timedelta(days=7):
        return ATTENTION, _("The log chain was last verified more than 7 days ago."), figures
    return (
        MET,
        _("Logs are written, sealed, kept for the whole retention period, and the chain verifies."),
        figures,
    )


COMPUTE = {
    "R5.1": _r5_1,
    "R5.2": _r5_2,
    "R5.3": _r5_3,
    "R6.1": _r6_1,
    "R6.2": _r6_2,
    "R6.3": _r6_3,
    "R7.1": _r7_1,
    "R7.3": _r7_3,
    "R8.1": _r8_1,
    "R8.2": _r8_2,
    "R8.3": _r8_3,
    "R8.4": _r8_4,
    "R8.5": _r8_5,
    "R8.6": _r8_6,
    "R9.1": _r9_1,
    "R9.2": _r9_2,
    "R10.1": _r10_1,
    "R11.1": _r11_1,
    "R11.2": _r11_2,
    "R11.3": _r11_3,
    "R11.4": _r11_4,
    "R7.2": _r7_2,
    "R12.1": _r12_1,
    "R12.2": _r12_2,
    "R13.1": _r13_1,
    "R13.2": _r13_2,
}


def requirement_rows(now=None) -> list[Row]:
    """Every requirement's row, computed now (no cache)."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    shared = _shared.set({})
    try:
        return _rows(now, since)
    finally:
        _shared.reset(shared)


def _rows(now, since) -> list[Row]:
    rows = []
    for rid, title, evidence, route in REQUIREMENTS:
        row = Row(id=rid, title=str(title), evidence=str(evidence), route=route)
        compute = COMPUTE.get(rid)
        if compute is None:
            row.status, row.reason = ATTENTION, str(NOT_MEASURED)
        else:
            row.status, row.reason, row.figures = compute(now, since)
        rows.append(row)
    return rows


def requirement_rows_cached() -> list[Row]:
    """The rows, cached for ``CACHE_SECONDS`` per language (pre-aggregation without a table)."""
    return cache.get_or_set(CACHE_KEY.format(lang=get_language() or ""), requirement_rows, CACHE_SECONDS)
