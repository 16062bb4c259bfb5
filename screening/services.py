"""Screening of prohibited content (R10.1) and the management of its lexicon.

``screen`` is the one door every text passes before it is published (messages, nicknames, group names,
descriptions, announcements), called by the service that publishes it. Lexicon changes go through the
services below, each one versioned and audited.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from common.policies import PolicyDenied
from common.reasons import Reason
from screening import files, images, matcher, policies, virus
from screening.engine import ImportReport, Verdict, check_plain, clean_term, evaluate, parse_lexicon_csv
from screening.models import (
    ACTION_STRENGTH,
    IMAGE_ACTIONS,
    TERM_MAX_LENGTH,
    Action,
    AllowEntry,
    LexiconTerm,
    LexiconVersion,
    ProhibitedImage,
    ScreeningEvidence,
)
from screening.normalize import fold
from screening.selectors import lexicon_csv, prohibited_image_find, prohibited_image_matches

EVIDENCE_TEXT_LIMIT = 200_000  # characters kept of an enormous input (the rest is summarised by length)

# Hamming distance, in bits of 64, within which an image counts as a copy of a list entry (R10.1). Chosen
# by experiment (400 photo-like test images with gradients, shapes and noise, plus three real pictures;
# 81,003 unrelated pairs): a copy resized to 50 % and recompressed as JPEG at quality 35 is at most 2 bits
# from its original by pHash (a quarter-size copy at quality 20: 4; JPEG quality 10: 4; a 64-colour PNG: 8),
# a copy cropped by 2.5 % on each side is 5.6 on average and within 8 for 93 % of images; unrelated images
# are 31.5 apart on average and never closer than 10. So 8 catches the recompressed copies with room to spare
# and still leaves 2 bits to the nearest unrelated pair; against a 100,000-entry list a larger value would
# buy crops at the price of false blocks. If 64 bits were independent coin tosses, two unrelated images
# would be within 8 bits with a probability of 3e-10.
IMAGE_DISTANCE_DEFAULT = 8
# A pHash candidate must also be within this many dHash bits: resized and recompressed copies were within
# 11 (cropped and resized: 15), unrelated pairs 1 % of the time within 18 — a second, independent test that
# cuts false positives of the pHash alone, at no cost in the copies measured.
IMAGE_DHASH_DISTANCE_DEFAULT = 16


def screen(*, actor: Actor, text: str, context: dict) -> Verdict:
    """R10.1: may this text be published? The strongest action among the hits decides. Blocked, held and
    flagged texts keep an evidence record (original, normalised, hits, context, author, address) and an audit
    event; ``context`` says where the text was going (``{"kind": "message", "group": "3BJBB9GM"}``)."""
    if not text:
        return Verdict()
    active = matcher.current()
    folded, hits = evaluate(text, active)
    if not hits:
        return Verdict(lexicon_version=active.version)
    return _keep_evidence(
        actor,
        hits=hits,
        text=text,
        folded=folded,
        context=context,
        stored_context={**context, "length": len(text)},
        version=active.version,
    )


def _strongest(hits) -> str:
    return max((hit.action for hit in hits), key=ACTION_STRENGTH.__getitem__)


def _keep_evidence(
    actor: Actor,
    *,
    hits,
    text: str,
    folded: str,
    context: dict,
    stored_context: dict,
    version: int | None,
    file_sha256: str = "",
    audit_extra: dict | None = None,
) -> Verdict:
    """The evidence row of a hit, and for block and hold the audit event, in one transaction."""
    hits = tuple(hits)
    action = _strongest(hits)
    with transaction.atomic():
        evidence = ScreeningEvidence.objects.create(
            action=action,
            original_text=text[:EVIDENCE_TEXT_LIMIT],
            normalised_text=folded[:EVIDENCE_TEXT_LIMIT],
            hits=[hit.as_dict() for hit in hits],
            context=stored_context,
            author=actor.user if actor.user_id else None,
            ip=actor.ip,
            port=actor.port,
            lexicon_version=version,
            file_sha256=file_sha256,
        )
        if action == Action.FLAG:  # published: the evidence row is what a reviewer finds (no chain lock)
            return Verdict(action, hits, evidence.pk, version)
        audit_record(
            actor=actor,
            event_type=f"screening.{'blocked' if action == Action.BLOCK else 'held'}",
            target=evidence,
            data={
                "categories": sorted({hit.category for hit in hits}),
                "context": context,
                "lexicon_version": version,
                "code": str(context.get("group", ""))[:8],  # so a legal hold on the group covers it
                **(audit_extra or {}),
            },
        )
    return Verdict(action, hits, evidence.pk, version)


# --- files ----------------------------------------------------------------------------------------


def _image_thresholds() -> tuple[int, int]:
    return (
        int(getattr(settings, "SCREENING_IMAGE_DISTANCE", IMAGE_DISTANCE_DEFAULT)),
        int(getattr(settings, "SCREENING_IMAGE_DHASH_DISTANCE", IMAGE_DHASH_DISTANCE_DEFAULT)),
    )


def _plain(value: str) -> str:
    """PostgreSQL text and JSON refuse NUL: keep a visible trace of it in the evidence."""
    return value.replace("\x00", "\\0")[:EVIDENCE_TEXT_LIMIT]


def _file_refusal(code: str) -> PolicyDenied:
    messages = {
        "virus_scan_unavailable": _(
            "The file could not be checked for viruses just now, so it was not sent. Try again later."
        ),
        "image_too_large": _("This image is too large to be checked. Send a smaller copy of it."),
        "image_damaged": _(
            "This image is damaged and cannot be checked. Save it again and send the new copy."
        ),
    }
    return PolicyDenied(code, messages[code])


def screen_file(*, actor: Actor, data: bytes, name: str, context: dict) -> Verdict:
    """R10.1: may this file be published? Its name goes through the lexicon as text does; an image Pillow
    can open is compared with the active list of prohibited images (pHash within
    ``SCREENING_IMAGE_DISTANCE`` bits and dHash within ``SCREENING_IMAGE_DHASH_DISTANCE``, every frame of
    an animation up to eight); and when ``SCREENING_CLAMD_HOST`` is set the bytes are scanned for viruses
    (a find blocks). The strongest action wins, with the same verdict, evidence and audit as ``screen``; the
    evidence records the file's SHA-256, size, hashes, the entries matched and their distances.

    Fails closed: when the virus scanner does not answer, or an image is too large or too damaged to check,
    it raises ``PolicyDenied`` (``virus_scan_unavailable``, ``image_too_large``, ``image_damaged``) unless
    the file is blocked anyway. Call it before opening a transaction: the scan waits on the network."""
    name = name or ""
    data = data if isinstance(data, bytes) else bytes(data or b"")
    active = matcher.current()
    folded, name_hits = evaluate(name, active) if name else ("", ())
    hits: list = list(name_hits)
    sha256 = hashlib.sha256(data).hexdigest()
    details: dict = {"size": len(data), "image": None, "virus_scan": "off"}
    refusal = ""
    try:
        fingerprint = images.fingerprint(data)
    except images.NotAnImage:
        fingerprint = None
    except images.ImageUnreadable as error:
        fingerprint, refusal = None, error.code
        details["refused"] = error.detail[:300]
    if fingerprint is not None:
        details["image"] = fingerprint.as_dict()
        max_distance, max_dhash_distance = _image_thresholds()
        matches = prohibited_image_matches(
            fingerprint.frames, max_distance=max_distance, max_dhash_distance=max_dhash_distance
        )
        hits.extend(files.image_hit(match) for match in matches)
    if virus.enabled() and not refusal:
        try:
            result = virus.scan(data)
        except virus.ScanUnavailable as error:
            refusal = "virus_scan_unavailable"
            details.update(virus_scan="failed", refused=str(error)[:300])
        else:
            details["virus_scan"] = "found" if result.found else "clean"
            if result.found:
                hits.append(files.virus_hit(result.signature[:200], Action.BLOCK))
    if refusal and not (hits and _strongest(hits) == Action.BLOCK):
        with transaction.atomic():
            audit_record(
                actor=actor,
                event_type="screening.file_refused",
                data={
                    "reason_code": refusal,
                    "detail": details.get("refused", ""),
                    "sha256": sha256,
                    "size": len(data),
                    "context": context,
                    "code": str(context.get("group", ""))[:8],
                },
            )
        raise _file_refusal(refusal)
    if not hits:
        return Verdict(lexicon_version=active.version)
    return _keep_evidence(
        actor,
        hits=hits,
        text=_plain(name),
        folded=_plain(folded),
        context=context,
        stored_context={**context, "length": len(name), "file": details},
        version=active.version,
        file_sha256=sha256,
        audit_extra={
            "sha256": sha256,
            "images": sorted(hit.entry for hit in hits if getattr(hit, "kind", "") == files.IMAGE),
            "virus": details["virus_scan"] == "found",
        },
    )


# --- the list of prohibited images -----------------------------------------------------------------


def _image_state(image: ProhibitedImage) -> dict:
    return {
        "phash": images.to_hex(image.phash),
        "dhash": images.to_hex(image.dhash),
        "sha256": image.sha256,
        "category": image.category,
        "action": image.action,
        "note": image.note,
        "active": image.active,
    }


def _clean_image_fields(category: str, action: str, note: str) -> str:
    if category not in Reason.values:
        raise ValidationError(
            _("Unknown reason category “%(category)s”.") % {"category": category}, code="category_unknown"
        )
    if action not in IMAGE_ACTIONS:
        raise ValidationError(
            _("Unknown action “%(action)s”: use block or hold.") % {"action": action}, code="action_unknown"
        )
    return check_plain(note, limit=300, label=_("note"))


def _duplicate(existing: ProhibitedImage) -> ValidationError:
    return ValidationError(
        _("This image is already on the list (entry #%(id)d).") % {"id": existing.pk}, code="image_duplicate"
    )


def prohibited_image_add(
    *, actor: Actor, image_bytes: bytes, category: str, action: str, note: str = ""
) -> ProhibitedImage:
    """R10.1: put a known prohibited image on the list. Only its hashes are kept, never the picture (of an
    animation, its first frame). Bytes that are not a readable image are a ``ValidationError``."""
    policies.can_manage_prohibited_images(actor.user).require()
    note = _clean_image_fields(category, action, note)
    data = image_bytes if isinstance(image_bytes, bytes) else bytes(image_bytes or b"")
    try:
        fingerprint = images.fingerprint(data, max_frames=1)
    except images.NotAnImage:
        raise ValidationError(
            _("This file is not an image that can be read. Upload a JPEG, PNG, GIF or WebP picture."),
            code="image_invalid",
        ) from None
    except images.ImageUnreadable as error:
        message = (
            _("This image is too large to be read. Upload a smaller copy of it.")
            if error.code == "image_too_large"
            else _("This image is damaged and cannot be read. Save it again and upload the new copy.")
        )
        raise ValidationError(message, code="image_invalid") from None
    try:
        with transaction.atomic():
            existing = prohibited_image_find(phash=fingerprint.phash, dhash=fingerprint.dhash)
            if existing is not None:
                raise _duplicate(existing)
            image = ProhibitedImage.objects.create(
                phash=fingerprint.phash,
                dhash=fingerprint.dhash,
                sha256=hashlib.sha256(data).hexdigest(),
                category=category,
                action=action,
                note=note,
                added_by=actor.user if actor.user_id else None,
            )
            audit_record(
                actor=actor,
                event_type="screening.image_added",
                target=image,
                data={
                    **_image_state(image),
                    "format": fingerprint.format,
                    "width": fingerprint.width,
                    "height": fingerprint.height,
                },
            )
    except IntegrityError:  # the same picture added at the same moment by someone else
        existing = prohibited_image_find(phash=fingerprint.phash, dhash=fingerprint.dhash)
        if existing is None:
            raise
        raise _duplicate(existing) from None
    return image


def prohibited_image_change(
    *, actor: Actor, image: ProhibitedImage, category: str, action: str, note: str = "", active: bool = True
) -> ProhibitedImage:
    """R10.1: change what a list entry does (its category, action, note), or switch it off and on."""
    policies.can_manage_prohibited_images(actor.user).require()
    note = _clean_image_fields(category, action, note)
    with transaction.atomic():
        image = ProhibitedImage.objects.select_for_update().get(pk=image.pk)
        before = _image_state(image)
        image.category, image.action, image.note, image.active = category, action, note, bool(active)
        if _image_state(image) == before:
            return image
        image.save()
        audit_record(
            actor=actor,
            event_type="screening.image_changed",
            target=image,
            data={"before": before, "after": _image_state(image)},
        )
    return image


def prohibited_image_remove(*, actor: Actor, image: ProhibitedImage) -> None:
    """R10.1: take an entry off the list. Evidence of earlier matches keeps its number, category and
    distance, and the audit event keeps the entry's hashes."""
    policies.can_manage_prohibited_images(actor.user).require()
    with transaction.atomic():
        before = _image_state(image)
        pk = image.pk
        deleted, _detail = ProhibitedImage.objects.filter(pk=pk).delete()
        if not deleted:
            return
        audit_record(
            actor=actor, event_type="screening.image_removed", data={"image_id": pk, "before": before}
        )


# --- the lexicon -----------------------------------------------------------------------------------


def _new_version(actor: Actor, summary: str) -> LexiconVersion:
    version = LexiconVersion.objects.create(
        created_by=actor.user if actor.user_id else None,
        summary=summary[:300],
        terms=LexiconTerm.objects.filter(enabled=True).count(),
    )
    transaction.on_commit(lambda: matcher.announce(version.pk))
    return version


def _term_state(term: LexiconTerm) -> dict:
    return {
        "term": term.term,
        "category": term.category,
        "action": term.action,
        "enabled": term.enabled,
        "source": term.source,
        "notes": term.notes,
    }


def lexicon_term_save(
    *,
    actor: Actor,
    term: str,
    category: str,
    action: str = Action.BLOCK,
    enabled: bool = True,
    source: str = "",
    notes: str = "",
    existing: LexiconTerm | None = None,
) -> LexiconTerm:
    """Add a term, or change one; a term that folds to the same form as another is a duplicate."""
    policies.can_manage_lexicon(actor.user).require()
    term, normalised = clean_term(term, category, action)
    source = check_plain(source, limit=80, label=_("source"))
    notes = check_plain(notes, limit=300, label=_("notes"))
    try:
        with transaction.atomic():
            if existing is not None:  # edits of one term queue behind each other; "before" is the truth
                existing = LexiconTerm.objects.select_for_update().get(pk=existing.pk)
            clash = LexiconTerm.objects.filter(normalised=normalised)
            if existing is not None:
                clash = clash.exclude(pk=existing.pk)
            if clash.exists():
                raise ValidationError(
                    _("“%(term)s” is already in the lexicon (it reads the same once normalised).")
                    % {"term": term},
                    code="term_duplicate",
                )
            before = _term_state(existing) if existing is not None else None
            record = existing or LexiconTerm()
            record.term, record.normalised, record.category, record.action = (
                term,
                normalised,
                category,
                action,
            )
            record.enabled, record.source, record.notes = enabled, source, notes
            record.updated_by = actor.user if actor.user_id else None
            record.save()
            version = _new_version(actor, f"{'changed' if before else 'added'} term #{record.pk}")
            audit_record(
                actor=actor,
                event_type="screening.term_changed" if before else "screening.term_added",
                target=record,
                data={"before": before, "after": _term_state(record), "version": version.pk},
            )
    except IntegrityError:  # a concurrent save of the same form won the unique index
        raise ValidationError(
            _("“%(term)s” is already in the lexicon (it reads the same once normalised).") % {"term": term},
            code="term_duplicate",
        ) from None
    return record


def lexicon_term_delete(*, actor: Actor, term: LexiconTerm) -> None:
    policies.can_manage_lexicon(actor.user).require()
    with transaction.atomic():
        before = _term_state(term)
        pk = term.pk
        term.delete()
        version = _new_version(actor, f"removed term #{pk}")
        audit_record(
            actor=actor,
            event_type="screening.term_removed",
            data={"term_id": pk, "before": before, "version": version.pk},
        )


def allow_entry_save(
    *, actor: Actor, phrase: str, enabled: bool = True, notes: str = "", existing: AllowEntry | None = None
) -> AllowEntry:
    """An allow-list entry: a hit that lies inside this longer, harmless phrase does not count."""
    policies.can_manage_lexicon(actor.user).require()
    phrase = (phrase or "").strip()
    notes = check_plain(notes, limit=300, label=_("notes"))
    check_plain(phrase, limit=TERM_MAX_LENGTH, label=_("phrase"))
    normalised = fold(phrase)
    if not normalised or len(phrase) > TERM_MAX_LENGTH:
        raise ValidationError(
            _("An allow-list phrase needs 1 to %(limit)d characters with letters or digits.")
            % {"limit": TERM_MAX_LENGTH},
            code="phrase_invalid",
        )
    with transaction.atomic():
        clash = AllowEntry.objects.filter(normalised=normalised)
        if existing is not None:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            raise ValidationError(_("This phrase is already on the allow-list."), code="phrase_duplicate")
        before = {"phrase": existing.phrase, "enabled": existing.enabled} if existing else None
        entry = existing or AllowEntry()
        entry.phrase, entry.normalised, entry.enabled, entry.notes = phrase, normalised, enabled, notes
        entry.updated_by = actor.user if actor.user_id else None
        entry.save()
        version = _new_version(actor, f"allow-list entry #{entry.pk}")
        audit_record(
            actor=actor,
            event_type="screening.allow_entry_saved",
            target=entry,
            data={"before": before, "after": {"phrase": phrase, "enabled": enabled}, "version": version.pk},
        )
    return entry


def lexicon_import_csv(*, actor: Actor, text: str, source: str = "") -> ImportReport:
    """Import terms from CSV: every row is checked first, and if any is wrong nothing is imported and
    the report names each bad line. Terms already present (by normalised form) are updated."""
    policies.can_manage_lexicon(actor.user).require()
    rows, errors = parse_lexicon_csv(text)
    report = ImportReport(errors=errors)
    if errors or not rows:
        if not rows and not errors:
            report.errors.append((1, _("The file has no terms.")))
        return report
    try:
        with transaction.atomic():
            existing = {
                t.normalised: t
                for t in LexiconTerm.objects.filter(normalised__in=[r["normalised"] for r in rows])
            }
            new = []
            for row in rows:
                current = existing.get(row["normalised"])
                if current is None:
                    row["source"] = row["source"] or source[:80]  # a new term remembers the file it came from
                    new.append(LexiconTerm(**row, updated_by=actor.user if actor.user_id else None))
                    continue
                state = {k: row[k] for k in ("term", "category", "action", "enabled", "source", "notes")}
                if _term_state(current) == state:
                    report.unchanged += 1
                    continue
                for key, value in state.items():
                    setattr(current, key, value)
                current.updated_by = actor.user if actor.user_id else None
                current.save()
                report.updated += 1
            LexiconTerm.objects.bulk_create(new, batch_size=2_000)
            report.created = len(new)
            version = _new_version(
                actor,
                f"CSV import: {report.created} added, {report.updated} changed, {report.unchanged} unchanged",
            )
            report.version = version.pk
            audit_record(
                actor=actor,
                event_type="screening.lexicon_imported",
                data={
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "source": source,
                    "version": version.pk,
                },
            )
    except IntegrityError:  # a term of the file was saved by someone else meanwhile
        report.created = report.updated = report.unchanged = 0
        report.version = None
        report.errors.append((1, _("The lexicon changed while importing. Upload the file again.")))
    return report


def evidence_purge_expired(
    *, actor: Actor, cutoff, held_users, held_groups, batch_size=5_000, progress=None
) -> int:
    """R13.2: screening evidence past its retention period (``evidence_snapshots``) goes, in batches,
    except what a legal hold covers (its author, or the group it was written in). Registered with the
    audit app's retention job."""
    expired = ScreeningEvidence.objects.filter(created_at__lt=cutoff).exclude(author_id__in=held_users)
    if held_groups:
        expired = expired.exclude(context__group__in=held_groups)
    removed = 0
    while ids := list(expired.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            count, _detail = ScreeningEvidence.objects.filter(pk__in=ids).delete()
            audit_record(
                actor=actor,
                event_type="screening.evidence_purged",
                data={"count": count, "first_id": ids[0], "last_id": ids[-1], "cutoff": cutoff.isoformat()},
            )
        removed += count
        if progress:
            progress(removed)
    return removed


def lexicon_export(*, actor: Actor) -> str:
    """The lexicon as CSV for compliance staff; the export itself is on the audit trail."""
    policies.can_manage_lexicon(actor.user).require()
    text = lexicon_csv()
    audit_record(actor=actor, event_type="screening.lexicon_exported", data={"terms": text.count("\n") - 1})
    return text
