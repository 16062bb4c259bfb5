"""The audit trail and the network logs (R13.2): writing, sealing, retention and legal holds.

- ``audit_record`` appends to the hash chain inside the caller's transaction; on PostgreSQL appends are
  serialised by a transaction-scoped advisory lock, so two writers never fork the chain.
- ``network_log_write`` is a plain insert: no lock on the hot path. ``network_log_seal`` later seals
  the new rows with a digest chained to the previous one and to the audit chain's head, and appends it,
  signed, to an export file outside the database.
- ``retention_purge`` never removes anything younger than the 180-day floor, whatever the settings say,
  nor anything under a legal hold; it works in short batches and can be interrupted and rerun.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain, export
from audit.models import AuditEvent, HoldTarget, LegalHold, LogDigest, NetworkLog, RetentionRun
from common.actors import Actor
from common.policies import PolicyDenied

AUDIT_CHAIN_LOCK = 0x51A0_0A0D  # pg_advisory_xact_lock key for appends to the chain (also in migration 0006)
SEAL_LOCK = 0x51A0_0A0E
# Cybersecurity Law art. 21 (art. 23 from 2026): at least six months. Six calendar months can span 184
# days, so the floor is 184: never younger than 180 days, whatever the months.
RETENTION_FLOOR_DAYS = 184


def _scrub(value):
    """PostgreSQL text and JSON refuse NUL: keep a visible trace of it instead of failing the request."""
    if isinstance(value, str):
        return value.replace("\x00", "\\0")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _lock(key: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def audit_record(
    *,
    actor: Actor,
    event_type: str,
    target: models.Model | None = None,
    data: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    """R13.2: append who did what, through which door, from which address and port, to the chain."""
    data = _scrub(data or {})
    reason = _scrub(reason)
    group_code = (
        getattr(target, "code", "") if target is not None and target._meta.model_name == "chatgroup" else ""
    )
    row = {
        "occurred_at": timezone.now(),
        "event_type": event_type,
        "actor_id": actor.user_id,
        "actor_kind": actor.kind.value,
        "door": actor.door.value,
        "ip": actor.ip,
        "port": actor.port,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "group_code": group_code or str(data.get("code", ""))[:8],
        "reason": reason,
        "data": data,
    }
    # One INSERT per append. On PostgreSQL a trigger takes the chain lock and computes seq, prev_hash and
    # hash inside the statement (migration 0006); elsewhere (SQLite) they are computed here under the
    # database's write lock. The lock is held until commit, so everything inside it is kept short.
    table = AuditEvent._meta.db_table
    meta = AuditEvent._meta
    in_database = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if not in_database:
            cursor.execute(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # noqa: S608 (fixed name)
            head = cursor.fetchone()
            row["seq"] = (head[0] + 1) if head else 1
            row["prev_hash"] = head[1] if head else ""
            row["hash"] = chain.event_hash(row)
        columns = [name for name in (*chain.EVENT_FIELDS, "hash") if name in row]
        values = [
            meta.get_field("actor").get_db_prep_value(row[name], connection)
            if name == "actor_id"
            else meta.get_field(name).get_db_prep_save(row[name], connection)
            for name in columns
        ]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "  # noqa: S608
            "RETURNING id, seq, prev_hash, hash",
            values,
        )
        pk, row["seq"], row["prev_hash"], row["hash"] = cursor.fetchone()
    event = AuditEvent(pk=pk, **row)
    event._state.adding = False
    return event


def network_log_write(*, actor: Actor, kind: str, **fields) -> None:
    """R13.2: one network-log row (sign-ins, requests, sockets, message metadata); no lock, no chain."""
    network_log_entry(actor=actor, kind=kind, **fields).save()


def network_log_entry(*, actor: Actor, kind: str, **fields) -> NetworkLog:
    """The row ``network_log_write`` would write, unsaved: for a service that writes it in the same
    statement as what it records (a chat message, which must never exist without its log row)."""
    return NetworkLog(
        occurred_at=timezone.now(),
        kind=kind,
        user_id=actor.user_id,
        ip=actor.ip,
        port=actor.port,
        **_scrub(fields),
    )


def network_log_seal(*, actor: Actor, grace_seconds: int = 30, batch: int = 50_000) -> LogDigest | None:
    """Seal network-log rows written since the last seal (older than ``grace_seconds``, so that no
    transaction still writing into the range is missed), chained to the last digest and the audit head."""
    with transaction.atomic():
        _lock(SEAL_LOCK)  # its own lock: sealing never stalls audit appends
        last = LogDigest.objects.order_by("-last_id").first()
        after = last.last_id if last else 0
        horizon = timezone.now() - timedelta(seconds=grace_seconds)
        candidates = list(
            NetworkLog.objects.filter(id__gt=after).order_by("id").values(*chain.LOG_FIELDS)[:batch]
        )
        rows = []
        for row in candidates:  # a contiguous run of ids, stopping at the first row still too young
            if row["occurred_at"] >= horizon:
                break
            rows.append(row)
        if not rows:
            return None
        head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first() or {"seq": None, "hash": ""}
        fields = {
            "first_id": rows[0]["id"],
            "last_id": rows[-1]["id"],
            "row_count": len(rows),
            "rows_hash": chain.rows_hash(rows),
            "audit_seq": head["seq"],
            "audit_hash": head["hash"],
            "prev_hash": last.hash if last else "",
        }
        digest = LogDigest.objects.create(**fields, hash=chain.digest_hash(**fields))
    digests_export_pending()
    return digest


def digests_export_pending() -> int:
    """Append every digest not yet exported, in order, signed, to the file outside the database, so a
    rewrite of the whole table shows. Run after each seal; a failed write (a full disk) is retried by the
    next seal, and the verifier reports a digest left unexported."""
    exported = 0
    for digest in LogDigest.objects.filter(exported_at__isnull=True).order_by("last_id"):
        _export_digest(digest)
        LogDigest.objects.filter(pk=digest.pk).update(exported_at=timezone.now())
        exported += 1
    return exported


def _export_digest(digest: LogDigest) -> None:
    record = {
        "first_id": digest.first_id,
        "last_id": digest.last_id,
        "row_count": digest.row_count,
        "rows_hash": digest.rows_hash,
        "audit_seq": digest.audit_seq,
        "audit_hash": digest.audit_hash,
        "prev_hash": digest.prev_hash,
        "hash": digest.hash,
        "sealed_at": digest.created_at.isoformat(),
    }
    export.append("digest", record)


# --- legal holds -----------------------------------------------------------------------------------


def legal_hold_set(*, actor: Actor, target_type: str, target_id: str, reason: str) -> LegalHold:
    """Stop the purge of everything a user, group or case covers, until lifted."""
    _require_compliance(actor)
    if target_type not in HoldTarget.values or not (target_id or "").strip():
        raise PolicyDenied(
            "hold_target_invalid", _("Choose what to hold: a user id, a group code or a case.")
        )
    if not (reason or "").strip():
        raise PolicyDenied("reason_required", _("State why the records must be kept."))
    with transaction.atomic():
        hold = LegalHold.objects.create(
            target_type=target_type,
            target_id=target_id.strip()[:64],
            reason=reason.strip(),
            set_by=actor.user,
        )
        audit_record(
            actor=actor,
            event_type="audit.legal_hold_set",
            target=hold,
            reason=reason.strip(),
            data={"target_type": target_type, "target_id": hold.target_id},
        )
    return hold


def legal_hold_lift(*, actor: Actor, hold: LegalHold, reason: str) -> LegalHold:
    _require_compliance(actor)
    if not (reason or "").strip():
        raise PolicyDenied("reason_required", _("State why the hold can be lifted."))
    with transaction.atomic():
        LegalHold.objects.filter(pk=hold.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now(), lifted_by=actor.user
        )
        hold.refresh_from_db()
        audit_record(
            actor=actor,
            event_type="audit.legal_hold_lifted",
            target=hold,
            reason=reason.strip(),
            data={"target_type": hold.target_type, "target_id": hold.target_id},
        )
    return hold


def _require_compliance(actor: Actor) -> None:
    """Holds and exports belong to compliance staff (``audit.export_auditevent``) or the system."""
    if actor.kind.value == "system":
        return
    user = actor.user
    if not (user and user.is_authenticated and user.is_staff and user.has_perm("audit.export_auditevent")):
        raise PolicyDenied("not_allowed", _("Only compliance staff may do this."))


def audit_export_record(*, actor: Actor, what: str, filters: dict, rows: int) -> None:
    """R6.3, R13.1: every export of the trail is itself on the trail."""
    _require_compliance(actor)
    audit_record(
        actor=actor, event_type="audit.exported", data={"what": what, "filters": filters, "rows": rows}
    )


# --- retention -------------------------------------------------------------------------------------


def retention_days(record_class: str) -> int:
    """The configured period, never below the floor (a system check also refuses such a setting)."""
    configured = int(settings.RETENTION_DAYS.get(record_class, RETENTION_FLOOR_DAYS))
    return max(configured, RETENTION_FLOOR_DAYS)


def _active_holds():
    holds = LegalHold.objects.filter(lifted_at__isnull=True).values_list("target_type", "target_id")
    users = [int(t) for kind, t in holds if kind == HoldTarget.USER and t.isdigit()]
    groups = [t.upper() for kind, t in holds if kind == HoldTarget.GROUP]
    return users, groups


# Record classes kept by apps above this one (retention-locked accounts, removed messages, evidence) are
# purged by functions those apps register here at start-up: ``fn(*, actor, cutoff, held_users, held_groups,
# batch_size, progress) -> rows removed``. The floor, the holds and the record of each run stay here.
_RETENTION_PURGERS: dict = {}


def register_retention_purger(record_class: str, purger) -> None:
    """Several apps may keep records of one class (evidence from screening and from complaints)."""
    if record_class not in settings.RETENTION_DAYS:
        raise ValueError(f"no retention period is configured for {record_class!r}")
    purgers = _RETENTION_PURGERS.setdefault(record_class, [])
    if purger not in purgers:
        purgers.append(purger)


def retention_classes() -> list[str]:
    """Every record class that has a purge: the two kept here and those registered by other apps."""
    return ["network_logs", "audit_events", *sorted(_RETENTION_PURGERS)]


def retention_purge(
    *,
    actor: Actor,
    record_class: str,
    batch_size: int = 5_000,
    pause_seconds: float | None = None,
    max_seconds: float | None = None,
    progress=None,
) -> RetentionRun:
    """R13.2: remove records past their retention period, in batches, never below the 180-day floor and
    never anything held. ``progress(done)`` is called after each batch. Between batches it pauses
    (``RETENTION_PURGE_PAUSE_SECONDS``) so that the inserts it shares the database with stay fast."""
    if record_class not in retention_classes():
        raise PolicyDenied("unknown_class", f"no purge for {record_class!r}")
    pause = settings.RETENTION_PURGE_PAUSE_SECONDS if pause_seconds is None else pause_seconds
    days = retention_days(record_class)
    if days < RETENTION_FLOOR_DAYS:  # unreachable by configuration; kept as the last line of defence
        raise PolicyDenied("retention_floor", "retention below the floor")
    cutoff = timezone.now() - timedelta(days=days)
    run = RetentionRun.objects.create(record_class=record_class, cutoff=cutoff)
    held_users, held_groups = _active_holds()
    started = timezone.now()
    if record_class == "network_logs":
        _purge_network_logs(
            run, cutoff, held_users, held_groups, batch_size, max_seconds, started, progress, pause
        )
    elif record_class == "audit_events":
        _purge_audit_prefix(run, cutoff, held_users, held_groups, batch_size, progress)
    else:
        run.removed = sum(
            purger(
                actor=actor,
                cutoff=cutoff,
                held_users=held_users,
                held_groups=held_groups,
                batch_size=batch_size,
                progress=progress,
            )
            for purger in _RETENTION_PURGERS[record_class]
        )
    RetentionRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), removed=run.removed)
    audit_record(
        actor=actor,
        event_type="audit.retention_purged",
        data={"class": record_class, "cutoff": cutoff.isoformat(), "removed": run.removed},
    )
    return run


def _purge_network_logs(
    run, cutoff, held_users, held_groups, batch_size, max_seconds, started, progress, pause
):
    """Delete expired rows in id windows (ids grow with time), each window its own short transaction."""
    held = Q(user_id__in=held_users) | Q(group_code__in=held_groups)
    expired = NetworkLog.objects.filter(occurred_at__lt=cutoff)
    boundary = expired.order_by("-id").values_list("id", flat=True).first()
    run.chain_anchor_seq = boundary  # digests wholly at or below this id are no longer verifiable row by row
    RetentionRun.objects.filter(pk=run.pk).update(chain_anchor_seq=boundary)
    low = expired.exclude(held).order_by("id").values_list("id", flat=True).first()
    if boundary is None or low is None:
        return
    # Signed before anything goes: sealed ranges up to here may be incomplete from now on.
    export.append(
        "anchor", {"class": "network_logs", "through_id": boundary, "at": timezone.now().isoformat()}
    )
    while low <= boundary:
        high = min(low + batch_size, boundary + 1)
        with transaction.atomic():
            removed, _detail = expired.exclude(held).filter(id__gte=low, id__lt=high).delete()
        run.removed += removed
        low = high
        if progress:
            progress(run.removed)
        if pause and removed:
            time.sleep(pause)
        if max_seconds is not None and (timezone.now() - started).total_seconds() > max_seconds:
            break


def _purge_audit_prefix(run, cutoff, held_users, held_groups, batch_size, progress):
    """Audit events go only as a prefix of the chain: up to the first row that is young enough or held,
    so what remains is one unbroken chain whose first link is recorded as the anchor."""
    held = (
        Q(actor_id__in=held_users)
        | Q(group_code__in=held_groups)
        | Q(target_type="identity.user", target_id__in=[str(u) for u in held_users])
    )
    stop = (
        AuditEvent.objects.filter(Q(occurred_at__gte=cutoff) | held)
        .order_by("seq")
        .values("seq", "prev_hash")
        .first()
    )
    if stop is None or not AuditEvent.objects.filter(seq__lt=stop["seq"]).exists():
        return
    # Signed before anything goes: the chain may start here from now on, and nowhere later.
    export.append(
        "anchor",
        {
            "class": "audit_events",
            "seq": stop["seq"],
            "prev_hash": stop["prev_hash"],
            "at": timezone.now().isoformat(),
        },
    )
    run.chain_anchor_seq, run.chain_anchor_prev_hash = stop["seq"], stop["prev_hash"]
    RetentionRun.objects.filter(pk=run.pk).update(
        chain_anchor_seq=stop["seq"], chain_anchor_prev_hash=stop["prev_hash"]
    )
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL qunzu.retention = 'on'")
            seqs = list(
                AuditEvent.objects.filter(seq__lt=stop["seq"])
                .order_by("seq")
                .values_list("seq", flat=True)[:batch_size]
            )
            if not seqs:
                break
            removed, _detail = AuditEvent.objects.filter(seq__in=seqs).delete()
        run.removed += removed
        if progress:
            progress(run.removed)
