"""The pure part of screening: verdicts, hits mapped to the original text, lexicon rows checked.

No database and no side effects, so ``manage.py screen --lexicon`` and the benchmark use it as it is.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from common.policies import PolicyDenied
from common.reasons import Reason
from screening import matcher
from screening.models import ACTION_STRENGTH, TERM_MAX_LENGTH, Action
from screening.normalize import fold, fold_with_offsets, latin_boundary
from screening.selectors import CSV_COLUMNS

ALLOW = "allow"


@dataclass(frozen=True)
class Hit:
    category: str
    term: str
    start: int  # span in the original text
    end: int
    action: str

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "term": self.term,
            "start": self.start,
            "end": self.end,
            "action": self.action,
        }


@dataclass(frozen=True)
class Verdict:
    action: str = ALLOW
    hits: tuple[Hit, ...] = ()
    evidence_id: int | None = None
    lexicon_version: int | None = None

    @property
    def publishable(self) -> bool:
        """Block refuses; hold stores it for the author's eyes only; flag and allow publish."""
        return self.action != Action.BLOCK

    @property
    def held(self) -> bool:
        return self.action == Action.HOLD

    @property
    def category(self) -> str:
        strongest = max(self.hits, key=lambda h: ACTION_STRENGTH[h.action], default=None)
        return strongest.category if strongest else ""

    def refusal(self) -> PolicyDenied:
        """What the author is told: refused, and under which category, never which term."""
        label = Reason(self.category).label if self.category in Reason.values else self.category
        return PolicyDenied(
            "content_blocked",
            _("This can't be published: it appears to contain prohibited content (%(category)s).")
            % {"category": label},
            extra={"category": self.category},
        )

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "category": self.category,
            "hits": [hit.as_dict() for hit in self.hits],
            "evidence_id": self.evidence_id,
            "lexicon_version": self.lexicon_version,
        }


def evaluate(text: str, active: matcher.Matcher) -> tuple[str, tuple[Hit, ...]]:
    """The hits of ``active`` in ``text``, mapped to the original: pure, no database."""
    folded = fold(text)
    found = active.matches(folded)
    if not found:
        return folded, ()
    _again, origin = fold_with_offsets(text)
    allowed_spans = [(m.start, m.end) for m in found if m.info is None]
    hits, seen = [], set()
    for match in found:
        info = match.info
        if info is None:
            continue
        if any(low <= match.start and match.end <= high for low, high in allowed_spans):
            continue  # inside a harmless longer word on the allow-list
        start, end = origin[match.start], origin[match.end - 1] + 1
        if info.latin and not latin_boundary(text, start, end):
            continue
        if (info.term_id, start) in seen:
            continue
        seen.add((info.term_id, start))
        hits.append(Hit(info.category, info.term, start, end, info.action))
    hits.sort(key=lambda h: (h.start, h.end))
    return folded, tuple(hits)


def check_plain(value: str, *, limit: int, label: str) -> str:
    """Source and notes: plain text of a bounded length (PostgreSQL refuses NUL; nothing is cut)."""
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError(
            _("%(field)s is longer than %(limit)d characters.") % {"field": label, "limit": limit},
            code="too_long",
        )
    if _has_control(value):
        raise ValidationError(
            _("%(field)s contains control characters.") % {"field": label}, code="control_characters"
        )
    return value


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


def clean_term(term: str, category: str, action: str) -> tuple[str, str]:
    term = (term or "").strip()
    if not term:
        raise ValidationError(_("The term is empty."), code="term_empty")
    if _has_control(term):
        raise ValidationError(_("The term contains control characters."), code="control_characters")
    if len(term) > TERM_MAX_LENGTH:
        raise ValidationError(
            _("The term is longer than %(limit)d characters.") % {"limit": TERM_MAX_LENGTH},
            code="term_too_long",
        )
    normalised = fold(term)
    if not normalised:
        raise ValidationError(_("The term has no letters or digits to match."), code="term_empty")
    if category not in Reason.values:
        raise ValidationError(
            _("Unknown reason category “%(category)s”.") % {"category": category}, code="category_unknown"
        )
    if action not in Action.values:
        raise ValidationError(
            _("Unknown action “%(action)s”: use block, hold or flag.") % {"action": action},
            code="action_unknown",
        )
    return term, normalised


_TRUE = {"1", "true", "yes", "y", "是", "启用", ""}
_FALSE = {"0", "false", "no", "n", "否", "停用"}


def parse_lexicon_csv(text: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """Rows of a lexicon CSV (header ``term,category,action,enabled,source,notes``; only the first two are
    required), and the problems found, each with its line number. Pure: no database."""
    rows, errors, seen = [], [], {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if "term" not in header or "category" not in header:
        return [], [
            (1, _("The first line must name the columns: term,category[,action,enabled,source,notes]."))
        ]
    reader.fieldnames = header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # an unterminated quote, a field past the csv module's limit
            errors.append((reader.line_num, _("Not readable as CSV: %(error)s") % {"error": error}))
            break
        line = reader.line_num
        values = {key: (row.get(key) or "").strip() for key in CSV_COLUMNS}
        if None in row:
            errors.append((line, _("More values than columns.")))
            continue
        action = values["action"].lower() or Action.BLOCK
        enabled_text = values["enabled"].lower()
        if enabled_text not in _TRUE | _FALSE:
            errors.append((line, _("“enabled” must be yes or no.")))
            continue
        try:
            term, normalised = clean_term(values["term"], values["category"].upper(), action)
            check_plain(values["source"], limit=80, label=_("source"))
            check_plain(values["notes"], limit=300, label=_("notes"))
        except ValidationError as error:
            errors.append((line, error.messages[0]))
            continue
        if normalised in seen:
            errors.append(
                (
                    line,
                    _("Duplicate of line %(line)d (the same once normalised).") % {"line": seen[normalised]},
                )
            )
            continue
        seen[normalised] = line
        rows.append(
            {
                "term": term,
                "normalised": normalised,
                "category": values["category"].upper(),
                "action": action,
                "enabled": enabled_text not in _FALSE,
                "source": values["source"],
                "notes": values["notes"],
            }
        )
    return rows, errors


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    version: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors
