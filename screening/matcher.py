"""The Aho-Corasick automaton over the folded lexicon, one per process (R10.1).

A process keeps its matcher until the lexicon's version changes. The newest version number lives in the
shared cache (Redis in production), and a process looks at it at most once every
``SCREENING_VERSION_CHECK_SECONDS``: no database query per message, and a change made anywhere reaches
every process within that interval, without a restart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import ahocorasick
from django.conf import settings
from django.core.cache import cache

from screening.models import AllowEntry, LexiconTerm, LexiconVersion
from screening.normalize import is_latin_word

VERSION_KEY = "screening:lexicon-version"
VERSION_TTL_SECONDS = 60


@dataclass(frozen=True)
class TermInfo:
    term_id: int
    term: str
    normalised: str
    category: str
    action: str
    latin: bool


@dataclass(frozen=True)
class Match:
    start: int  # in the folded text
    end: int
    info: TermInfo | None  # None: an allow-list entry


class Matcher:
    def __init__(self, version: int, terms, allows):
        self.version = version
        self.size = 0
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list] = {}
        for info in terms:
            entries.setdefault(info.normalised, []).append(info)
        for phrase in allows:
            entries.setdefault(phrase, []).append(None)
        for key, values in entries.items():
            if key:
                self._automaton.add_word(key, (len(key), tuple(values)))
                self.size += 1
        if self.size:
            self._automaton.make_automaton()

    def matches(self, folded: str) -> list[Match]:
        if not self.size or not folded:
            return []
        found = []
        for end, (length, values) in self._automaton.iter(folded):
            found.extend(Match(end + 1 - length, end + 1, value) for value in values)
        return found


def build(version: int) -> Matcher:
    terms = [
        TermInfo(pk, term, normalised, category, action, is_latin_word(normalised))
        for pk, term, normalised, category, action in LexiconTerm.objects.filter(enabled=True).values_list(
            "pk", "term", "normalised", "category", "action"
        )
    ]
    allows = list(AllowEntry.objects.filter(enabled=True).values_list("normalised", flat=True))
    return Matcher(version, terms, allows)


_lock = threading.Lock()
_state: dict = {"matcher": None, "checked_at": 0.0}


def newest_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = LexiconVersion.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        # Expires, so a process whose cache is its own (no Redis) or was flushed still catches up.
        # add, not set: a newer version announced meanwhile must not be overwritten by this older read
        if not cache.add(VERSION_KEY, version, VERSION_TTL_SECONDS):
            version = cache.get(VERSION_KEY, version)
    return version


def current() -> Matcher:
    matcher, now = _state["matcher"], time.monotonic()
    if matcher is not None and now - _state["checked_at"] < settings.SCREENING_VERSION_CHECK_SECONDS:
        return matcher
    version = newest_version()
    with _lock:
        _state["checked_at"] = now
        matcher = _state["matcher"]
        if matcher is None or matcher.version != version:
            matcher = _state["matcher"] = build(version)
    return matcher


def announce(version: int) -> None:
    """Called after a lexicon change commits: every process sees the new version at its next check."""
    cache.set(VERSION_KEY, version, VERSION_TTL_SECONDS)
    _state["checked_at"] = 0.0  # this process at once


def for_lexicon(terms, allows) -> Matcher:
    """A matcher over a lexicon that is not in the database (``manage.py screen --lexicon``)."""
    return Matcher(-1, terms, allows)
