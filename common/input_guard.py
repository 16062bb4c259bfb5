"""Refuse a request whose text cannot be meant as text, before any view reads it (issue 13).

A query string or form-encoded body that is not UTF-8 once percent-decoded, or that carries a
control character other than tab, line feed and carriage return (NUL above all: PostgreSQL refuses it in
text, so it would otherwise reach a view's query and fail there), is answered with a 400 that says why,
in the visitor's language: a page for the pages, ``{"code": "bad_input", "detail": ...}`` for ``/api/``.

Nothing a person types is refused here: the fields' own rules (lengths, direction overrides, zero-width
characters in names, screening) stay with the forms and services, which answer on the field. Multipart
bodies (file uploads) are left to their views: their text fields go through the same services.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_to_bytes

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

FORM_ENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# C0 controls but tab, line feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text_problem(raw: bytes | str, *, form: bool) -> str:
    """Why ``raw`` (percent-encoded; ``+`` is a space in a form) is refused, or ``""``."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if form:
        raw = raw.replace(b"+", b" ")
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return _("The request contains bytes that are not UTF-8 text.")
    if _CONTROL.search(text):
        return _("The request contains control characters (such as NUL), which cannot be accepted.")
    return ""


def request_problem(request) -> str:
    """The path is left to the URL converters, which answer 404 to anything that is not a code or a token
    (``groups.converters``) before any query is made."""
    problem = _text_problem(request.META.get("QUERY_STRING", ""), form=True)
    if not problem and request.method == "POST" and request.content_type == FORM_ENCODED:
        problem = _text_problem(request.body, form=True)
    return problem or _decoded_problem(request)


def _decoded_problem(request) -> str:
    """Control characters in what Django decoded: the query under another declared charset (UTF-7 can
    spell a NUL in plain ASCII), and the text fields of a multipart body (its files are the views')."""
    values = [value for _key, values in request.GET.lists() for value in values]
    if request.method == "POST" and request.content_type == MULTIPART:
        values += [value for _key, values in request.POST.lists() for value in values]
    if any(_CONTROL.search(value) for value in values):
        return _("The request contains control characters (such as NUL), which cannot be accepted.")
    return ""


class InputGuardMiddleware:
    """400 for a query string or form body that is not text (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = request_problem(request)
        if problem:
            return refusal(request, problem)
        return self.get_response(request)


def refusal(request, detail: str):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "bad_input", "detail": detail}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    return render(request, "400.html", {"reason": detail}, status=400)


# Overrides and isolates make text display in another order than it is stored (and screened): refused in
# every text a form takes, as the group services refuse them (``groups.services._clean_text``).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class RefuseDirectionControls:
    """Form mixin (before ``forms.Form``): a text field holding a direction override or isolate gets the
    error on the field, whatever the form is for, so no door stores what another refuses."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and not BIDI_CONTROLS.isdisjoint(value):
                label = self.fields[name].label or name
                self.add_error(
                    name, _("%(field)s contains characters that cannot be shown.") % {"field": label}
                )
        return cleaned


# A name (a nickname, a group's name) is one line of visible characters: no control characters, no format
# characters (zero-width spaces and joiners, direction overrides and isolates, the byte order mark), which
# would let a name look like another one (impersonation) or display in another order than it is screened,
# no lone surrogates or private-use code points. Two exceptions: a zero-width joiner between two emoji
# (👨‍👩‍👧, ❤️‍🔥: one picture, not a disguise), and code points this Python's Unicode tables do not know yet
# (newer CJK ideographs and emoji, which a phone's keyboard offers). Free text (messages, descriptions) may
# carry zero-width characters; screening folds them away (``screening.normalize``).
NAME_REFUSED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co"))
ZERO_WIDTH_JOINER = "\u200d"
EMOJI_PRESENTATION = "\ufe0f"


def _joins_emoji(text: str, index: int) -> bool:
    """The joiner at ``index`` stands between two emoji (a variation selector or a skin tone may end one)."""
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    before_is_emoji = before == EMOJI_PRESENTATION or unicodedata.category(before or " ") in ("So", "Sk")
    return before_is_emoji and unicodedata.category(after or " ") == "So"


def name_has_hidden_characters(text: str) -> bool:
    """True if ``text`` may not be a name (see ``NAME_REFUSED_CATEGORIES``)."""
    return any(
        unicodedata.category(ch) in NAME_REFUSED_CATEGORIES
        and not (ch == ZERO_WIDTH_JOINER and _joins_emoji(text, index))
        for index, ch in enumerate(text)
    )
