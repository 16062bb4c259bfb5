"""DRF glue: a refused policy becomes 403 with its machine-readable code; every refusal of the API, its own
or Django's, is JSON with a ``code`` and a translated ``detail``."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.policies import PolicyDenied


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def exception_handler(exc, context):
    if isinstance(exc, PolicyDenied):
        body = {**exc.extra, "code": exc.code, "detail": exc.message}
        if exc.action_url:
            body["action_url"] = exc.action_url
        if exc.retry_after is not None:  # a rate: 429 with the wait, as HTTP clients expect
            body["retry_after"] = exc.retry_after
            return Response(
                body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(exc.retry_after)}
            )
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    # DRF turns Django's 404 and 403 into its own only inside its handler: done here first, so they carry
    # their code like every other refusal.
    if isinstance(exc, RequestDataTooBig):  # Django's SuspiciousOperation: its HTML 400 page otherwise
        exc = BodyTooLarge(
            _("The request body is too large: at most %(kb)d KB.")
            % {"kb": (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) // 1024}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = response.data
        codes = exc.get_codes()
        if isinstance(detail, dict) and "detail" in detail:
            response.data = {
                "code": codes if isinstance(codes, str) else "invalid",
                "detail": detail["detail"],
            }
        elif isinstance(exc, exceptions.ValidationError):
            response.data = {"code": "invalid", "detail": detail}
    return response


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {"type": "object", "additionalProperties": True, "description": "Messages by field."},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
class ErrorDetailField(serializers.Field):
    """A refusal's translated text; for invalid input, the messages by field."""

    def to_representation(self, value):
        return value


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal of the API (4xx): the same shape through every view and middleware."""

    code = serializers.CharField(help_text="Stable, machine-readable reason (the same through every door).")
    detail = ErrorDetailField(help_text="Why, in the person's language; for invalid input, by field.")
    action_url = serializers.CharField(required=False, help_text="Where the person can fix it, if they can.")
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait (429 only).")
    category = serializers.CharField(
        required=False, help_text="Screening's reason category (content_blocked)."
    )


def error_responses(*statuses: int) -> dict:
    """``extend_schema(responses=...)`` entries for the refusals an operation documents itself."""
    return dict.fromkeys(statuses, ErrorSerializer)


# Refusals any API request may meet whatever its view: malformed input or text that is not text (400), not
# signed in, a missing CSRF token or a refused rule (403), an address no route takes (404), a body too
# large (413, the ASGI guard) or of a type the view does not parse (415).
ALWAYS_POSSIBLE = (400, 403, 404, 413, 415)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the refusals every operation may answer documented on each."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in map(str, ALWAYS_POSSIBLE):
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(
                    ErrorSerializer, status_code, direction=direction
                )
        return responses


class StrictBooleanField(serializers.BooleanField):
    """A boolean that a form body leaves out is absent, not false: DRF reads a missing form field as an
    unticked checkbox, so a form without ``approve`` declined a request and refused a sanction, and one
    without ``announcement_only`` switched it off."""

    default_empty_html = empty


@extend_schema_field(OpenApiTypes.STR)
class RawTextField(serializers.Field):
    """Any string, unaltered: the service validates it, so every door refuses with the same code."""

    default_error_messages = {"invalid": gettext_lazy("A string is required.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


def query_data(request) -> dict:
    """The query string for a serializer, as a plain dict (the last value of each name): given a QueryDict,
    DRF reads ``?before=`` as if ``before`` were absent, so an empty number or choice passed unnoticed;
    as a dict it is refused like any other invalid value."""
    return request.query_params.dict()


API_PREFIX = "/api/"


def page_not_found(request, exception=None):
    """``handler404``: an address under the API that matches no route (an unknown path, a malformed group
    code or a negative number) is refused like the API's own 404s, in JSON; pages keep the HTML page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
