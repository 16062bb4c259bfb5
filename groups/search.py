"""Searching a group's history in Chinese and other scripts without a word list.

Chinese has no spaces between words and a segmenter's guess at a query can differ from its guess at the
text, so the text is indexed as overlapping character pairs instead (the technique of pg_bigm): 微信支付
becomes 微信 信支 支付 付, each with its position, and a query of three or more characters is the phrase
of its pairs (信支 <-> 支付). Any substring of two or more characters is found (PostgreSQL keeps the first
256 positions of each lexeme, so a pair repeated more often than that in one message is found near its
first occurrences only); a single character is a prefix query. Invisible characters (zero-width, combining
marks) do not split a word. Letters with case and digits form ordinary words, found by prefix. Both
sides go through the screening fold first, so traditional and simplified, full-width and half-width, and
upper and lower case find each other.

The lexemes are written as a ``tsvector`` literal (quoted lexemes with positions), which PostgreSQL reads
without its locale-dependent parser, and indexed with GIN over ``search_text::tsvector``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

from common import ratelimit
from common.policies import PolicyDenied
from screening.normalize import fold

_SEGMENT = re.compile(r"[^\W_]+")  # letters and digits of any script, split at spaces and punctuation
MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_QUERY_TERMS = 32
MAX_WORD = 64  # characters kept of a long word (PostgreSQL refuses lexemes over 2047 bytes)


_INVISIBLE = frozenset(("Mn", "Mc", "Me", "Cf"))  # marks and format characters: nothing to split at


def _runs(text: str):
    """(kind, run) pairs: ``pairs`` for letters without case (CJK, kana, hangul, and modifiers such as ー
    and 々), ``word`` for the rest."""
    composed = unicodedata.normalize("NFC", text or "")
    visible = "".join(ch for ch in composed if unicodedata.category(ch) not in _INVISIBLE)
    for segment in _SEGMENT.findall(visible):
        folded = fold(segment)
        for is_pairs, chars in itertools.groupby(
            folded, key=lambda ch: unicodedata.category(ch) in ("Lo", "Lm")
        ):
            run = "".join(ch for ch in chars if ch not in "'\\")
            if run:
                yield ("pairs", run) if is_pairs else ("word", run[:MAX_WORD])


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def document_lexemes(text: str) -> str:
    """The ``tsvector`` literal for a message's text (empty when there is nothing to find)."""
    parts, position = [], 0
    for kind, run in _runs(text):
        for lexeme in _pairs(run) if kind == "pairs" else [run]:
            position += 1
            if position > MAX_POSITION:
                return " ".join(parts)
            parts.append(f"'{lexeme}':{position}")
        position += 1  # a gap, so that no phrase runs from one word or run into the next
    return " ".join(parts)


def query_expression(text: str) -> str:
    """The ``tsquery`` literal for what a member typed (empty when it has nothing to search for)."""
    terms = []
    for kind, run in _runs(text):
        if kind == "pairs" and len(run) > 1:
            terms.append(" <-> ".join(f"'{pair}'" for pair in _pairs(run)[:-1]))
        else:
            terms.append(f"'{run}':*")
        if len(terms) == MAX_QUERY_TERMS:
            break
    return " & ".join(f"({term})" for term in terms)


def require_search_budget(user) -> None:
    """Searching reads much of a group's history: ``CHAT_SEARCHES_PER_MINUTE`` per member, every door."""
    wait = ratelimit.consume(f"chat:search:{user.pk}", limit=settings.CHAT_SEARCHES_PER_MINUTE, window=60)
    if wait:
        raise PolicyDenied(
            "rate_limited",
            _("Too many searches at once. Wait %(wait)d seconds.") % {"wait": wait},
            retry_after=wait,
        )
