"""Credit services (R7.3, R11.2): the one door for every change to a score, a level cap or the grid.

Every change appends to the ledger (never edits it) and keeps the account's score equal to the ledger's
sum in the same transaction. Each event names its source, and (reason, source) is unique per account,
so a job run twice or a retried call counts once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from common.policies import PolicyDenied
from credit import policies, selectors
from credit.models import (
    AdjustmentStatus,
    CreditAccount,
    CreditAdjustment,
    CreditCap,
    CreditEvent,
    CreditLevel,
    CreditLevelRevision,
    CreditReason,
)
from notifications.services import notify

NEGATIVE_REASONS = (CreditReason.COMPLAINT_UPHELD, CreditReason.SANCTION)


def _account(user) -> CreditAccount:
    account, _created = CreditAccount.objects.get_or_create(user=user)
    return account


def _append(
    actor: Actor, user, delta: int, reason: str, source_ref: str, note: str = ""
) -> CreditEvent | None:
    """Append one event and move the score with it; ``None`` if this (reason, source) was counted before."""
    account = _account(user)
    try:
        with transaction.atomic():
            event = CreditEvent.objects.create(
                account=account,
                delta=delta,
                reason=reason,
                source_ref=source_ref[:80],
                note=note[:300],
                actor=actor.user if actor.user_id else None,
            )
            CreditAccount.objects.filter(pk=account.pk).update(score=F("score") + delta)
    except IntegrityError:
        return None
    return event


def _message_id(label) -> str:
    """The untranslated text of a lazy label, stored so each reader sees it in their own language."""
    with translation.override(None):
        return str(label)


def _tell(actor: Actor, user, delta: int, reason_label) -> None:
    """The member hears of every change to their credit, with where to see why (required notice)."""
    notify(
        actor=actor,
        recipient=user,
        kind="credit.changed",
        context={
            "delta": f"{delta:+d}",
            "reason": _message_id(reason_label),
            "level": selectors.capabilities_for(user).level.number,
            "severity": "info" if delta > 0 else "warning",
        },
    )


def _points(reason: str) -> int:
    return int(settings.CREDIT_POINTS[reason])


def credit_identity_verified(*, actor: Actor, user) -> CreditEvent | None:
    """R7.3: real-name verification earns credit, once per account."""
    with transaction.atomic():
        event = _append(actor, user, _points("identity_verified"), CreditReason.IDENTITY_VERIFIED, "identity")
        if event is not None:
            audit_record(
                actor=actor, event_type="credit.identity_verified", target=user, data={"delta": event.delta}
            )
    return event


def credit_good_standing_run(*, actor: Actor, day: date | None = None) -> int:
    """R7.3: a day in good standing earns a point: verified, active, and no upheld complaint or sanction
    in the last ``CREDIT_QUIET_DAYS``. Idempotent: the day is the source, so a second run adds nothing."""
    from django.contrib.auth import get_user_model

    day = day or timezone.localdate()
    since = timezone.now() - timedelta(days=settings.CREDIT_QUIET_DAYS)
    User = get_user_model()
    penalised = CreditEvent.objects.filter(
        account__user=OuterRef("pk"), reason__in=NEGATIVE_REASONS, created_at__gte=since
    )
    eligible = (
        User.objects.filter(is_active=True, retention_locked_at__isnull=True, verification__status="verified")
        .exclude(Exists(penalised))
        .values_list("pk", flat=True)
    )
    source_ref = f"day:{day.isoformat()}"
    points = _points("good_standing")
    awarded = 0
    with transaction.atomic():
        ids = list(eligible)
        CreditAccount.objects.bulk_create(
            [CreditAccount(user_id=pk) for pk in ids], ignore_conflicts=True, batch_size=2_000
        )
        accounts = list(CreditAccount.objects.filter(user_id__in=ids).values_list("pk", flat=True))
        already = set(
            CreditEvent.objects.filter(
                account_id__in=accounts, reason=CreditReason.GOOD_STANDING, source_ref=source_ref
            ).values_list("account_id", flat=True)
        )
        fresh = [pk for pk in accounts if pk not in already]
        CreditEvent.objects.bulk_create(
            [
                CreditEvent(
                    account_id=pk, delta=points, reason=CreditReason.GOOD_STANDING, source_ref=source_ref
                )
                for pk in fresh
            ],
            ignore_conflicts=True,  # a run in another worker at the same moment: the constraint decides
            batch_size=2_000,
        )
        awarded = len(fresh)
        _recompute_scores(fresh)
        audit_record(
            actor=actor,
            event_type="credit.good_standing_run",
            data={"day": day.isoformat(), "accounts": awarded},
        )
    return awarded


def _recompute_scores(account_ids) -> None:
    """Set scores from the ledger itself (after bulk appends whose count is not known exactly)."""
    total = (
        CreditEvent.objects.filter(account_id=OuterRef("pk"))
        .values("account_id")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    for start in range(0, len(account_ids), 2_000):
        CreditAccount.objects.filter(pk__in=account_ids[start : start + 2_000]).update(
            score=Coalesce(Subquery(total), 0)
        )


def credit_penalize(
    *,
    actor: Actor,
    user,
    points: int,
    reason: str,
    source_ref: str,
    note: str = "",
    cap_level: int | None = None,
    drop_levels: int = 0,
    until: datetime | None = None,
) -> CreditEvent | None:
    """R11.2: an upheld complaint or a sanction lowers credit, and may lower the level directly, until a
    time or for good: ``cap_level`` caps it at that level, ``drop_levels`` one or more below the current.
    Moderation calls this; the effect on capabilities is immediate."""
    if actor.user is not None:
        policies.can_adjust_credit(actor.user).require()
    if reason not in NEGATIVE_REASONS:
        raise ValidationError(_("A penalty is for an upheld complaint or a sanction."), code="reason_invalid")
    if points < 0:
        raise ValidationError(_("Give the points to take away as a positive number."), code="points_invalid")
    with transaction.atomic():
        current = selectors.capabilities_for(user)
        event = _append(actor, user, -points, reason, source_ref, note)
        cap = cap_level
        if drop_levels:
            dropped = max(1, current.level.number - drop_levels)
            cap = dropped if cap is None else min(cap, dropped)
        if cap is not None:
            CreditCap.objects.create(
                account=_account(user), level=max(1, cap), until=until, source_ref=source_ref
            )
        if points:  # a level cap alone is told by the sanction's own notice
            _tell(actor, user, -points, CreditReason(reason).label)
        audit_record(
            actor=actor,
            event_type="credit.penalized",
            target=user,
            reason=note,
            data={
                "points": points,
                "reason": reason,
                "source": source_ref,
                "level_before": current.level.number,
                "cap_level": cap,
                "until": until.isoformat() if until else None,
                "counted": event is not None,
            },
        )
    return event


def credit_penalty_reverse(*, actor: Actor, user, source_ref: str, note: str = "") -> CreditEvent | None:
    """R11.2: a sanction reversed on appeal gives back what it took: the points of the penalty recorded
    under ``source_ref`` come back as a new ledger event (the ledger is never edited), and the level caps
    it imposed end now. Idempotent: a second call gives nothing more."""
    if actor.user is not None:
        policies.can_adjust_credit(actor.user).require()
    with transaction.atomic():
        account = _account(user)
        CreditAccount.objects.select_for_update().filter(pk=account.pk).first()
        taken = -sum(
            CreditEvent.objects.filter(
                account=account, reason=CreditReason.SANCTION, source_ref=source_ref[:80]
            ).values_list("delta", flat=True)
        )
        event = None
        if taken > 0:
            event = _append(actor, user, taken, CreditReason.SANCTION_REVERSED, source_ref, note)
        now = timezone.now()
        caps_ended = (
            CreditCap.objects.filter(account=account, source_ref=source_ref[:80])
            .filter(Q(until__isnull=True) | Q(until__gt=now))
            .update(until=now)
        )
        if event is not None:
            _tell(actor, user, event.delta, CreditReason.SANCTION_REVERSED.label)
        audit_record(
            actor=actor,
            event_type="credit.penalty_reversed",
            target=user,
            reason=note,
            data={
                "source": source_ref,
                "points": event.delta if event is not None else 0,
                "caps_ended": caps_ended,
                "counted": event is not None,
            },
        )
    return event


def credit_adjust(*, actor: Actor, user, delta: int, reason: str) -> CreditAdjustment:
    """Staff adjust a user's credit with a stated reason. Above ``CREDIT_ADJUST_APPROVAL_THRESHOLD`` points
    (either way) the change waits for a second member of staff."""
    policies.can_adjust_credit(actor.user).require()
    if actor.user is None:
        raise PolicyDenied("not_allowed", _("A member of staff adjusts credit, not the system."))
    if actor.user.pk == user.pk:
        raise PolicyDenied("own_account", _("Nobody adjusts their own credit."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("State why the credit is adjusted."), code="reason_required")
    if not delta:
        raise ValidationError(_("An adjustment must change the score."), code="delta_zero")
    if abs(delta) > 10_000:
        raise ValidationError(_("An adjustment is at most 10,000 points."), code="delta_too_large")
    with transaction.atomic():
        account = _account(user)
        CreditAccount.objects.select_for_update().filter(pk=account.pk).first()  # concurrent requests queue
        # Small steps add up: what this member of staff applied to this user in the last day counts too, so
        # five changes of 20 need the second approver just as one of 100 does.
        recent = (
            CreditAdjustment.objects.filter(
                account__user=user,
                requested_by=actor.user,
                status=AdjustmentStatus.APPROVED,
                decided_by__isnull=True,
                requested_at__gte=timezone.now() - timedelta(days=1),
            ).aggregate(total=Sum("delta"))["total"]
            or 0
        )
        needs_second = abs(delta) > settings.CREDIT_ADJUST_APPROVAL_THRESHOLD or (
            abs(recent + delta) > settings.CREDIT_ADJUST_APPROVAL_THRESHOLD
        )
        adjustment = CreditAdjustment.objects.create(
            account=account,
            delta=delta,
            reason=reason[:300],
            requested_by=actor.user,
            status=AdjustmentStatus.PENDING if needs_second else AdjustmentStatus.APPROVED,
        )
        if not needs_second:
            _append(actor, user, delta, CreditReason.STAFF_ADJUSTMENT, f"adjustment:{adjustment.pk}", reason)
            _tell(actor, user, delta, CreditReason.STAFF_ADJUSTMENT.label)
        audit_record(
            actor=actor,
            event_type="credit.adjustment_requested" if needs_second else "credit.adjusted",
            target=user,
            reason=reason,
            data={"delta": delta, "adjustment": adjustment.pk},
        )
    return adjustment


def credit_adjustment_decide(
    *, actor: Actor, adjustment: CreditAdjustment, approve: bool, note: str = ""
) -> CreditAdjustment:
    """The second member of staff approves or rejects a large adjustment (not the one who asked)."""
    with transaction.atomic():
        adjustment = (
            CreditAdjustment.objects.select_for_update().select_related("account__user").get(pk=adjustment.pk)
        )
        policies.can_decide_adjustment(actor.user, adjustment).require()
        adjustment.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
        adjustment.decided_by = actor.user
        adjustment.decided_at = timezone.now()
        adjustment.decision_note = (note or "").strip()[:300]
        adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        user = adjustment.account.user
        if approve:
            _append(
                actor,
                user,
                adjustment.delta,
                CreditReason.STAFF_ADJUSTMENT,
                f"adjustment:{adjustment.pk}",
                adjustment.reason,
            )
            _tell(actor, user, adjustment.delta, CreditReason.STAFF_ADJUSTMENT.label)
        audit_record(
            actor=actor,
            event_type="credit.adjustment_approved" if approve else "credit.adjustment_rejected",
            target=user,
            reason=adjustment.decision_note,
            data={
                "delta": adjustment.delta,
                "adjustment": adjustment.pk,
                "requested_by": adjustment.requested_by_id,
            },
        )
    return adjustment


EDITABLE = [field for field in selectors.GRID_FIELDS if field != "number"]
CATEGORY_CODE = re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def credit_level_save(*, actor: Actor, level: CreditLevel, changes: dict, reason: str = "") -> CreditLevel:
    """R7.3, R7.2: change a row of the grid; the thresholds must rise with the level, every change is kept
    as a revision and audited, and every process uses the new row at once."""
    policies.can_edit_grid(actor.user).require()
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            _("These values cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="field_unknown",
        )
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ValidationError(_("State why the level changes."), code="reason_required")
    with transaction.atomic():
        # Every row locked, in order: two edits of neighbouring levels cannot both pass the check below.
        grid = {row.pk: row for row in CreditLevel.objects.select_for_update().order_by("number")}
        level = grid[level.pk]
        before = {field: getattr(level, field) for field in EDITABLE}
        if all(before[field] == value for field, value in changes.items()):
            return level  # nothing changes: no revision, no event
        for field, value in changes.items():
            setattr(level, field, value)
        level.full_clean()
        lower = CreditLevel.objects.filter(number__lt=level.number, min_score__gte=level.min_score).first()
        higher = CreditLevel.objects.filter(number__gt=level.number, min_score__lte=level.min_score).first()
        if lower or higher:
            raise ValidationError(
                {"min_score": _("Each level needs a higher lowest score than the level below it.")},
                code="threshold_order",
            )
        categories = level.creatable_categories
        well_formed = isinstance(categories, list) and all(
            isinstance(c, str) and CATEGORY_CODE.fullmatch(c) for c in categories
        )
        if not well_formed or ("*" in categories and len(categories) > 1):
            raise ValidationError(
                {"creatable_categories": _('List category codes, or ["*"] for every category.')},
                code="categories_invalid",
            )
        level.save()
        after = {field: getattr(level, field) for field in EDITABLE}
        CreditLevelRevision.objects.create(
            level_number=level.number,
            snapshot=after,
            changed_by=actor.user if actor.user_id else None,
            reason=reason,
        )
        audit_record(
            actor=actor,
            event_type="credit.level_changed",
            target=level,
            reason=reason,
            data={
                "level": level.number,
                "before": {k: v for k, v in before.items() if after[k] != v},
                "after": {k: v for k, v in after.items() if before[k] != v},
            },
        )
        transaction.on_commit(selectors.grid_cache_refresh)
    return level
