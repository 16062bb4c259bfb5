"""Normalisation before matching (R10.1): what a term looks like however it is disguised.

Each character of the input folds, on its own, to zero or more characters:

- compatibility forms to their plain form (NFKC: full-width ``ｓｅｘ``, circled ``①``, math ``𝐬``);
- accents and inserted combining marks dropped (``séx``, ``s̈ex``);
- case folded;
- Latin look-alikes from other scripts to Latin (Unicode confusables: Cyrillic ``ѕех``, Greek ``Α``);
- traditional characters to simplified (OpenCC t2s, character by character);
- format characters (zero-width, soft hyphen, bidi controls, tags, variation selectors), separators,
  punctuation and symbols removed, so that ``赌.博`` and ``赌 博`` read ``赌博``.

Because each character folds alone, the whole fold is one ``str.translate`` over a table built once per
process (the fast path every message takes), and a hit's offsets map back to the original characters by
replaying the same table (only when there is a hit). Terms are folded by the same function, so a term and
its disguises meet. Libraries: ``unicodedata`` (NFKC, categories), ``confusable_homoglyphs`` (the Unicode
confusables data), ``opencc`` (traditional to simplified).
"""

from __future__ import annotations

import json
import string
import unicodedata
from functools import cache
from pathlib import Path

# Where the look-alikes of Latin letters live; CJK is left alone (``〇`` is not ``O``).
_CONFUSABLE_RANGES = (
    (0x0080, 0x058F),  # Latin-1, Latin Extended-A/B, IPA, Greek, Cyrillic, Armenian
    (0x13A0, 0x13FF),  # Cherokee
    (0x1D00, 0x1DBF),  # phonetic extensions
    (0x1E00, 0x1FFF),  # Latin Extended Additional, Greek Extended
    (0x2100, 0x218F),  # letterlike symbols, number forms
    (0x2C60, 0x2C7F),
    (0xA640, 0xA69F),
    (0xA720, 0xA7FF),
)
# Besides the Basic Multilingual Plane, the blocks used to disguise text or holding traditional forms.
_EXTRA_RANGES = (
    (0x1D400, 0x1D7FF),  # mathematical alphanumerics
    (0x1F100, 0x1F1FF),  # enclosed alphanumerics
    (0x20000, 0x2A6DF),  # CJK Extension B
    (0x2F800, 0x2FA1F),  # CJK compatibility ideographs
    (0xE0000, 0xE01EF),  # tags, variation selectors
)
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))
LATIN_WORD = frozenset(string.ascii_lowercase + string.digits)


def _in(ranges, cp: int) -> bool:
    return any(low <= cp <= high for low, high in ranges)


@cache
def _confusables() -> dict[str, str]:
    """Each non-ASCII look-alike of a Latin letter, to that letter in lower case."""
    import confusable_homoglyphs

    data = json.loads(
        (Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text(encoding="utf-8")
    )
    mapping = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii() or not _in(_CONFUSABLE_RANGES, ord(char)):
            continue
        latin = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"] in string.ascii_letters]
        if latin:
            mapping[char] = latin[0].lower()
    return mapping


@cache
def _traditional_to_simplified() -> dict[str, str]:
    """OpenCC t2s, one character at a time (a phrase-level conversion could change lengths and lose the
    map back to the original)."""
    import opencc

    chars = [chr(cp) for low, high in _CJK_RANGES for cp in range(low, high + 1)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; refuse quietly rather than misalign
        return {}
    return {t: s for t, s in zip(chars, converted, strict=True) if t != s and len(s) == 1}


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that render as nothing,
# some of them letters by category (the Hangul fillers), so the category test alone misses them.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip


def _drop(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "ZPSC" or category in ("Mn", "Me") or _in(_IGNORABLE, ord(char))


def fold_char(char: str) -> str:
    """The fold of one character (zero or more characters), defined without the table."""
    confusables, t2s = _confusables(), _traditional_to_simplified()
    out = []
    for composed in unicodedata.normalize("NFKC", char):
        for part in unicodedata.normalize("NFD", composed) if ord(composed) < 0x2000 else composed:
            if _drop(part):
                continue
            for folded in part.casefold():
                folded = confusables.get(folded, folded)
                folded = t2s.get(folded, folded)
                if not _drop(folded):
                    out.append(folded.casefold())
    return "".join(out)


class _FoldTable(dict):
    """Precomputed for the common blocks; any other code point (emoji, other planes) is folded the first
    time it is seen and remembered, so nothing outside the table passes unfolded."""

    def __missing__(self, cp: int) -> str:
        folded = "" if 0xD800 <= cp <= 0xDFFF else fold_char(chr(cp))
        self[cp] = folded
        return folded


@cache
def fold_table() -> dict[int, str]:
    """``str.translate`` table: every code point to its fold."""
    table = _FoldTable()
    ranges = ((0, 0xFFFF), *_EXTRA_RANGES)
    t2s = _traditional_to_simplified()
    for low, high in ranges:
        for cp in range(low, high + 1):
            char = chr(cp)
            if 0xD800 <= cp <= 0xDFFF:
                table[cp] = ""  # a lone surrogate carries nothing
                continue
            if char in LATIN_WORD or (
                _in(_CJK_RANGES, cp) and char not in t2s and unicodedata.category(char) == "Lo"
            ):
                table[cp] = char  # the common case: already folded
                continue
            table[cp] = fold_char(char)
    return table


def fold(text: str) -> str:
    """The normalised text, for matching."""
    return text.translate(fold_table())


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original it came from."""
    table = fold_table()
    out, origin = [], []
    for index, char in enumerate(text):
        folded = table[ord(char)]
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def is_latin_word(term: str) -> bool:
    return bool(term) and all(c in LATIN_WORD for c in term)


def latin_boundary(text: str, start: int, end: int) -> bool:
    """A Latin term counts only as a word of its own in the original (``sex`` not in ``Essex`` or in
    ``is exciting``); CJK terms match anywhere, as Chinese has no spaces between words."""
    table = fold_table()

    def wordish(index: int) -> bool:
        if index < 0 or index >= len(text):
            return False
        folded = table[ord(text[index])]
        # Only letters join a word: digits stuck to a term (``casino888``, ``vx123456``) do not hide it.
        return bool(folded) and folded[-1] in string.ascii_lowercase

    return not wordish(start - 1) and not wordish(end)
