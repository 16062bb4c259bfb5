"""Hits of file screening (R10.1): a list entry the image matched, or what the virus scanner found.

A ``FileHit`` is a ``Hit`` (so ``Verdict`` treats it like a lexicon hit: strongest action, category,
refusal) that also says what kind of hit it is and, for an image, which list entry matched at which
distance. Its ``start``/``end`` are 0: it covers the file, not a span of the name.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.reasons import Reason
from screening.engine import Hit

IMAGE = "image"
VIRUS = "virus"
# Malicious programs: electronic information sent must not contain them (Cybersecurity Law art. 48 in its
# 2017 numbering), hence "other content prohibited by laws and regulations", not a category of its own.
VIRUS_CATEGORY = Reason.ILL_OTHER.value


@dataclass(frozen=True)
class FileHit(Hit):
    kind: str = IMAGE
    entry: int | None = None  # the ProhibitedImage matched
    frame: int | None = None
    distance: int | None = None  # pHash bits apart, of 64
    dhash_distance: int | None = None

    def as_dict(self) -> dict:
        extra = {
            "kind": self.kind,
            "entry": self.entry,
            "frame": self.frame,
            "distance": self.distance,
            "dhash_distance": self.dhash_distance,
        }
        return {**super().as_dict(), **{key: value for key, value in extra.items() if value is not None}}


def image_hit(match) -> FileHit:
    """A hit for a ``selectors.ImageMatch``: the entry's category and action, frozen as they are now."""
    entry = match.entry
    return FileHit(
        category=entry.category,
        term=f"#{entry.pk}",
        start=0,
        end=0,
        action=entry.action,
        kind=IMAGE,
        entry=entry.pk,
        frame=match.frame,
        distance=match.distance,
        dhash_distance=match.dhash_distance,
    )


def virus_hit(signature: str, action: str) -> FileHit:
    return FileHit(category=VIRUS_CATEGORY, term=signature, start=0, end=0, action=action, kind=VIRUS)
