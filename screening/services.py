"""Screening of prohibited content (R10.1) and the management of its lexicon.

``screen`` is the one door every text passes before it is published (messages, nicknames, group names,
descriptions, announcements), called by the service that publishes it. Lexicon changes go through the
services below, each one versioned and audited.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from screening import matcher, policies
from screening.engine import ImportReport, Verdict, check_plain, clean_term, evaluate, parse_lexicon_csv
from screening.models import (
    ACTION_STRENGTH,
    TERM_MAX_LENGTH,
    Action,
    AllowEntry,
    LexiconTerm,
    LexiconVersion,
    ScreeningEvidence,
)
from screening.normalize import fold
from screening.selectors import lexicon_csv

EVIDENCE_TEXT_LIMIT = 200_000  # characters kept of an enormous input (the rest is summarised by length)


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
    action = max((hit.action for hit in hits), key=ACTION_STRENGTH.__getitem__)
    with transaction.atomic():
        evidence = ScreeningEvidence.objects.create(
            action=action,
            original_text=text[:EVIDENCE_TEXT_LIMIT],
            normalised_text=folded[:EVIDENCE_TEXT_LIMIT],
            hits=[hit.as_dict() for hit in hits],
            context={**context, "length": len(text)},
            author=actor.user if actor.user_id else None,
            ip=actor.ip,
            port=actor.port,
            lexicon_version=active.version,
        )
        if action == Action.FLAG:  # published: the evidence row is what a reviewer finds (no chain lock)
            return Verdict(action, hits, evidence.pk, active.version)
        audit_record(
            actor=actor,
            event_type=f"screening.{'blocked' if action == Action.BLOCK else 'held'}",
            target=evidence,
            data={
                "categories": sorted({hit.category for hit in hits}),
                "context": context,
                "lexicon_version": active.version,
                "code": str(context.get("group", ""))[:8],  # so a legal hold on the group covers it
            },
        )
    return Verdict(action, hits, evidence.pk, active.version)


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
