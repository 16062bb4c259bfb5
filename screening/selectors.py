"""Read-only views of the lexicon."""

import csv
import io

from screening.models import LexiconTerm, LexiconVersion

CSV_COLUMNS = ("term", "category", "action", "enabled", "source", "notes")


def lexicon_csv() -> str:
    """The whole lexicon as CSV, in the format the import reads back."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for term in LexiconTerm.objects.order_by("category", "normalised").iterator():
        writer.writerow(
            [term.term, term.category, term.action, "yes" if term.enabled else "no", term.source, term.notes]
        )
    return out.getvalue()


def lexicon_version_current() -> LexiconVersion | None:
    return LexiconVersion.objects.order_by("-pk").first()
