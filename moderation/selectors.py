"""Reading complaints and cases. Fetch and authorise together: a target one may not report is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone

from common.actors import Actor
from common.reasons import ReasonKind
from groups.codes import group_code_is_valid, group_code_normalise
from groups.models import ChatGroup, Membership, Message, MessageStatus
from moderation import ladder, policies
from moderation.models import (
    Appeal,
    BlacklistTarget,
    Case,
    CaseStatus,
    Complaint,
    Sanction,
    SanctionKind,
    SanctionStatus,
    TargetKind,
)


@dataclass(frozen=True)
class ReportTarget:
    """What a complaint is about: a message, a member (of ``group``) or the group itself."""

    kind: str
    group: ChatGroup
    message: Message | None = None
    subject: Any = None  # the member reported, or the message's sender

    @property
    def key(self) -> str:
        if self.kind == TargetKind.MESSAGE:
            return f"message:{self.message.pk}"
        if self.kind == TargetKind.MEMBER:
            return f"member:{self.group.pk}:{self.subject.pk}"
        return f"group:{self.group.pk}"


def report_target_for_actor(
    actor: Actor, code: str, *, message_seq: int | None = None, member_id: int | None = None
) -> ReportTarget:
    """R12.1: the target the actor may report, or 404 for anything else (unknown, not visible to them,
    or not theirs to report), so that codes, sequence numbers and ids cannot be probed."""
    code = group_code_normalise(code) if isinstance(code, str) else ""
    if not group_code_is_valid(code):
        raise Http404
    group = ChatGroup.objects.filter(code=code).first()
    if group is None:
        raise Http404
    if message_seq is not None:
        message = (
            Message.objects.filter(group=group, seq=message_seq, status=MessageStatus.VISIBLE)
            .select_related("sender", "attachment")
            .first()
        )
        if message is None:
            raise Http404
        target = ReportTarget(TargetKind.MESSAGE, group, message, message.sender)
    elif member_id is not None:
        membership = (
            Membership.objects.filter(group=group, user_id=member_id, left_at__isnull=True)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Http404
        target = ReportTarget(TargetKind.MEMBER, group, None, membership.user)
    else:
        target = ReportTarget(TargetKind.GROUP, group)
    decision = policies.can_report(actor, target)
    if not decision and decision.code in ("not_found", "not_member"):
        raise Http404
    return target


def complaint_list_for_reporter(user, *, limit: int = 200) -> list[Complaint]:
    """R12.1: the person's own reports, newest first, each with its case's status and outcome."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Complaint.objects.filter(reporter=user)
        .select_related("case", "case__group")
        .order_by("-created_at")[:limit]
    )


def _public_message(snapshot: dict | None) -> dict | None:
    """The frozen message as the group's managers may see it: what was said and by whom, nothing else."""
    if not snapshot:
        return None
    keys = ("seq", "sender_id", "sender_nickname", "sender_role", "text", "created_at", "attachment")
    return {key: snapshot.get(key) for key in keys}


def case_list_for_group_managers(group: ChatGroup, *, limit: int = 200) -> list[dict]:
    """R12.1: the group's conduct cases (messages and members reported for prohibited conduct) as plain
    rows for its owner and admins: target, reason, count, status, outcome and the frozen message or member.
    Nothing about the reporters: not who, not how, not what they wrote."""
    cases = list(
        Case.objects.filter(
            group=group,
            kind__in=[TargetKind.MESSAGE, TargetKind.MEMBER],
            category_kind=ReasonKind.CONDUCT,
        ).order_by("status", "-updated_at", "-pk")[:limit]
    )
    first_evidence = {}
    for case_id, evidence in (
        Complaint.objects.filter(case__in=cases)
        .order_by("case_id", "created_at", "pk")
        .values_list("case_id", "evidence")
    ):
        first_evidence.setdefault(case_id, evidence)
    rows = []
    for case in cases:
        evidence = first_evidence.get(case.pk) or {}
        member = evidence.get("member") or {}
        rows.append(
            {
                "id": case.pk,
                "kind": case.kind,
                "kind_label": case.get_kind_display(),
                "category": case.category,
                "category_label": case.get_category_display(),
                "complaint_count": case.complaint_count,
                "status": case.status,
                "status_label": case.get_status_display(),
                "outcome": case.outcome,
                "created_at": case.created_at,
                "updated_at": case.updated_at,
                "message": _public_message(evidence.get("message")),
                "member": {k: member.get(k) for k in ("user_id", "nickname", "role")} if member else None,
            }
        )
    return rows


def case_list_open(*, viewer=None, limit: int = 200) -> list[Case]:
    """Open cases, highest priority first, then the nearest deadline (for compliance staff; never one about
    the ``viewer``, ``matters_about``: its page is 404 for them too). The priority
    is the review queue's (``queue_priority``, the figure the queue orders by and its item page shows);
    a case without an open item falls back to its own, after those with one."""
    from moderation.models import ReviewItem, ReviewKind, ReviewStatus

    open_item = ReviewItem.objects.filter(
        kind=ReviewKind.CASE, object_id=OuterRef("pk"), status=ReviewStatus.OPEN
    )
    return list(
        Case.objects.filter(status=CaseStatus.OPEN)
        .exclude(matters_about(viewer))
        .select_related("group")
        .annotate(
            queue_priority=Subquery(open_item.values("priority")[:1]),
            queue_item=Subquery(open_item.values("pk")[:1]),
        )
        .order_by(F("queue_priority").desc(nulls_last=True), "-priority", "deadline", "pk")[:limit]
    )


def case_review_item(case: Case):
    """R12.1: the case's review item: the open one, else the latest decided or settled one (None when it
    never had one). Its priority is the one the queue orders by."""
    from moderation.models import ReviewItem, ReviewKind

    return ReviewItem.objects.filter(kind=ReviewKind.CASE, object_id=case.pk).order_by("-pk").first()


def case_get_for_staff(actor: Actor, pk: int) -> Case:
    """A case with its group, for compliance staff who may decide it; the caller has checked the policy."""
    policies.require_decide_case(actor.user)
    case = Case.objects.filter(pk=pk).select_related("group", "message", "subject", "decided_by").first()
    # A case about the viewer (or a group they run) does not exist for them: they never see who reported.
    if case is None or policies.concerns(actor.user, target_user=case.subject_id, target_group=case.group):
        raise Http404
    return case


def case_complaints(case: Case) -> list[Complaint]:
    """Every complaint of a case with its reporter, oldest first (compliance staff only)."""
    return list(case.complaints.select_related("reporter").order_by("created_at", "pk"))


def case_reporters(case: Case) -> list:
    """The signed-in people who reported a case (to be told its outcome)."""
    ids = case.complaints.filter(reporter__isnull=False).values_list("reporter_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=ids))


# --- sanctions, the blacklist and appeals (R11.1-R11.3) -----------------------------------------------

SANCTION_PAGE = 200
# Statuses in which a measure took effect: these count in a target's history and are shown to the people
# concerned (pending and refused ones never touched them).
TOOK_EFFECT = (SanctionStatus.ACTIVE, SanctionStatus.EXPIRED, SanctionStatus.REVERSED)


def _target_filter(*, target_group=None, target_user=None) -> Q:
    if target_user is not None:
        return Q(target_user=target_user)
    return Q(target_group=target_group, target_user__isnull=True)


def sanction_prior_count(*, target_group=None, target_user=None, now=None) -> int:
    """The target's sanctions that took effect in the history window and were not reversed: the step of
    the escalation ladder its next measure starts from."""
    since = (now or timezone.now()) - timedelta(days=ladder.history_days())
    return (
        Sanction.objects.filter(_target_filter(target_group=target_group, target_user=target_user))
        .filter(status__in=[SanctionStatus.ACTIVE, SanctionStatus.EXPIRED], starts_at__gte=since)
        .count()
    )


def sanction_defaults(kind: str, *, target_group=None, target_user=None) -> ladder.Defaults:
    """What the measures form and the services start from: the ladder's step for this target."""
    prior = sanction_prior_count(target_group=target_group, target_user=target_user)
    return ladder.Defaults(
        prior=prior, hours=ladder.default_hours(kind, prior), points=ladder.default_points(prior)
    )


def sanction_history(*, target_group=None, target_user=None, limit: int = 50) -> list[Sanction]:
    """The target's measures, newest first (the case page's penalty history)."""
    return list(
        Sanction.objects.filter(_target_filter(target_group=target_group, target_user=target_user))
        .select_related("target_group", "target_user", "decided_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def _sanctions():
    return Sanction.objects.select_related(
        "target_group", "target_user", "decided_by", "approved_by", "case"
    ).order_by("-created_at", "-pk")


def sanction_list_for_staff(
    user, *, status: str = "", kind: str = "", target: str = "", query: str = "", limit: int = SANCTION_PAGE
) -> list[Sanction]:
    """R11.1-R11.3: the measures, newest first, filtered by status, kind, target type ("group" or "user")
    and a group code or account name; for compliance staff (the caller checked the policy)."""
    sanctions = _sanctions()
    if status in SanctionStatus.values:
        sanctions = sanctions.filter(status=status)
    if kind in SanctionKind.values:
        sanctions = sanctions.filter(kind=kind)
    if target == "group":
        sanctions = sanctions.filter(target_user__isnull=True)
    elif target == "user":
        sanctions = sanctions.filter(target_user__isnull=False)
    query = (query or "").strip()[:64]
    if query:
        sanctions = sanctions.filter(
            Q(target_group__code__iexact=query)
            | Q(target_user__username__iexact=query)
            | Q(target_user__nickname__iexact=query)
        )
    return list(sanctions[:limit])


def blacklist_for_staff(*, role: str = "", status: str = "", limit: int = SANCTION_PAGE) -> list[Sanction]:
    """R11.3: the blacklist as decided (pending, in force, ended, reversed), by what the target was listed
    as; the entries the policies read live in the owning apps (identity, groups)."""
    sanctions = _sanctions().filter(kind=SanctionKind.BLACKLIST)
    if role in BlacklistTarget.values:
        sanctions = sanctions.filter(blacklist_role=role)
    if status in SanctionStatus.values:
        sanctions = sanctions.filter(status=status)
    return list(sanctions[:limit])


def sanction_get_for_staff(user, pk: int) -> Sanction:
    """A measure with its appeal, for compliance staff; 404 when there is none (after the policy: 403)."""
    policies.require_view_sanctions(user)
    sanction = _sanctions().filter(pk=pk).first()
    if sanction is None:
        raise Http404
    return sanction


def sanctions_for_case(case: Case) -> list[Sanction]:
    return list(_sanctions().filter(case=case))


def _concerning(user) -> Q:
    owned = Membership.objects.filter(user=user, role="owner", left_at__isnull=True).values("group_id")
    return Q(target_user=user) | Q(target_user__isnull=True, target_group__in=owned)


def sanctions_concerning(user, *, limit: int = 100) -> list[Sanction]:
    """R11.1-R11.3: "My sanctions": the measures that took effect on the person and on the groups they
    own, newest first, with their appeals."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        _sanctions().filter(_concerning(user), status__in=TOOK_EFFECT).select_related("appeal")[:limit]
    )


def sanction_get_for_appellant(user, pk: int) -> Sanction:
    """A measure that concerns the person (theirs, or on a group they own); 404 for anything else."""
    if user is None or not user.is_authenticated:
        raise Http404
    sanction = _sanctions().filter(_concerning(user), status__in=TOOK_EFFECT, pk=pk).first()
    if sanction is None:
        raise Http404
    return sanction


def appeal_of(sanction: Sanction) -> Appeal | None:
    return Appeal.objects.filter(sanction=sanction).select_related("filed_by", "decided_by").first()


# --- the review queue (R12.1) --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """The queue page's filters (all optional): one kind, one kind of reason, overdue only, mine only."""

    kind: str = ""
    category_kind: str = ""
    overdue: bool = False
    mine: bool = False


def _open_items():
    from moderation.models import ReviewItem, ReviewStatus

    return ReviewItem.objects.filter(status=ReviewStatus.OPEN)


# Who runs a group, for "nobody decides their own matter" (the roles ``policies.concerns`` reads).
RUNS_GROUP = ("owner", "admin")


def matters_about(user) -> Q:
    """R12.1: the queue items or cases about the person, as a filter for the query itself (so that a page
    stays one query, whatever the queue holds): they are the member concerned, or an active owner or admin
    of the group; ``policies.concerns`` says the same of one item. Nobody is shown, counted or handed such
    a matter: they never decide it, nor learn who reported them."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    runs = Membership.objects.filter(user=user, role__in=RUNS_GROUP, left_at__isnull=True).values("group_id")
    return Q(subject_id=user.pk) | Q(group_id__in=runs)


def queue_counts(user, kinds: list[str]) -> dict:
    """R12.1: open items per kind, overdue ones, and those the person holds, each counted up to
    ``MODERATION_QUEUE_COUNT_CAP`` (shown as "1000+"), in one query whatever the queue holds. Items about
    the person (``matters_about``) are not counted."""
    from django.db import connection

    from moderation import rules
    from moderation.models import ReviewItem, ReviewStatus

    cap = rules.queue_count_cap()
    now = timezone.now()
    table = connection.ops.quote_name(ReviewItem._meta.db_table)
    fields = {f.name: connection.ops.quote_name(f.column) for f in ReviewItem._meta.concrete_fields}
    status, kind, deadline = fields["status"], fields["kind"], fields["deadline"]
    claimed_by, claimed_until = fields["claimed_by"], fields["claimed_until"]
    subject, group = fields["subject"], fields["group"]
    placeholders = ", ".join(["%s"] * len(kinds)) or "NULL"
    # Not about the person (matters_about): neither the member concerned nor a group they run.
    memberships = connection.ops.quote_name(Membership._meta.db_table)
    member = {f.name: connection.ops.quote_name(f.column) for f in Membership._meta.concrete_fields}
    roles = ", ".join(["%s"] * len(RUNS_GROUP))
    not_mine = (
        f"AND ({subject} IS NULL OR {subject} <> %s) AND ({group} IS NULL OR {group} NOT IN "  # noqa: S608
        f"(SELECT {member['group']} FROM {memberships} WHERE {member['user']} = %s "
        f"AND {member['role']} IN ({roles}) AND {member['left_at']} IS NULL))"
    )
    not_mine_params = [user.pk, user.pk, *RUNS_GROUP]
    # Table and column names from the models; every value a parameter. Each count stops at the cap.
    selects, params = [], []
    for name in kinds:
        selects.append(
            f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {status} = %s AND {kind} = %s "  # noqa: S608
            f"{not_mine} LIMIT %s) c)"
        )
        params += [ReviewStatus.OPEN, name, *not_mine_params, cap]
    selects.append(
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {status} = %s AND {kind} IN ({placeholders}) "  # noqa: S608
        f"AND {deadline} < %s {not_mine} LIMIT %s) c)"
    )
    params += [ReviewStatus.OPEN, *kinds, now, *not_mine_params, cap]
    selects.append(
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {status} = %s AND {claimed_by} = %s "  # noqa: S608
        f"AND {claimed_until} > %s {not_mine} LIMIT %s) c)"
    )
    params += [ReviewStatus.OPEN, user.pk, now, *not_mine_params, cap]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), params)
        row = cursor.fetchone()
    by_kind = dict(zip(kinds, row[: len(kinds)], strict=True))
    return {
        "by_kind": by_kind,
        "total": sum(by_kind.values()),
        "overdue": row[len(kinds)],
        "mine": row[len(kinds) + 1],
        "cap": cap,
    }


def queue_list(user, kinds: list[str], filters: QueueFilters, *, limit: int | None = None) -> list:
    """R12.1: open items the person decides, highest priority first, then the nearest deadline, with the
    group, the member concerned and the claim's holder read in the same query (the page's query count does
    not grow with the queue). Never an item about the person (``matters_about``)."""
    from moderation import queue, rules

    limit = limit or rules.queue_page_size()
    now = timezone.now()
    items = _open_items().exclude(matters_about(user))
    if filters.kind:
        items = items.filter(kind=filters.kind if filters.kind in kinds else "")
    elif set(kinds) != set(queue.SOURCES):
        items = items.filter(kind__in=kinds)
    if filters.category_kind:
        items = items.filter(category_kind=filters.category_kind)
    if filters.overdue:
        items = items.filter(deadline__lt=now)
    if filters.mine:
        items = items.filter(claimed_by=user, claimed_until__gt=now)
    return list(
        items.select_related("group", "subject", "claimed_by").order_by("-priority", "deadline", "pk")[:limit]
    )


def review_item_get_for_staff(user, pk: int):
    """A queue item for a reviewer who decides its kind; 404 for anything else (missing, or a kind they do
    not decide)."""
    from moderation.models import ReviewItem

    policies.require_work_queue(user)
    item = (
        ReviewItem.objects.filter(pk=pk, kind__in=policies.queue_kinds_for(user))
        .select_related("group", "subject", "claimed_by", "decided_by")
        .first()
    )
    # An item about the viewer (or a group they run) does not exist for them (R12.1).
    if item is None or policies.concerns(user, target_user=item.subject_id, target_group=item.group):
        raise Http404
    return item


def review_items_for_staff(user, ids: list[int]) -> list:
    """The queue items among ``ids`` the reviewer decides (bulk decisions), in the order given; never one
    about the reviewer (``matters_about``: it does not exist for them, as on its page)."""
    from moderation.models import ReviewItem

    rows = (
        ReviewItem.objects.filter(pk__in=ids, kind__in=policies.queue_kinds_for(user))
        .exclude(matters_about(user))
        .select_related("group", "subject", "claimed_by")
    )
    found = {item.pk: item for item in rows}
    return [found[pk] for pk in ids if pk in found]


def target_history(item, *, limit: int = 30) -> list[dict]:
    """R12.1: what happened before to the same member or group in the last ``MODERATION_HISTORY_DAYS`` (six
    months): their cases (open, or closed with the outcome) and other queue decisions about them (held
    messages removed, groups refused...), newest first. Sanctions are listed by ``sanction_history``."""
    from moderation import rules
    from moderation.models import ReviewItem, ReviewKind, ReviewStatus

    if item.subject_id is None and item.group_id is None:
        return []
    since = timezone.now() - timedelta(days=rules.history_days())
    about = Q()
    if item.subject_id is not None:
        about |= Q(subject_id=item.subject_id)
    if item.group_id is not None:
        about |= Q(group_id=item.group_id)
    cases = Case.objects.filter(about, created_at__gte=since).select_related("group", "decided_by")
    if item.kind == ReviewKind.CASE:
        cases = cases.exclude(pk=item.object_id)
    rows = [
        {
            "when": case.decided_at or case.created_at,
            "what": "case",
            "id": case.pk,
            "kind_label": case.get_kind_display(),
            "category_label": case.get_category_display(),
            "about": "member"
            if item.subject_id is not None and case.subject_id == item.subject_id
            else "group",
            "status": case.status,
            "resolution": case.get_resolution_display() if case.resolution else "",
            "outcome": case.outcome,
            "count": case.complaint_count,
            "by": case.decided_by.display_name if case.decided_by else "",
        }
        for case in cases.order_by("-created_at")[:limit]
    ]
    decided = (
        ReviewItem.objects.filter(about, status=ReviewStatus.DECIDED, decided_at__gte=since)
        .exclude(kind=ReviewKind.CASE)
        .exclude(pk=item.pk)
        .select_related("decided_by")
        .order_by("-decided_at")[:limit]
    )
    from moderation import queue

    def decision_label(other) -> str:
        source = queue.get(other.kind)
        choice = source.choice(other.decision) if source else None
        return str(choice.label) if choice else other.decision

    rows += [
        {
            "when": other.decided_at,
            "what": "item",
            "id": other.pk,
            "kind_label": other.get_kind_display(),
            "category_label": other.get_category_display() if other.category else "",
            "about": "member"
            if item.subject_id is not None and other.subject_id == item.subject_id
            else "group",
            "status": other.status,
            "resolution": decision_label(other),
            "outcome": other.note,
            "count": other.reporters,
            "by": other.decided_by.display_name if other.decided_by else "",
        }
        for other in decided
    ]
    rows.sort(key=lambda row: row["when"], reverse=True)
    return rows[:limit]


def queue_supervisors() -> list:
    """R12.1: the active staff who receive escalations (``moderation.receive_escalations``, directly or
    through a role such as "supervisor")."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(
        content_type__app_label="moderation", codename="receive_escalations"
    ).first()
    if permission is None:
        return []
    return list(
        get_user_model()
        .objects.filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
        .filter(is_active=True, is_staff=True)
        .distinct()
        .order_by("pk")
    )


def sanction_approvers(sanction: Sanction) -> list:
    """R11.1-R11.3, four eyes: the active supervisors (``moderation.approve_sanction``, directly or through
    the "supervisor" role) who may approve or refuse this pending measure: never the one who decided it,
    nor anyone it concerns."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(
        content_type__app_label="moderation", codename="approve_sanction"
    ).first()
    if permission is None:
        return []
    candidates = (
        get_user_model()
        .objects.filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
        .filter(is_active=True, is_staff=True)
        .exclude(pk=sanction.decided_by_id)
        .distinct()
        .order_by("pk")
    )
    return [user for user in candidates if policies.can_approve_sanction(user, sanction)]


# --- the rules in force, for the filing document (R7.2) -------------------------------------------------


def sanction_rules_in_force(kinds) -> dict:
    """R7.2: the sanction rules as configured now, for ``kinds`` (sanction kinds): for each, the default
    hours by escalation step (None: permanent), the hours a reviewer may choose and whether it may be
    permanent; the credit points by step for the untimed kinds; the history and appeal windows."""
    from django.conf import settings

    ladders = ladder._merged("MODERATION_SANCTION_LADDER", ladder.LADDER)
    out = {}
    for kind in kinds:
        if kind in ladder.UNTIMED_KINDS:
            steps = range(len(getattr(settings, "MODERATION_SANCTION_CREDIT_POINTS", ladder.CREDIT_POINTS)))
            out[kind] = {
                "points": [ladder.default_points(step) for step in steps],
                "max": ladder.points_max(),
            }
            continue
        steps = range(len(ladders.get(kind) or [None]))
        out[kind] = {
            "hours": [ladder.default_hours(kind, step) for step in steps],
            "limits": ladder.limits(kind),
            "permanent": ladder.may_be_permanent(kind),
        }
    return {
        "kinds": out,
        "history_days": ladder.history_days(),
        "appeal_window_days": ladder.appeal_window_days(),
    }


def deadline_hours_in_force(*, target_kind: str, category: str = "", queue_kind: str = "") -> int:
    """R7.2, R12.1: hours to handle a case on ``target_kind`` for reason ``category``, or with
    ``queue_kind`` an item of the review queue of that kind."""
    from moderation import rules

    if queue_kind:
        return rules.queue_deadline_hours(queue_kind, category)
    return rules.case_deadline_hours(target_kind, category)
