"""REST API for sanctions (R11.1-R11.3): compliance staff issue a measure, supervisors approve or refuse
the ones that need four eyes. The same policies and services as the compliance pages."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.actors import Actor, Door
from common.api import RawTextField, StrictBooleanField, error_responses
from common.reasons import Reason
from groups.codes import group_code_is_valid, group_code_normalise
from groups.models import ChatGroup
from moderation import policies, services
from moderation.models import BlacklistTarget, Case, Sanction, SanctionKind, SanctionStatus

ERRORS = error_responses(400, 403, 404)


@extend_schema_serializer(component_name="SanctionOutput")
class SanctionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SanctionKind.choices)
    status = serializers.ChoiceField(
        choices=SanctionStatus.values,
        help_text="pending: waits for a supervisor (four eyes); active: in force; then expired, reversed "
        "(on appeal) or refused.",
    )
    article = serializers.CharField(help_text='The article of the Provisions, e.g. "11(1)".')
    category = serializers.ChoiceField(choices=Reason.values)
    group = serializers.CharField(source="target_group.code", allow_null=True, default=None)
    user_id = serializers.IntegerField(source="target_user_id", allow_null=True)
    blacklist_role = serializers.CharField(allow_blank=True)
    needs_approval = serializers.BooleanField()
    duration_hours = serializers.IntegerField(allow_null=True, help_text="Null: permanent, or not timed.")
    points = serializers.IntegerField(allow_null=True)
    level = serializers.IntegerField(allow_null=True)
    starts_at = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    case = serializers.IntegerField(source="case_id", allow_null=True)


class _SanctionApi(APIView):
    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            return Response(
                {"code": getattr(exc, "code", None) or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().handle_exception(exc)


class SanctionCreateApi(_SanctionApi):
    """R11.1-R11.3: decide a measure on a group (``group``) or a person (``user_id``). The duration defaults
    to the escalation ladder's step for the target's last six months; closures, blacklisting and permanent
    measures are created ``pending`` and take effect only when a supervisor approves them."""

    @extend_schema_serializer(component_name="SanctionInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=SanctionKind.choices)
        category = RawTextField(help_text="A reason code: " + ", ".join(Reason.values))
        group = serializers.CharField(required=False, max_length=16, help_text="The group's code.")
        user_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
        blacklist_role = serializers.ChoiceField(
            choices=BlacklistTarget.values, required=False, default="", help_text="Blacklisting only."
        )
        note = RawTextField(required=False, default="", help_text="Told to those affected; at most 1,000.")
        duration_hours = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            max_value=5 * 365 * 24,
            help_text="Empty: the ladder's default. Outside the kind's limits: 400.",
        )
        permanent = StrictBooleanField(required=False, default=False)
        points = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
        level = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
        case_id = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)

        def validate(self, attrs):
            if ("group" in attrs) == ("user_id" in attrs):
                raise serializers.ValidationError("Give either a group or a user_id.")
            return attrs

    @extend_schema(
        operation_id="sanctions_create",
        tags=["sanctions"],
        summary="Decide a sanction on a group or a person (R11.1-R11.3)",
        request=InputSerializer,
        responses={201: SanctionOutputSerializer, **ERRORS},
    )
    def post(self, request):
        actor = Actor.from_request(request, door=Door.API)
        policies.require_issue_sanction(request.user)  # before anything is looked up: nothing to probe
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        group = user = case = None
        if "group" in data:
            code = group_code_normalise(data["group"])
            group = ChatGroup.objects.filter(code=code).first() if group_code_is_valid(code) else None
            if group is None:
                raise Http404
        else:
            user = get_user_model().objects.filter(pk=data["user_id"]).first()
            if user is None:
                raise Http404
        if data["case_id"] is not None:
            case = Case.objects.filter(pk=data["case_id"]).first()
            if case is None:
                raise Http404
        sanction = services.sanction_issue(
            actor=actor,
            kind=data["kind"],
            category=data["category"],
            target_group=group,
            target_user=user,
            blacklist_role=data["blacklist_role"],
            note=data["note"],
            duration_hours=data["duration_hours"],
            permanent=data["permanent"],
            points=data["points"],
            level=data["level"],
            case=case,
        )
        return Response(SanctionOutputSerializer(sanction).data, status=status.HTTP_201_CREATED)


class SanctionDecideApi(_SanctionApi):
    """R11.1-R11.3, four eyes: a supervisor other than the one who decided a pending measure approves it
    (it takes effect now) or refuses it (with a note; nothing happens)."""

    @extend_schema_serializer(component_name="SanctionDecisionInput")
    class InputSerializer(serializers.Serializer):
        approve = StrictBooleanField()
        note = RawTextField(required=False, default="", help_text="Required to refuse; at most 300.")

    @extend_schema(
        operation_id="sanctions_decide",
        tags=["sanctions"],
        summary="Approve or refuse a pending sanction (supervisors, four eyes)",
        request=InputSerializer,
        responses={200: SanctionOutputSerializer, **ERRORS},
    )
    def post(self, request, pk):
        actor = Actor.from_request(request, door=Door.API)
        policies.require_supervise_sanctions(request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sanction = Sanction.objects.filter(pk=pk).first()
        if sanction is None:
            raise Http404
        sanction = services.sanction_decide(
            actor=actor,
            sanction=sanction,
            approve=serializer.validated_data["approve"],
            note=serializer.validated_data["note"],
        )
        return Response(SanctionOutputSerializer(sanction).data)
