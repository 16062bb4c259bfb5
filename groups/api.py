"""REST API for groups and messages; the same services and policies as the pages and the socket."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.actors import Actor, Door
from groups import selectors, services


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


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nickname = serializers.CharField()
    role = serializers.ChoiceField(choices=["owner", "admin", "member"])


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.CharField(help_text="The group's identification code.")
    seq = serializers.IntegerField(help_text="Gapless sequence number within the group.")
    client_msg_id = serializers.CharField()
    sender = SenderSerializer()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class GroupListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        member_count = serializers.IntegerField()
        last_seq = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(operation_id="groups_list", responses=OutputSerializer(many=True), summary="My groups")
    def get(self, request):
        groups = selectors.group_list_for_user(request.user)
        return Response(self.OutputSerializer(groups, many=True).data)


class MessageApi(APIView):
    class ListInputSerializer(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0)
        before = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_HISTORY_PAGE_MAX, default=50
        )

    class SendInputSerializer(serializers.Serializer):
        body = RawTextField(help_text="The text; at most CHAT_MESSAGE_MAX_LENGTH characters after trimming.")
        client_msg_id = RawTextField(
            help_text="Unique per sender; a retry with the same id returns the original."
        )

    @extend_schema(
        operation_id="messages_list",
        summary="Messages of a group, after a sequence number or the latest page",
        parameters=[
            OpenApiParameter("after", int, description="Resume: messages with a greater sequence number."),
            OpenApiParameter(
                "before", int, description="Page back: messages with a smaller sequence number."
            ),
            OpenApiParameter("limit", int, description="At most this many (default 50)."),
        ],
        responses=MessageOutputSerializer(many=True),
    )
    def get(self, request, code):
        group = selectors.group_get_for_actor(Actor.from_request(request, door=Door.API), code)
        params = self.ListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = selectors.message_list(group, **params.validated_data)
        return Response([selectors.message_payload(m) for m in messages])

    @extend_schema(
        operation_id="messages_send",
        summary="Send a message (idempotent per client_msg_id)",
        request=SendInputSerializer,
        responses={201: MessageOutputSerializer, 200: MessageOutputSerializer},
    )
    def post(self, request, code):
        actor = Actor.from_request(request, door=Door.API)
        group = selectors.group_get_for_actor(actor, code)
        data = self.SendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message, created = services.message_send(actor=actor, group=group, **data.validated_data)
        except DjangoValidationError as exc:  # the same code as the socket's error frame
            return Response(
                {"code": exc.code or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            selectors.message_payload(message),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
