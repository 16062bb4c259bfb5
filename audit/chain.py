"""The canonical form of audit events and network-log rows, and their hashes (tamper evidence, R13.2).

Pure functions: the service, the verifier, the seal job and the migrations all hash the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

EVENT_FIELDS = (
    "seq",
    "occurred_at",
    "event_type",
    "actor_id",
    "actor_kind",
    "door",
    "ip",
    "port",
    "target_type",
    "target_id",
    "group_code",
    "reason",
    "data",
    "prev_hash",
)
LOG_FIELDS = (
    "id",
    "occurred_at",
    "kind",
    "user_id",
    "ip",
    "port",
    "method",
    "path",
    "status",
    "group_code",
    "message_id",
    "detail",
)


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def canonical(row: dict, fields) -> bytes:
    return json.dumps(
        {name: _plain(row.get(name)) for name in fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def event_hash(row: dict) -> str:
    return hashlib.sha256(canonical(row, EVENT_FIELDS)).hexdigest()


def rows_hash(rows) -> str:
    """One hash over network-log rows in id order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(canonical(row, LOG_FIELDS))
        digest.update(b"\n")
    return digest.hexdigest()


def digest_hash(*, first_id, last_id, row_count, rows_hash, audit_seq, audit_hash, prev_hash) -> str:
    payload = json.dumps(
        [first_id, last_id, row_count, rows_hash, audit_seq, audit_hash, prev_hash], separators=(",", ":")
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def sign(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


# PostgreSQL computes the chain itself (migration 0006). The canonical text is PostgreSQL's own text form
# of a record of the fields (it quotes any value holding a delimiter, so no value can pass for two); the
# time is in epoch microseconds and the address in host() form, so no session setting changes the text.
_SQL_FIELDS = (
    "{a}.seq",
    "(extract(epoch FROM {a}.occurred_at) * 1000000)::bigint",
    "{a}.event_type",
    "{a}.actor_id",
    "{a}.actor_kind",
    "{a}.door",
    "host({a}.ip)",
    "{a}.port",
    "{a}.target_type",
    "{a}.target_id",
    "{a}.group_code",
    "{a}.reason",
    "{a}.data::text",
    "{a}.prev_hash",
)


def sql_event_digest(alias: str) -> str:
    """The SQL expression of an event's hash, for row alias ``alias`` (``NEW`` in the trigger)."""
    fields = ", ".join(template.format(a=alias) for template in _SQL_FIELDS)
    return f"encode(sha256(convert_to(ROW({fields})::text, 'UTF8')), 'hex')"
