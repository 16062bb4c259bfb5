"""The API's JSON parser (``DEFAULT_PARSER_CLASSES``). Its own module: DRF resolves the setting while
``rest_framework.views`` is being imported, so this must not import the views (``common.api`` does)."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing in the person's language what is not JSON (bytes that are not UTF-8,
    NaN, a syntax error) and what nests too deeply to parse (Python's recursion limit: a 500 otherwise).
    The body's size is Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, see ``common.api``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except (exceptions.ParseError, RecursionError):
            raise exceptions.ParseError(
                _("The request body is not valid JSON, or it is nested too deeply.")
            ) from None
