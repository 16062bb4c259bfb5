"""REST API of the review queue (R12.1) for compliance staff with a reviewer's permissions: the same
selectors, policies and services as the queue pages. A refusal is 403 with its machine-readable code."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.actors import Actor, Door
from common.api import ErrorSerializer, RawTextField, StrictBooleanField, error_responses, query_data
from common.reasons import ReasonKind
from moderation import policies, queue, selectors, services
from moderation.models import ReviewKind, ReviewStatus

ERRORS = error_responses(400, 403, 404)


@extend_schema_serializer(component_name="ReviewItem")
class ReviewItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReviewKind.choices)
    object_id = serializers.IntegerField(help_text="The waiting row's id in its own app (case, message…).")
    status = serializers.ChoiceField(choices=ReviewStatus.values)
    title = serializers.CharField()
    group = serializers.CharField(source="group.code", default=None, allow_null=True)
    category = serializers.CharField(help_text="Reason code, or empty.")
    category_kind = serializers.CharField(help_text="illegal, harmful, conduct, account, or empty.")
    reporters = serializers.IntegerField()
    group_size = serializers.IntegerField()
    priority = serializers.IntegerField()
    deadline = serializers.DateTimeField()
    overdue = serializers.SerializerMethodField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    claimed_by = serializers.IntegerField(source="claimed_by_id", allow_null=True)
    claimed_until = serializers.DateTimeField(allow_null=True)
    decisions = serializers.SerializerMethodField(help_text="Decision codes offered for this kind of item.")

    def get_overdue(self, item) -> bool:
        from django.utils import timezone

        return item.status == ReviewStatus.OPEN and item.deadline < timezone.now()

    def get_decisions(self, item) -> list[str]:
        source = queue.get(item.kind)
        return [choice.code for choice in source.choices] if source else []


class ReviewItemListApi(APIView):
    """R12.1: the open items the reviewer decides, highest priority first, then the nearest deadline."""

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ReviewKind.values, required=False)
        category = serializers.ChoiceField(choices=ReasonKind.values, required=False)
        overdue = StrictBooleanField(required=False, default=False)
        mine = StrictBooleanField(required=False, default=False)

    @extend_schema(
        operation_id="review_items_list",
        tags=["review queue"],
        summary="The review queue (R12.1)",
        parameters=[
            OpenApiParameter("kind", str, enum=ReviewKind.values, required=False),
            OpenApiParameter("category", str, enum=ReasonKind.values, required=False),
            OpenApiParameter("overdue", bool, required=False),
            OpenApiParameter("mine", bool, required=False),
        ],
        responses={200: ReviewItemSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request):
        policies.require_work_queue(request.user)
        services.review_queue_sync(actor=Actor.from_request(request, door=Door.API), quick=True)
        kinds = policies.queue_kinds_for(request.user)
        params = self.FilterSerializer(data=query_data(request))
        if not params.is_valid() or params.validated_data.get("kind", "") not in ("", *kinds):
            return Response(
                {
                    "code": "filter_invalid",
                    "detail": _("Unknown kind or category, or a yes/no filter that is neither."),
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = params.validated_data
        filters = selectors.QueueFilters(
            kind=data.get("kind", ""),
            category_kind=data.get("category", ""),
            overdue=data["overdue"],
            mine=data["mine"],
        )
        items = selectors.queue_list(request.user, kinds, filters)
        return Response(ReviewItemSerializer(items, many=True).data)


class ReviewClaimNextApi(APIView):
    """R12.1: claim the most urgent item nobody holds (optionally of one kind); 204 when nothing waits.
    Two reviewers at once never get the same item."""

    @extend_schema_serializer(component_name="ReviewClaimNextInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ReviewKind.choices, required=False)

    @extend_schema(
        operation_id="review_claim_next",
        tags=["review queue"],
        summary="Claim the next review item (R12.1)",
        request=InputSerializer,
        responses={200: ReviewItemSerializer, 204: None, **ERRORS},
    )
    def post(self, request):
        actor = Actor.from_request(request, door=Door.API)
        policies.require_work_queue(request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind = serializer.validated_data.get("kind")
        services.review_queue_sync(actor=actor, quick=True)
        item = services.review_claim_next(actor=actor, kinds=[kind] if kind else None)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ReviewItemSerializer(item).data)


class ReviewDecideApi(APIView):
    """R12.1: decide an item through the service of the app that owns it. Decisions by kind: case
    (``uphold``, ``remove``, ``dismiss``: ``note`` is the outcome the reporters are told, required),
    held_message (``release``, ``remove``), group_request (``approve``, ``refuse``: refusing needs a
    ``note``), identity_review (``approve``, ``reject``)."""

    @extend_schema_serializer(component_name="ReviewDecideInput")
    class InputSerializer(serializers.Serializer):
        decision = RawTextField(help_text="One of the item's ``decisions``.")
        note = RawTextField(
            required=False, default="", help_text="Outcome, reason or note; at most 1,000 characters."
        )

    @extend_schema(
        operation_id="review_item_decide",
        tags=["review queue"],
        summary="Decide a review item (R12.1)",
        request=InputSerializer,
        responses={200: ReviewItemSerializer, **ERRORS},
    )
    def post(self, request, pk):
        actor = Actor.from_request(request, door=Door.API)
        item = selectors.review_item_get_for_staff(request.user, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            item = services.review_item_decide(
                actor=actor, item=item, decision=data["decision"], note=data["note"]
            )
        except DjangoValidationError as exc:
            return Response(
                {"code": getattr(exc, "code", None) or "invalid", "detail": " ".join(exc.messages)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(ReviewItemSerializer(item).data)


class ReviewReleaseApi(APIView):
    """R12.1: give a claimed item back to the queue (one's own; a supervisor anyone's)."""

    @extend_schema(
        operation_id="review_item_release",
        tags=["review queue"],
        summary="Release a claimed review item (R12.1)",
        request=None,
        responses={200: ReviewItemSerializer, **ERRORS},
    )
    def post(self, request, pk):
        actor = Actor.from_request(request, door=Door.API)
        item = selectors.review_item_get_for_staff(request.user, pk)
        item = services.review_claim_release(actor=actor, item=item)
        return Response(ReviewItemSerializer(item).data)
