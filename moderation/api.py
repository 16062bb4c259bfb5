"""REST API for complaints (R12.1); the same selector, policy and service as the report page."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.actors import Actor, Door
from common.api import RawTextField, error_responses
from common.reasons import Reason
from moderation import selectors, services
from moderation.models import CaseStatus, TargetKind

ERRORS = error_responses(400, 403, 404, 429)


class ComplaintCreateApi(APIView):
    """R12.1: report a message (``message_seq``), a member (``member_id``) or the group itself. Someone who
    may not report the target (not a member, no such message) gets 404, so nothing can be probed."""

    @extend_schema_serializer(component_name="ComplaintInput")
    class InputSerializer(serializers.Serializer):
        group = serializers.CharField(max_length=16, help_text="The group's identification code.")
        message_seq = serializers.IntegerField(
            required=False, min_value=1, max_value=2**62, help_text="The message's sequence number."
        )
        member_id = serializers.IntegerField(
            required=False, min_value=1, max_value=2**62, help_text="The reported member's user id."
        )
        category = RawTextField(help_text="A reason code: " + ", ".join(Reason.values))
        description = RawTextField(required=False, default="", help_text="At most 1,000 characters.")

        def validate(self, attrs):
            if "message_seq" in attrs and "member_id" in attrs:
                raise serializers.ValidationError("Report a message or a member, not both.")
            return attrs

    @extend_schema_serializer(component_name="ComplaintOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        case = serializers.IntegerField(source="case_id")
        target = serializers.ChoiceField(choices=TargetKind.values, source="case.kind")
        category = serializers.ChoiceField(choices=Reason.values)
        case_status = serializers.ChoiceField(choices=CaseStatus.values, source="case.status")
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="complaints_create",
        tags=["complaints"],
        summary="Report a message, a member or a group (R12.1)",
        request=InputSerializer,
        responses={201: OutputSerializer, **ERRORS},
    )
    def post(self, request):
        actor = Actor.from_request(request, door=Door.API)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = selectors.report_target_for_actor(
            actor, data["group"], message_seq=data.get("message_seq"), member_id=data.get("member_id")
        )
        try:
            complaint = services.complaint_file(
                actor=actor, target=target, category=data["category"], description=data["description"]
            )
        except DjangoValidationError as exc:
            return Response(
                {"code": getattr(exc, "code", None) or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(self.OutputSerializer(complaint).data, status=status.HTTP_201_CREATED)
