"""Read-only views of the lexicon and of the list of prohibited images."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from screening.images import FrameHash, distance
from screening.models import LexiconTerm, LexiconVersion, ProhibitedImage

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


# --- the list of prohibited images ------------------------------------------------------------------


@dataclass(frozen=True)
class ImageMatch:
    entry: ProhibitedImage
    frame: int  # which frame of the screened image matched (0 for a still image)
    distance: int  # pHash bits apart, of 64
    dhash_distance: int


def _hamming_sql(first: str, second: str) -> str:
    if connection.vendor == "postgresql":  # PostgreSQL 14+: bit_count over the XOR of the two bigints
        return f"bit_count(CAST(({first} # {second}) AS bit(64)))"
    return f"screening_hamming({first}, {second})"


def _sqlite_hamming(first, second):
    return None if first is None or second is None else distance(first, second)


def prohibited_image_matches(
    frames: Iterable[FrameHash], *, max_distance: int, max_dhash_distance: int, limit: int = 10
) -> list[ImageMatch]:
    """Active list entries within ``max_distance`` pHash bits (and ``max_dhash_distance`` dHash bits) of
    any of ``frames``, nearest first, one row per entry. The distances are computed by the database in one
    pass over the list: no row is loaded unless it matches (about 20 ms for 100,000 entries on PostgreSQL,
    sequential scan; the table is narrow)."""
    frames = list(frames)
    if not frames:
        return []
    connection.ensure_connection()
    if connection.vendor == "sqlite":  # the embedded default: the same query with a Python function
        connection.connection.create_function("screening_hamming", 2, _sqlite_hamming, deterministic=True)
    table = connection.ops.quote_name(ProhibitedImage._meta.db_table)
    values = ", ".join(["(CAST(%s AS bigint), CAST(%s AS bigint), %s)"] * len(frames))
    by_phash, by_dhash = _hamming_sql("p.phash", "q.ph"), _hamming_sql("p.dhash", "q.dh")
    sql = (  # only placeholders, the table's name and fixed expressions are spliced in
        f"WITH q(ph, dh, frame) AS (VALUES {values}) "  # noqa: S608
        f"SELECT p.id, q.frame, {by_phash} AS distance, {by_dhash} AS dhash_distance "
        f"FROM {table} p CROSS JOIN q "
        f"WHERE p.active AND {by_phash} <= %s AND {by_dhash} <= %s "
        "ORDER BY distance, dhash_distance, p.id LIMIT %s"
    )
    params = [value for frame in frames for value in (frame.phash, frame.dhash, frame.index)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, max_distance, max_dhash_distance, limit * len(frames)])
        rows = cursor.fetchall()
    entries = ProhibitedImage.objects.in_bulk([row[0] for row in rows])
    matches, seen = [], set()
    for pk, frame, bits, dhash_bits in rows:
        if pk in seen or pk not in entries:
            continue
        seen.add(pk)
        matches.append(ImageMatch(entries[pk], int(frame), int(bits), int(dhash_bits)))
    return matches[:limit]


def prohibited_image_find(*, phash: int, dhash: int) -> ProhibitedImage | None:
    """The entry with exactly these hashes, active or not (the list holds each picture once)."""
    return ProhibitedImage.objects.filter(phash=phash, dhash=dhash).first()
