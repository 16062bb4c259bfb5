"""REST API for groups and messages; the same services and policies as the pages and the socket."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.actors import Actor, Door
from common.api import ErrorSerializer, RawTextField, StrictBooleanField, error_responses, query_data
from groups import policies, search, selectors, services
from groups.models import (
    ChatGroup,
    GroupStatus,
    Invitation,
    JoinMode,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
)


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nickname = serializers.CharField()
    role = serializers.ChoiceField(choices=["owner", "admin", "member"])


class AttachmentOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["image", "file"])
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes, as stored (a picture after re-encoding).")
    content_type = serializers.CharField(help_text="From the content, not the name.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(
        help_text="The file view: checks the reader, then redirects to a short-lived link."
    )
    thumbnail_url = serializers.CharField(allow_null=True)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.CharField(help_text="The group's identification code.")
    seq = serializers.IntegerField(help_text="Gapless sequence number within the group.")
    client_msg_id = serializers.CharField()
    sender = SenderSerializer()
    body = serializers.CharField(help_text="Empty once removed or recalled.")
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=["visible", "held", "removed", "recalled"])
    mentions = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of members @named.")
    attachment = AttachmentOutputSerializer(allow_null=True, help_text="A picture or file, if one was sent.")


ERRORS = error_responses(400, 403, 404, 429)


class GroupListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        member_count = serializers.IntegerField()
        last_seq = serializers.IntegerField()
        unread = serializers.IntegerField(help_text="Messages after the member's read position.")
        last_body = serializers.CharField(allow_null=True)
        last_at = serializers.DateTimeField(allow_null=True)
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
        params = self.ListInputSerializer(data=query_data(request))
        params.is_valid(raise_exception=True)
        messages = selectors.message_list(group, **params.validated_data)
        return Response([selectors.message_payload(m) for m in messages])

    @extend_schema(
        operation_id="messages_send",
        summary="Send a message (idempotent per client_msg_id)",
        request=SendInputSerializer,
        responses={201: MessageOutputSerializer, 200: MessageOutputSerializer, **ERRORS},
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


class MessageFileApi(APIView):
    """Pictures and files are uploaded over HTTP (multipart), never over the socket; the message that
    carries one reaches the group like any other."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="The picture or file (its real type is read from the content)."
        )
        caption = RawTextField(required=False, default="", help_text="Optional text shown with it.")
        client_msg_id = RawTextField(
            help_text="Unique per sender; a retry with the same id returns the original."
        )

    @extend_schema(
        operation_id="messages_send_file",
        tags=["chat"],
        summary="Send a picture or file (idempotent per client_msg_id)",
        request={"multipart/form-data": InputSerializer},
        responses={
            201: MessageOutputSerializer,
            200: MessageOutputSerializer,
            413: ErrorSerializer,
            **ERRORS,
        },
    )
    def post(self, request, code):
        actor = Actor.from_request(request, door=Door.API)
        group = selectors.group_get_for_actor(actor, code)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        # The policy sees the size before anything is read into memory; the ASGI guard already refused
        # bodies above ATTACHMENT_MAX_BYTES before Django read them.
        policies.require_send_file(request.user, group, upload.size)
        try:
            message, created = services.message_send_file(
                actor=actor,
                group=group,
                data=upload.read(),
                name=upload.name or "",
                caption=data.validated_data["caption"],
                client_msg_id=data.validated_data["client_msg_id"],
            )
        except DjangoValidationError as exc:  # the same code as through every door
            return Response(
                {"code": exc.code or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            selectors.message_payload(message),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- management (R8.5, R9.2): the owner's and admins' powers, through the same services as the pages ---


class MemberOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    nickname = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField()
    muted = serializers.BooleanField()
    muted_until = serializers.DateTimeField(allow_null=True)
    mute_reason = serializers.CharField()


def _member_data(membership: Membership) -> dict:
    muted = bool(membership.muted_until and membership.muted_until > timezone.now())
    return {
        "user_id": membership.user_id,
        "nickname": membership.user.display_name,
        "role": membership.role,
        "joined_at": membership.joined_at,
        "muted": muted,
        "muted_until": membership.muted_until if muted else None,
        "mute_reason": membership.mute_reason if muted else "",
    }


class ManagementPagination(PageNumberPagination):
    page_size = 50


class ManagementApi(GenericAPIView):
    """A management endpoint: an outsider gets 404 (the group's existence is not theirs to learn), a
    member who may not manage gets 403 with the rule's code, and a refused input 400 with the service's
    code (the same as the page's and the socket's)."""

    pagination_class = ManagementPagination

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            return Response(
                {"code": getattr(exc, "code", None) or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().handle_exception(exc)

    def actor(self) -> Actor:
        return Actor.from_request(self.request, door=Door.API)

    def managed_group(self, actor: Actor, code: str) -> ChatGroup:
        group = selectors.group_get_for_actor(actor, code)
        policies.require_manage(actor.user, group)
        return group

    @staticmethod
    def member(group: ChatGroup, user_id: int):
        """An active member of ``group``; 404 for anyone else."""
        membership = (
            Membership.objects.filter(group=group, user_id=user_id, left_at__isnull=True)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Http404
        return membership.user

    @staticmethod
    def membership_data(group: ChatGroup, user) -> dict:
        membership = Membership.objects.select_related("user").get(group=group, user=user)
        return _member_data(membership)

    @staticmethod
    def validated(serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class MemberListApi(ManagementApi):
    @extend_schema(
        operation_id="members_list",
        tags=["management"],
        summary="Members of a group with their role and mute state (owner and admins)",
        responses={200: MemberOutputSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, code):
        group = self.managed_group(self.actor(), code)
        page = self.paginate_queryset(selectors.membership_list(group))
        return self.get_paginated_response([_member_data(m) for m in page])


class MemberMuteApi(ManagementApi):
    @extend_schema_serializer(component_name="MemberMuteInput")
    class InputSerializer(serializers.Serializer):
        minutes = serializers.IntegerField(
            max_value=10**7, help_text="From 1 minute to 30 days (43200); the service refuses the rest."
        )
        reason = RawTextField(required=False, default="")

    @extend_schema(
        operation_id="members_mute",
        tags=["management"],
        summary="Mute a member for a period (R9.2)",
        request=InputSerializer,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request, code, user_id):
        actor = self.actor()
        group = self.managed_group(actor, code)
        member = self.member(group, user_id)
        data = self.validated(self.InputSerializer, request.data)
        services.membership_mute(actor=actor, group=group, member=member, **data)
        return Response(self.membership_data(group, member))


class MemberUnmuteApi(ManagementApi):
    @extend_schema(
        operation_id="members_unmute",
        tags=["management"],
        summary="End a member's mute (R9.2)",
        request=None,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request, code, user_id):
        actor = self.actor()
        group = self.managed_group(actor, code)
        member = self.member(group, user_id)
        services.membership_unmute(actor=actor, group=group, member=member)
        return Response(self.membership_data(group, member))


class MemberRemoveApi(ManagementApi):
    @extend_schema_serializer(component_name="MemberRemoveInput")
    class InputSerializer(serializers.Serializer):
        reason = RawTextField(required=False, default="")
        bar = StrictBooleanField(required=False, default=False, help_text="Bar them from rejoining.")
        bar_days = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            max_value=36500,
            help_text="How long the bar lasts; empty for good.",
        )

    @extend_schema_serializer(component_name="MemberRemoveOutput")
    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        removed = serializers.BooleanField()
        barred = serializers.BooleanField()

    @extend_schema(
        operation_id="members_remove",
        tags=["management"],
        summary="Remove a member, optionally barring them from rejoining (R9.2)",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def post(self, request, code, user_id):
        actor = self.actor()
        group = self.managed_group(actor, code)
        member = self.member(group, user_id)
        data = self.validated(self.InputSerializer, request.data)
        services.membership_remove(actor=actor, group=group, member=member, **data)
        return Response({"user_id": member.pk, "removed": True, "barred": data["bar"]})


class MemberAdminApi(ManagementApi):
    @extend_schema(
        operation_id="members_admin_appoint",
        tags=["management"],
        summary="Appoint a member as admin (the owner; R8.6, R9.2)",
        request=None,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request, code, user_id):
        actor = self.actor()
        group = self.managed_group(actor, code)
        member = self.member(group, user_id)
        services.membership_appoint_admin(actor=actor, group=group, member=member)
        return Response(self.membership_data(group, member))

    @extend_schema(
        operation_id="members_admin_dismiss",
        tags=["management"],
        summary="Dismiss an admin (the owner; R8.6, R9.2)",
        request=None,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def delete(self, request, code, user_id):
        actor = self.actor()
        group = self.managed_group(actor, code)
        member = self.member(group, user_id)
        services.membership_dismiss_admin(actor=actor, group=group, member=member)
        return Response(self.membership_data(group, member))


class JoinRequestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    nickname = serializers.CharField(source="user.display_name")
    message = serializers.CharField()
    status = serializers.ChoiceField(choices=JoinRequestStatus.choices)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class JoinRequestApi(ManagementApi):
    @extend_schema_serializer(component_name="JoinRequestCreateInput")
    class CreateInputSerializer(serializers.Serializer):
        message = RawTextField(required=False, default="", help_text="To the owner and admins.")
        accept_rules = StrictBooleanField(
            required=False, default=False, help_text="Required when the group has rules."
        )

    @extend_schema(
        operation_id="join_requests_list",
        tags=["management"],
        summary="Pending join requests (owner and admins; R8.5)",
        responses={200: JoinRequestOutputSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, code):
        group = self.managed_group(self.actor(), code)
        pending = (
            JoinRequest.objects.filter(group=group, status=JoinRequestStatus.PENDING)
            .select_related("user")
            .order_by("created_at", "pk")
        )
        page = self.paginate_queryset(pending)
        return self.get_paginated_response(JoinRequestOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="join_requests_create",
        tags=["management"],
        summary="Ask to join a group as the current user (R8.5, R9.1)",
        request=CreateInputSerializer,
        responses={201: JoinRequestOutputSerializer, **ERRORS},
    )
    def post(self, request, code):
        actor = self.actor()
        group = self._requestable_group(actor, code)
        data = self.validated(self.CreateInputSerializer, request.data)
        join_request = services.join_request_create(actor=actor, group=group, **data)
        return Response(JoinRequestOutputSerializer(join_request).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _requestable_group(actor: Actor, code: str) -> ChatGroup:
        """An active group; to someone outside it, a group that takes no requests is as unknown as a
        missing one, so codes cannot be probed for groups that are not open to requests."""
        group = ChatGroup.objects.filter(code=code, status=GroupStatus.ACTIVE).first()
        if group is None:
            raise Http404
        decision = policies.can_request_join(actor.user, group)
        if decision.code == "requests_closed" and selectors.membership_get(actor.user, group) is None:
            raise Http404
        return group


class JoinRequestDecideApi(ManagementApi):
    @extend_schema_serializer(component_name="JoinRequestDecideInput")
    class InputSerializer(serializers.Serializer):
        approve = StrictBooleanField(help_text="true to approve, false to decline.")

    @extend_schema(
        operation_id="join_requests_decide",
        tags=["management"],
        summary="Approve or decline a join request (owner and admins; R8.5)",
        request=InputSerializer,
        responses={200: JoinRequestOutputSerializer, **ERRORS},
    )
    def post(self, request, code, pk):
        actor = self.actor()
        group = self.managed_group(actor, code)
        join_request = JoinRequest.objects.filter(pk=pk, group=group).select_related("group", "user").first()
        if join_request is None:
            raise Http404
        data = self.validated(self.InputSerializer, request.data)
        join_request = services.join_request_decide(actor=actor, join_request=join_request, **data)
        return Response(JoinRequestOutputSerializer(join_request).data)


class GroupSettingsOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    rules_text = serializers.CharField()
    join_mode = serializers.ChoiceField(choices=JoinMode.choices)
    slow_mode_seconds = serializers.IntegerField()
    announcement_only = serializers.BooleanField()


class GroupSettingsApi(ManagementApi):
    @extend_schema_serializer(component_name="GroupSettingsInput")
    class InputSerializer(serializers.Serializer):
        name = RawTextField(required=False)
        description = RawTextField(required=False)
        rules_text = RawTextField(required=False)
        join_mode = RawTextField(required=False, help_text="link, request or invite, as the group allows.")
        slow_mode_seconds = serializers.IntegerField(required=False, help_text="0 to 3600.")
        announcement_only = StrictBooleanField(required=False)

    @extend_schema(
        operation_id="group_settings_update",
        tags=["management"],
        summary="Change the group's settings; texts are screened (owner and admins; R9.1, R9.2)",
        request=InputSerializer,
        responses={200: GroupSettingsOutputSerializer, **ERRORS},
    )
    def patch(self, request, code):
        actor = self.actor()
        group = self.managed_group(actor, code)
        data = self.validated(self.InputSerializer, request.data)
        group = services.group_settings_update(actor=actor, group=group, **data)
        return Response(GroupSettingsOutputSerializer(group).data)


class GroupAnnouncementApi(ManagementApi):
    @extend_schema_serializer(component_name="GroupAnnouncementInput")
    class InputSerializer(serializers.Serializer):
        text = RawTextField(help_text="At most 1000 characters; empty clears the announcement.")

    @extend_schema_serializer(component_name="GroupAnnouncementOutput")
    class OutputSerializer(serializers.Serializer):
        announcement = serializers.CharField()
        announcement_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="group_announcement_set",
        tags=["management"],
        summary="Set the announcement; screened, every member is told (owner and admins; R9.2)",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def put(self, request, code):
        actor = self.actor()
        group = self.managed_group(actor, code)
        data = self.validated(self.InputSerializer, request.data)
        group = services.group_announcement_set(actor=actor, group=group, **data)
        return Response(self.OutputSerializer(group).data)


class MessageRemoveApi(ManagementApi):
    @extend_schema_serializer(component_name="MessageRemoveInput")
    class InputSerializer(serializers.Serializer):
        reason = RawTextField(required=False, default="")

    @extend_schema(
        operation_id="messages_remove",
        tags=["management"],
        summary="Remove a message; members see a tombstone, the record stays as evidence (R9.2)",
        request=InputSerializer,
        responses={200: MessageOutputSerializer, **ERRORS},
    )
    def post(self, request, code, seq):
        actor = self.actor()
        group = self.managed_group(actor, code)
        message = selectors.message_get(group, seq)
        data = self.validated(self.InputSerializer, request.data)
        message = services.message_remove(actor=actor, message=message, **data)
        return Response(selectors.message_payload(message))


class GroupPinnedApi(ManagementApi):
    """R9.2: the message pinned at the top of the group, for every member to see."""

    @extend_schema_serializer(component_name="GroupPinInput")
    class InputSerializer(serializers.Serializer):
        seq = serializers.IntegerField(min_value=1, help_text="The sequence number of the message to pin.")

    @extend_schema_serializer(component_name="GroupPinnedOutput")
    class OutputSerializer(serializers.Serializer):
        pinned = MessageOutputSerializer(allow_null=True)

    def _body(self, group: ChatGroup) -> dict:
        return {"pinned": selectors.pinned_payload(group)}

    @extend_schema(
        operation_id="group_pinned_get",
        tags=["management"],
        summary="The pinned message, if any (members)",
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request, code):
        group = selectors.group_get_for_actor(self.actor(), code)
        return Response(self._body(group))

    @extend_schema(
        operation_id="group_pinned_set",
        tags=["management"],
        summary="Pin a message for every member (owner and admins; R9.2)",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def put(self, request, code):
        actor = self.actor()
        group = self.managed_group(actor, code)
        data = self.validated(self.InputSerializer, request.data)
        message = selectors.message_get(group, data["seq"])
        group = services.message_pin(actor=actor, message=message, group=group)
        return Response(self._body(group))

    @extend_schema(
        operation_id="group_pinned_clear",
        tags=["management"],
        summary="Unpin (owner and admins; R9.2)",
        responses={200: OutputSerializer, **ERRORS},
    )
    def delete(self, request, code):
        actor = self.actor()
        group = self.managed_group(actor, code)
        group = services.message_pin(actor=actor, message=None, group=group)
        return Response(self._body(group))


class MessageRecallApi(ManagementApi):
    """The sender takes back a message within the recall window (``CHAT_RECALL_SECONDS``)."""

    @extend_schema(
        operation_id="messages_recall",
        tags=["chat"],
        summary="Recall my message; members see that it was recalled, the record stays as evidence",
        request=None,
        responses={200: MessageOutputSerializer, **ERRORS},
    )
    def post(self, request, code, seq):
        actor = self.actor()
        group = selectors.group_get_for_actor(actor, code)
        message = services.message_recall(actor=actor, message=selectors.message_get(group, seq))
        return Response(selectors.message_payload(message))


class MessageSearchApi(ManagementApi):
    pagination_class = None  # 20 a page by sequence number (``before``), not by page number

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=100, help_text="Words or part of a Chinese phrase.")
        before = serializers.IntegerField(required=False, min_value=1, help_text="Page back from here.")

    @extend_schema(
        operation_id="messages_search",
        tags=["chat"],
        summary="Search the group's shown messages, newest first (20 a page)",
        parameters=[
            OpenApiParameter("q", str, required=True, description="What to look for."),
            OpenApiParameter("before", int, description="Only messages with a smaller sequence number."),
        ],
        responses={200: MessageOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request, code):
        group = selectors.group_get_for_actor(self.actor(), code)
        data = self.validated(self.InputSerializer, query_data(request))
        search.require_search_budget(request.user)
        found = selectors.message_search(group, data["q"], before=data.get("before"))
        return Response([selectors.message_payload(m) for m in found])


class GroupReadApi(ManagementApi):
    @extend_schema_serializer(component_name="GroupReadInput")
    class InputSerializer(serializers.Serializer):
        seq = serializers.IntegerField(min_value=0, help_text="The last sequence number the member has seen.")

    @extend_schema_serializer(component_name="GroupReadOutput")
    class OutputSerializer(serializers.Serializer):
        read_seq = serializers.IntegerField()

    @extend_schema(
        operation_id="groups_mark_read",
        tags=["chat"],
        summary="Mark the group read up to a sequence number (unread counts)",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def post(self, request, code):
        actor = self.actor()
        group = selectors.group_get_for_actor(actor, code)
        data = self.validated(self.InputSerializer, request.data)
        seq = services.membership_mark_read(actor=actor, group=group, seq=data["seq"])
        return Response({"read_seq": seq})


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.CharField(source="group.code")
    group_name = serializers.CharField(source="group.name")
    inviter = serializers.CharField(source="inviter.display_name")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class InvitationCreateApi(ManagementApi):
    """R8.5: any member invites where the group's category and tier allow it."""

    @extend_schema_serializer(component_name="InvitationCreateInput")
    class InputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField(help_text="The person to invite.")

    @extend_schema_serializer(component_name="InvitationCreateOutput")
    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["added", "pending"])
        invitation_id = serializers.IntegerField(allow_null=True)

    @extend_schema(
        operation_id="invitations_create",
        tags=["management"],
        summary="Invite someone: added at once while the group is small, else they confirm (R8.5)",
        request=InputSerializer,
        responses={201: OutputSerializer, **ERRORS},
    )
    def post(self, request, code):
        actor = self.actor()
        group = selectors.group_get_for_actor(actor, code)
        data = self.validated(self.InputSerializer, request.data)
        invitee = get_user_model().objects.filter(pk=data["user_id"], is_active=True).first()
        if invitee is None:
            raise Http404
        result = services.invitation_create(actor=actor, group=group, invitee=invitee)
        pending = isinstance(result, Invitation)
        body = {"status": "pending" if pending else "added", "invitation_id": result.pk if pending else None}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class MyInvitationsApi(ManagementApi):
    pagination_class = None  # the whole (short) list, as documented

    @extend_schema(
        operation_id="invitations_mine",
        tags=["management"],
        summary="My invitations waiting for an answer (R8.5)",
        responses={200: InvitationOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        return Response(
            InvitationOutputSerializer(selectors.invitations_pending_for(request.user), many=True).data
        )


class InvitationRespondApi(ManagementApi):
    @extend_schema_serializer(component_name="InvitationRespondInput")
    class InputSerializer(serializers.Serializer):
        accept = StrictBooleanField()
        accept_rules = StrictBooleanField(required=False, default=False)

    @extend_schema(
        operation_id="invitations_respond",
        tags=["management"],
        summary="Accept (after the group's rules) or decline an invitation (R8.5, R9.1)",
        request=InputSerializer,
        responses={200: InvitationOutputSerializer, **ERRORS},
    )
    def post(self, request, pk):
        actor = self.actor()
        invitation = next((i for i in selectors.invitations_pending_for(request.user) if i.pk == pk), None)
        if invitation is None:
            raise Http404
        data = self.validated(self.InputSerializer, request.data)
        invitation = services.invitation_respond(actor=actor, invitation=invitation, **data)
        return Response(InvitationOutputSerializer(invitation).data)
