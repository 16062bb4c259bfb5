"""The signed export outside the database (R13.2): the trust root for the audit chain and network logs.

One JSON line per record, each signed with ``AUDIT_DIGEST_KEY``, which the database does not hold:

- ``digest``: a network-log seal (rows, their hash, the audit head at sealing time);
- ``anchor``: written by the retention job *before* it deletes anything: the only thing that excuses
  rows missing from the start of the audit chain or from sealed network-log ranges;
- ``head``: the audit chain's head after a successful verification, so that a chain rewritten from
  some point on is caught even when no network logs were sealed in the meantime.

Someone with the database alone can neither forge an anchor (to hide a deletion) nor rewrite the chain
behind a head or digest already exported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from audit import chain

KINDS = ("digest", "anchor", "head")


def _text(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def append(kind: str, record: dict) -> None:
    """Append one signed line and flush it to disk before returning (an anchor must exist before the
    deletion it excuses)."""
    assert kind in KINDS
    target = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({kind: record, "signature": chain.sign(settings.AUDIT_DIGEST_KEY, _text(record))})
    with target.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


@dataclass
class Contents:
    """What the export holds, once every signature has been checked."""

    exists: bool = False
    digests: list[tuple[int, dict]] = field(default_factory=list)  # (line number, record)
    heads: list[tuple[int, dict]] = field(default_factory=list)
    audit_anchors: dict[int, str] = field(default_factory=dict)  # seq -> prev_hash
    logs_purged_through: int = 0
    problem: str = ""

    @property
    def audit_anchor_max(self) -> int:
        return max(self.audit_anchors, default=0)


def read() -> Contents:
    path = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    contents = Contents()
    if not path.exists():
        return contents
    contents.exists = True
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
            kind = next(k for k in KINDS if k in entry)
            record = entry[kind]
            signature = entry["signature"]
        except (ValueError, KeyError, StopIteration, TypeError):
            contents.problem = f"digest export line {number}: not a complete record"
            return contents
        if chain.sign(settings.AUDIT_DIGEST_KEY, _text(record)) != signature:
            contents.problem = f"digest export line {number}: bad signature"
            return contents
        if kind == "digest":
            contents.digests.append((number, record))
        elif kind == "head":
            contents.heads.append((number, record))
        elif record.get("class") == "audit_events":
            contents.audit_anchors[int(record["seq"])] = record["prev_hash"]
        else:
            contents.logs_purged_through = max(contents.logs_purged_through, int(record["through_id"]))
    return contents
