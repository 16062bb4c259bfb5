"""What an inspector may read under a grant (R13.1, R12.2): the grant's scope, as querysets.

A grant names groups and users, and optionally a span of records (``records_from`` … ``records_until``).
Within it the inspector reads, and only reads:

- the groups in scope: their details, members and messages (removed and held ones too, marked);
- the users in scope: their account, verification state (masked), memberships, messages and measures;
- the cases about a group or user in scope, with their complaints, decisions and measures;
- the measures (sanctions) on a group or user in scope;
- complaint statistics over those cases (R12.2);
- the audit trail and network logs about a group or user in scope.

Anything else is a 404, as if it did not exist (house rule 10): an id outside the scope tells nothing.
Other inspections' page views are never shown to an inspector.

What a scope deliberately shows beyond its own records: a user in scope's memberships name the groups they
are in (not their content); a group in scope lists every membership it has had; logs show the addresses of
those who acted on what is in scope. Frozen evidence about a group outside the scope (a case in scope only
through its user) keeps the reported message and member and the group's name and code, never the other
members, the messages around or the announcement. Secrets in logged paths (invitation tokens, file
tokens, signed links) are masked: an inspector account must not be able to use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone

from audit.models import AuditEvent, NetworkLog
from common.reasons import Reason
from groups.models import ChatGroup, Membership, Message
from moderation.models import Case, Complaint, ReviewItem, ReviewKind, Sanction
from reports.models import EvidenceExport, InspectionGrant

INSPECTION_EVENTS = "reports.inspection"  # prefix of the trail's own records of inspections
TOKEN = re.compile(r"[0-9A-Za-z_-]{16,40}")
SECRET_IN_PATH = re.compile(r"^/(join|files)/[^/]+")
GROUP_FACTS = ("id", "code", "name", "status")


def masked_path(path: str) -> str:
    """A logged request path without the secrets it may carry (R13.1: shown to inspectors)."""
    return SECRET_IN_PATH.sub(lambda found: f"/{found.group(1)}/…", (path or "").split("?", 1)[0])


def grant_get_for_inspector(user, pk: int) -> InspectionGrant:
    """The inspector's own grant, whatever its state (the policy then says whether it may be used); 404 for
    anyone else's, so grant ids cannot be probed."""
    grant = InspectionGrant.objects.filter(pk=pk, inspector_id=getattr(user, "pk", None)).first()
    if grant is None:
        raise Http404
    return grant


def grants_of_inspector(user) -> list[InspectionGrant]:
    return list(InspectionGrant.objects.filter(inspector_id=user.pk).order_by("-starts_at", "-pk"))


def grant_list_for_supervisor(*, limit: int = 200) -> list[InspectionGrant]:
    return list(
        InspectionGrant.objects.select_related("inspector", "granted_by", "revoked_by")
        .annotate(export_count=Count("exports", distinct=True))
        .order_by("-starts_at", "-pk")[:limit]
    )


def grant_get_for_supervisor(pk: int) -> InspectionGrant:
    grant = (
        InspectionGrant.objects.select_related("inspector", "granted_by", "revoked_by").filter(pk=pk).first()
    )
    if grant is None:
        raise Http404
    return grant


def grant_page_views(grant: InspectionGrant, *, limit: int = 500):
    """R13.1: every page the inspector opened (or was refused) under the grant, newest first."""
    return AuditEvent.objects.filter(
        event_type__startswith=INSPECTION_EVENTS,
        target_type=InspectionGrant._meta.label_lower,
        target_id=str(grant.pk),
    ).order_by("-seq")[:limit]


def grant_exports(grant: InspectionGrant) -> list[EvidenceExport]:
    return list(grant.exports.select_related("case", "exported_by").order_by("-created_at"))


def inspector_accounts():
    """The accounts a supervisor may grant access to: the inspector role's, active, not staff."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=False)
        .filter(Q(groups__permissions__codename="inspect") | Q(user_permissions__codename="inspect"))
        .filter(
            Q(groups__permissions__content_type__app_label="reports")
            | Q(user_permissions__content_type__app_label="reports")
        )
        .distinct()
        .order_by("username")
    )


@dataclass(frozen=True)
class ComplaintStatistics:
    """R12.2: how the complaints in scope were handled."""

    complaints: int
    cases: int
    decided: int
    open: int
    overdue: int
    decided_late: int
    average_hours: float | None
    by_category: list[tuple[str, int]]


class Scope:
    """One grant's scope: every read an inspector makes goes through here."""

    def __init__(self, grant: InspectionGrant):
        self.grant = grant

    @cached_property
    def group_ids(self) -> frozenset[int]:
        return frozenset(self.grant.scope_groups.values_list("pk", flat=True))

    @cached_property
    def group_codes(self) -> frozenset[str]:
        return frozenset(ChatGroup.objects.filter(pk__in=self.group_ids).values_list("code", flat=True))

    @cached_property
    def user_ids(self) -> frozenset[int]:
        return frozenset(self.grant.scope_users.values_list("pk", flat=True))

    def _in_span(self, rows, field: str):
        if self.grant.records_from:
            rows = rows.filter(**{f"{field}__gte": self.grant.records_from})
        if self.grant.records_until:
            rows = rows.filter(**{f"{field}__lt": self.grant.records_until})
        return rows

    def in_span(self, moment) -> bool:
        return (self.grant.records_from is None or moment >= self.grant.records_from) and (
            self.grant.records_until is None or moment < self.grant.records_until
        )

    # Groups and users

    def groups(self):
        return ChatGroup.objects.filter(pk__in=self.group_ids).select_related("category").order_by("code")

    def group_get(self, code: str) -> ChatGroup:
        group = self.groups().filter(code=str(code).upper()).first()
        if group is None:
            raise Http404
        return group

    def users(self):
        return get_user_model().objects.filter(pk__in=self.user_ids).order_by("pk")

    def user_get(self, pk: int):
        user = self.users().filter(pk=pk).first()
        if user is None:
            raise Http404
        return user

    def members(self, group: ChatGroup):
        return Membership.objects.filter(group=group).select_related("user").order_by("left_at", "joined_at")

    def memberships_of(self, user):
        return Membership.objects.filter(user=user).select_related("group").order_by("-joined_at")

    # Messages: every status, removed ones included (they are evidence, R13.2)

    def _messages(self):
        return self._in_span(Message.objects.exclude(seq=None), "created_at").select_related(
            "sender", "group", "attachment", "removed_by"
        )

    def group_messages(
        self, group: ChatGroup, *, before: int | None = None, limit: int = 100
    ) -> list[Message]:
        rows = self._messages().filter(group=group)
        if before:
            rows = rows.filter(seq__lt=before)
        return list(rows.order_by("-seq")[:limit])[::-1]

    def group_messages_around(self, group: ChatGroup, seq: int, *, radius: int) -> list[Message]:
        rows = self._messages().filter(group=group, seq__gte=seq - radius, seq__lte=seq + radius)
        return list(rows.order_by("seq"))

    def user_messages(self, user, *, before: int | None = None, limit: int = 100) -> list[Message]:
        rows = self._messages().filter(sender=user)
        if before:
            rows = rows.filter(pk__lt=before)
        return list(rows.order_by("-pk")[:limit])[::-1]

    def message_visible(self, message: Message) -> bool:
        return (message.group_id in self.group_ids or message.sender_id in self.user_ids) and self.in_span(
            message.created_at
        )

    def message_by_attachment(self, token: str) -> Message:
        if not TOKEN.fullmatch(str(token)):
            raise Http404
        message = (
            Message.objects.filter(attachment__token=token)
            .exclude(seq=None)
            .select_related("attachment")
            .first()
        )
        if message is None or not self.message_visible(message):
            raise Http404
        return message

    # Cases and measures

    def _about(self, *, group_field: str, user_fields: tuple[str, ...]) -> Q:
        about = Q(**{f"{group_field}__in": self.group_ids})
        for field in user_fields:
            about |= Q(**{f"{field}__in": self.user_ids})
        return about

    def cases(self):
        about = self._about(group_field="group_id", user_fields=("subject_id", "message__sender_id"))
        return (
            self._in_span(Case.objects.filter(about), "created_at")
            .select_related("group", "subject", "message", "decided_by")
            .order_by("-created_at", "-pk")
        )

    def case_get(self, pk: int) -> Case:
        case = self.cases().filter(pk=pk).first()
        if case is None:
            raise Http404
        return case

    def case_ids_among(self, sanctions) -> set[int]:
        """Which of these measures' cases the inspector may open."""
        ids = {sanction.case_id for sanction in sanctions if sanction.case_id}
        return set(self.cases().filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()

    def frozen(self, evidence):
        """Frozen evidence (house rule 8) as an inspector reads it: whole when its group is in scope;
        otherwise the reported message and member and the group's name and code only."""
        if not isinstance(evidence, dict):
            return evidence
        shown = dict(evidence)
        group = shown.get("group")
        if isinstance(group, dict) and group.get("id") not in self.group_ids:
            shown["group"] = {key: group.get(key) for key in GROUP_FACTS}
            for key in ("members", "before", "after"):
                if key in shown:
                    shown[key] = []
        case = shown.get("case")
        if isinstance(case, dict) and isinstance(case.get("first_complaint"), dict):
            shown["case"] = {**case, "first_complaint": self.frozen(case["first_complaint"])}
        return shown

    def complaints(self, case: Case) -> list[Complaint]:
        """The case's complaints in the span, their evidence as ``frozen`` shows it (never saved)."""
        in_span = self._in_span(case.complaints.select_related("reporter"), "created_at")
        complaints = list(in_span.order_by("created_at", "pk"))
        for complaint in complaints:
            complaint.evidence = self.frozen(complaint.evidence)
        return complaints

    def review_decisions(self, case: Case) -> list[ReviewItem]:
        return list(
            ReviewItem.objects.filter(kind=ReviewKind.CASE, object_id=case.pk)
            .exclude(decided_at=None)
            .select_related("decided_by")
            .order_by("decided_at")
        )

    def sanctions(self):
        about = self._about(group_field="target_group_id", user_fields=("target_user_id",))
        return (
            self._in_span(Sanction.objects.filter(about), "created_at")
            .select_related("target_group", "target_user", "decided_by", "approved_by", "case")
            .order_by("-created_at", "-pk")
        )

    def sanctions_for_case(self, case: Case) -> list[Sanction]:
        """The case's measures in scope, their evidence as ``frozen`` shows it (never saved)."""
        sanctions = list(self.sanctions().filter(case=case))
        for sanction in sanctions:
            sanction.evidence = self.frozen(sanction.evidence)
        return sanctions

    def statistics(self) -> ComplaintStatistics:
        """R12.2: complaints received in scope and how their cases were handled: decided, open, overdue
        (open past the deadline), decided late, the average time to a decision, and the reasons."""
        now = timezone.now()
        cases = self.cases().order_by()
        complaints = Complaint.objects.filter(case__in=cases)
        decided = cases.exclude(decided_at=None)
        spans = [done - opened for opened, done in decided.values_list("created_at", "decided_at")]
        average = sum(spans, timedelta()) / len(spans) if spans else None
        by_category = complaints.values("category").annotate(count=Count("pk")).order_by("-count", "category")
        return ComplaintStatistics(
            complaints=complaints.count(),
            cases=cases.count(),
            decided=decided.count(),
            open=cases.filter(decided_at=None).count(),
            overdue=cases.filter(decided_at=None, deadline__lt=now).count(),
            decided_late=decided.filter(decided_at__gt=F("deadline")).count(),
            average_hours=_hours(average),
            by_category=[(_reason_label(row["category"]), row["count"]) for row in by_category],
        )

    # The trail

    def audit_events(self):
        about = Q(group_code__in=self.group_codes) | Q(actor_id__in=self.user_ids)
        about |= Q(target_type="identity.user", target_id__in=[str(pk) for pk in self.user_ids])
        about |= Q(target_type="groups.chatgroup", target_id__in=[str(pk) for pk in self.group_ids])
        return (
            self._in_span(AuditEvent.objects.filter(about), "occurred_at")
            .exclude(event_type__startswith=INSPECTION_EVENTS)
            .select_related("actor")
            .order_by("-seq")
        )

    def audit_events_for_case(self, case: Case, sanctions: list[Sanction]):
        targets = Q(target_type=Case._meta.label_lower, target_id=str(case.pk))
        if sanctions:
            targets |= Q(target_type=Sanction._meta.label_lower, target_id__in=[str(s.pk) for s in sanctions])
        complaint_ids = [str(pk) for pk in case.complaints.values_list("pk", flat=True)]
        if complaint_ids:
            targets |= Q(target_type=Complaint._meta.label_lower, target_id__in=complaint_ids)
        if case.message_id:
            targets |= Q(target_type=Message._meta.label_lower, target_id=str(case.message_id))
        return (
            AuditEvent.objects.filter(targets)
            .exclude(event_type__startswith=INSPECTION_EVENTS)
            .select_related("actor")
            .order_by("seq")
        )

    def network_logs(self):
        about = Q(group_code__in=self.group_codes) | Q(user_id__in=self.user_ids)
        return self._in_span(NetworkLog.objects.filter(about), "occurred_at").order_by("-id")


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 3600, 1)


def _reason_label(code: str) -> str:
    return str(Reason(code).label) if code in Reason.values else code
