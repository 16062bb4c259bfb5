"""A case's evidence package for an inspector (R13.1): one zip that can be checked without the platform.

Files in the package:

- ``case.json``: the case, its complaints with their frozen evidence, the review decisions and the measures
  (sanctions) with their frozen evidence and appeal;
- ``messages.json``: the reported message and, when its group is in scope, the messages around it in
  their sequence, every status (removed, recalled and held ones keep their text: they are evidence);
- ``audit.json``: the audit trail of the case, its complaints, its measures and its message;
- ``files/…``: the reported message's picture or file, as stored;
- ``manifest.json``: who exported what, when and under which grant, the SHA-256 and size of every file,
  and an HMAC-SHA256 signature over the manifest with the report signing key (``reports.signing``);
- ``SHA256SUMS``: the same hashes in the form ``sha256sum -c SHA256SUMS`` checks;
- ``README.txt``: how to check the package, in Chinese and English.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.utils import timezone

from groups import selectors as group_selectors
from moderation import selectors as moderation_selectors
from reports import signing
from reports.inspection import Scope

FORMAT = "evidence-package-1"
CONTEXT_MESSAGES = 20  # before and after the reported message
README = """证据包 / Evidence package

本证据包由平台按监督检查授权导出。校验方法：
1. 在解压目录中运行 `sha256sum -c SHA256SUMS`，每个文件应显示 OK；
2. manifest.json 的 signature 字段是对去掉该字段后的清单（UTF-8、键排序、无多余空白的 JSON）
   使用平台报告签名密钥（key id 见 kid）计算的 HMAC-SHA256，可由平台或持有密钥的机关核验。

This package was exported by the platform under an inspection grant. To check it:
1. in the unpacked folder run `sha256sum -c SHA256SUMS`: every file must say OK;
2. manifest.json's signature is the HMAC-SHA256, with the platform's report signing key (its id in kid),
   of the manifest without that field (UTF-8 JSON, sorted keys, no insignificant whitespace).
"""


def _when(moment) -> str | None:
    return moment.isoformat() if moment else None


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "nickname": user.display_name}


def _message(message) -> dict:
    attachment = message.attachment
    return {
        "id": message.pk,
        "group": message.group.code,
        "seq": message.seq,
        "sender": _person(message.sender),
        "sent_at": _when(message.created_at),
        "status": message.status,
        "body": message.body,
        "removed_at": _when(message.removed_at),
        "removed_by": _person(message.removed_by),
        "removal_reason": message.removal_reason,
        "recalled_at": _when(message.recalled_at),
        "content_purged_at": _when(message.purged_at),
        "attachment": None
        if attachment is None
        else {
            "name": attachment.name,
            "content_type": attachment.content_type,
            "bytes": attachment.size,
            "sha256": attachment.sha256,
        },
    }


def _sanction(sanction) -> dict:
    appeal = moderation_selectors.appeal_of(sanction)
    return {
        "id": sanction.pk,
        "measure": sanction.kind,
        "measure_label": str(sanction.get_kind_display()),
        "status": sanction.status,
        "group": sanction.target_group.code if sanction.target_group_id else None,
        "user": _person(sanction.target_user),
        "reason": sanction.category,
        "reason_label": str(sanction.get_category_display()),
        "article": sanction.article,
        "explanation": sanction.note,
        "evidence": sanction.evidence,
        "decided_by": _person(sanction.decided_by),
        "decided_at": _when(sanction.created_at),
        "approved_by": _person(sanction.approved_by),
        "approved_at": _when(sanction.approved_at),
        "in_force_from": _when(sanction.starts_at),
        "until": _when(sanction.until),
        "ended_at": _when(sanction.ended_at),
        "appeal": None
        if appeal is None
        else {
            "filed_at": _when(appeal.filed_at),
            "grounds": appeal.text,
            "status": appeal.status,
            "decided_at": _when(appeal.decided_at),
            "decision": appeal.decision_note,
        },
    }


def case_record(scope: Scope, case) -> dict:
    """The case file as data: what was reported, by whom, how it was decided and what was done."""
    return {
        "id": case.pk,
        "target": case.kind,
        "group": {"code": case.group.code, "name": case.group.name},
        "member_reported": _person(case.subject),
        "message_id": case.message_id,
        "reason": case.category,
        "reason_label": str(case.get_category_display()),
        "kind_of_reason": case.category_kind,
        "status": case.status,
        "resolution": case.resolution,
        "outcome": case.outcome,
        "opened_at": _when(case.created_at),
        "handle_by": _when(case.deadline),
        "decided_at": _when(case.decided_at),
        "decided_by": _person(case.decided_by),
        "complaints": [
            {
                "id": complaint.pk,
                "filed_at": _when(complaint.created_at),
                "reporter": _person(complaint.reporter),
                "reason": complaint.category,
                "description": complaint.description,
                "evidence": complaint.evidence,
            }
            for complaint in scope.complaints(case)
        ],
        "review_decisions": [
            {
                "decision": item.decision,
                "note": item.note,
                "decided_by": _person(item.decided_by),
                "decided_at": _when(item.decided_at),
            }
            for item in scope.review_decisions(case)
        ],
        "measures": [_sanction(sanction) for sanction in scope.sanctions_for_case(case)],
    }


def case_messages(scope: Scope, case) -> list:
    """The reported message, and around it (when its group is in scope) its neighbours in the group."""
    if case.message_id is None:
        return []
    message = case.message
    if message.group_id not in scope.group_ids:
        return [message] if scope.message_visible(message) else []
    return scope.group_messages_around(case.group, message.seq, radius=CONTEXT_MESSAGES)


def _audit(event) -> dict:
    return {
        "seq": event.seq,
        "occurred_at": _when(event.occurred_at),
        "event_type": event.event_type,
        "actor": event.actor_id,
        "actor_kind": event.actor_kind,
        "door": event.door,
        "ip": event.ip,
        "port": event.port,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "group": event.group_code,
        "reason": event.reason,
        "data": event.data,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _attachment_files(messages: list, case) -> list[tuple[str, bytes]]:
    files = []
    for message in messages:
        if message.pk != case.message_id or message.attachment is None:
            continue
        try:
            with group_selectors.attachment_open_stored(message.attachment) as handle:
                files.append(
                    (f"files/{message.attachment.token}-{_safe(message.attachment.name)}", handle.read())
                )
        except FileNotFoundError:
            continue  # purged at the end of its retention: the manifest's message entry still names its hash
    return files


def _safe(name: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    return kept.strip("._")[:80] or "file"


def case_package(*, scope: Scope, case, exported_by) -> tuple[bytes, int]:
    """The zip's bytes and the number of files listed in its manifest."""
    record = case_record(scope, case)
    messages = case_messages(scope, case)
    sanctions = scope.sanctions_for_case(case)
    trail = [_audit(event) for event in scope.audit_events_for_case(case, sanctions)]
    contents = [
        ("case.json", _json(record)),
        ("messages.json", _json([_message(message) for message in messages])),
        ("audit.json", _json(trail)),
        *_attachment_files(messages, case),
        ("README.txt", README.encode("utf-8")),
    ]
    grant = scope.grant
    manifest = {
        "format": FORMAT,
        "instance": settings.REPORTS_INSTANCE_ID,
        "case": case.pk,
        "exported_at": timezone.now().isoformat(),
        "exported_by": _person(exported_by),
        "grant": {
            "id": grant.pk,
            "authority": grant.authority,
            "reference": grant.reference,
            "purpose": grant.purpose,
            "access_from": _when(grant.starts_at),
            "access_until": _when(grant.ends_at),
            "records_from": _when(grant.records_from),
            "records_until": _when(grant.records_until),
        },
        "files": [
            {"name": name, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            for name, body in contents
        ],
    }
    kid, signature = signing.sign(manifest)
    manifest["signature"] = {"alg": signing.ALGORITHM, "kid": kid, "sig": signature}
    sums = "".join(f"{entry['sha256']}  {entry['name']}\n" for entry in manifest["files"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, body in contents:
            package.writestr(name, body)
        package.writestr("manifest.json", _json(manifest))
        package.writestr("SHA256SUMS", sums.encode("utf-8"))
    return buffer.getvalue(), len(contents)
