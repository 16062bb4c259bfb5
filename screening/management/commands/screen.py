"""Try texts against the lexicon: one line in, one JSON verdict out (R10.1).

    echo "来賭博吧" | python manage.py screen
    python manage.py screen --lexicon new-terms.csv < samples.txt

Nothing is stored: this is for operators trying a lexicon, not a door for publishing.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from screening import matcher
from screening.engine import evaluate, parse_lexicon_csv
from screening.models import ACTION_STRENGTH
from screening.normalize import is_latin_word


def _matcher_from_csv(path: str) -> matcher.Matcher:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}") from error
    rows, errors = parse_lexicon_csv(text)
    if errors:
        raise CommandError("\n".join(f"{path}:{line}: {message}" for line, message in errors))
    terms = [
        matcher.TermInfo(
            n, r["term"], r["normalised"], r["category"], r["action"], is_latin_word(r["normalised"])
        )
        for n, r in enumerate(rows, start=1)
        if r["enabled"]
    ]
    return matcher.for_lexicon(terms, [])


class Command(BaseCommand):
    help = "Read lines on standard input and print one JSON verdict per line."

    def add_arguments(self, parser):
        parser.add_argument("--lexicon", help="a lexicon CSV to try instead of the one in the database")

    def handle(self, *args, lexicon=None, **options):
        fixed = _matcher_from_csv(lexicon) if lexicon else None
        for line in sys.stdin:
            text = line.rstrip("\n")
            active = fixed or matcher.current()  # the database's lexicon, as every process sees it
            folded, hits = evaluate(text, active)
            action = max((h.action for h in hits), key=ACTION_STRENGTH.__getitem__, default="allow")
            verdict = {
                "text": text,
                "action": action,
                "hits": [hit.as_dict() for hit in hits],
                "normalised": folded,
                "lexicon_version": active.version,
            }
            self.stdout.write(json.dumps(verdict, ensure_ascii=False))
            self.stdout.flush()
