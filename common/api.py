"""DRF glue: a refused policy becomes 403 with its machine-readable code."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.policies import PolicyDenied


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


@extend_schema_field(OpenApiTypes.STR)
class RawTextField(serializers.Field):
    """Any string, unaltered: the service validates it, so every door refuses with the same code."""

    default_error_messages = {"invalid": "A string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value
