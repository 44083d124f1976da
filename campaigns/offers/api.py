"""API for offers, coupon pools, deliveries and provider receipts (one view per operation)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Delivery, Offer
from campaigns.offers import delivery, selectors, services
from cdp_site.roles import HasRole, ReadOnlyForAnalysts, Role, user_has_role


def _validation_error(error: ValidationError) -> ApiValidationError:
    return ApiValidationError(error.message_dict)


class PoolOutputSerializer(serializers.Serializer):
    pattern = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    low_water_mark = serializers.IntegerField()
    available = serializers.IntegerField()
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    is_low = serializers.BooleanField()
    is_exhausted = serializers.BooleanField()


class OfferSerializer(serializers.ModelSerializer):
    coupons_available = serializers.SerializerMethodField()
    pool = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "push_title",
            "push_body",
            "sms_body",
            "email_subject",
            "email_body",
            "webhook_payload",
            "link_url",
            "coupon_value",
            "coupon_currency",
            "is_percent",
            "per_customer_limit",
            "is_active",
            "merchant",
            "coupons_available",
            "pool",
        ]
        read_only_fields = ["id", "merchant", "coupons_available", "pool"]
        extra_kwargs = {"slug": {"required": False}}

    def get_coupons_available(self, offer: Offer) -> int | None:
        summary = selectors.pool_summary(pool=selectors.offer_pool(offer))
        return summary.available if summary else None

    @extend_schema_field(PoolOutputSerializer(allow_null=True))
    def get_pool(self, offer: Offer) -> dict[str, object] | None:
        pool = selectors.offer_pool(offer)
        summary = selectors.pool_summary(pool=pool)
        if pool is None or summary is None:
            return None
        return {
            "pattern": pool.pattern,
            "expires_at": pool.expires_at,
            "low_water_mark": pool.low_water_mark,
            "available": summary.available,
            "issued": summary.issued,
            "redeemed": summary.redeemed,
            "is_low": summary.is_low,
            "is_exhausted": summary.is_exhausted,
        }


class OfferListApi(APIView):
    """GET the offers; POST one (templates are checked: an unknown placeholder is a 400)."""

    permission_classes = [ReadOnlyForAnalysts]

    @extend_schema(
        operation_id="v1_offers_list",
        parameters=[OpenApiParameter("q", str, description="search in slug and name")],
        responses=OfferSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        offers = selectors.offer_list(search=request.query_params.get("q"))
        return Response(OfferSerializer(offers, many=True).data)

    @extend_schema(request=OfferSerializer, responses={201: OfferSerializer})
    def post(self, request: Request) -> Response:
        serializer = OfferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            offer = services.offer_create(values=serializer.validated_data)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailApi(APIView):
    permission_classes = [ReadOnlyForAnalysts]

    @extend_schema(responses=OfferSerializer)
    def get(self, request: Request, offer_id: int) -> Response:
        return Response(OfferSerializer(get_object_or_404(Offer, pk=offer_id)).data)

    @extend_schema(request=OfferSerializer, responses=OfferSerializer)
    def put(self, request: Request, offer_id: int) -> Response:
        offer = get_object_or_404(Offer, pk=offer_id)
        serializer = OfferSerializer(offer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            offer = services.offer_update(offer=offer, values=serializer.validated_data)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response(OfferSerializer(offer).data)

    patch = put


class OfferPoolGenerateApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema_serializer(component_name="OfferPoolGenerateInput")
    class InputSerializer(serializers.Serializer):
        pattern = serializers.CharField(max_length=60)
        count = serializers.IntegerField(min_value=1, max_value=services.MAX_POOL_BATCH)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        low_water_mark = serializers.IntegerField(min_value=0, required=False, allow_null=True)

    @extend_schema_serializer(component_name="OfferPoolGenerateOutput")
    class OutputSerializer(PoolOutputSerializer):
        added = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request, offer_id: int) -> Response:
        offer = get_object_or_404(Offer, pk=offer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            change = services.pool_generate(offer=offer, **data.validated_data)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response({"added": change.added, **(OfferSerializer(offer).data["pool"] or {})})


class OfferPoolUploadApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    @extend_schema_serializer(component_name="OfferPoolUploadInput")
    class InputSerializer(serializers.Serializer):
        codes = serializers.ListField(
            child=serializers.CharField(max_length=200, allow_blank=True),
            max_length=services.MAX_POOL_BATCH,
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        low_water_mark = serializers.IntegerField(min_value=0, required=False, allow_null=True)

    @extend_schema_serializer(component_name="OfferPoolUploadOutput")
    class OutputSerializer(PoolOutputSerializer):
        added = serializers.IntegerField()
        duplicates = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request, offer_id: int) -> Response:
        offer = get_object_or_404(Offer, pk=offer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            change = services.pool_upload(offer=offer, **data.validated_data)
        except ValidationError as error:
            raise _validation_error(error) from error
        return Response(
            {
                "added": change.added,
                "duplicates": change.duplicates,
                **(OfferSerializer(offer).data["pool"] or {}),
            }
        )


class DeliverySerializer(serializers.ModelSerializer):
    offer = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    coupon = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "decision",
            "action_index",
            "campaign",
            "customer_id",
            "kind",
            "offer",
            "team",
            "channels",
            "channel",
            "status",
            "reason",
            "attempts",
            "last_error",
            "coupon",
            "provider_message_id",
            "queued_at",
            "sent_at",
            "delivered_at",
            "clicked_at",
            "failed_at",
        ]


class DeliveryListApi(APIView):
    """GET /api/v1/deliveries?campaign=&customer=&status= (newest first, at most 500)."""

    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER, Role.ANALYST)

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", int),
            OpenApiParameter("customer", str),
            OpenApiParameter("status", str),
        ],
        responses=DeliverySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        campaign = request.query_params.get("campaign")
        if campaign and not campaign.isdigit():
            raise ApiValidationError({"campaign": "Give a campaign id (a number)."})
        deliveries = selectors.delivery_list(
            campaign_id=int(campaign) if campaign else None,
            customer_id=request.query_params.get("customer"),
            status=request.query_params.get("status"),
        )[:500]
        return Response(DeliverySerializer(deliveries, many=True).data)


class ProviderOrMarketer(BasePermission):
    """Providers call back with ``Authorization: Bearer <CDP_RECEIPTS_TOKEN>``; people and
    scripts with their marketer token or session."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        expected = settings.CDP_RECEIPTS_TOKEN
        header = request.headers.get("Authorization", "")
        if expected and header.startswith("Bearer "):
            return hmac.compare_digest(header.removeprefix("Bearer ").strip(), expected)
        return bool(request.user and user_has_role(request.user, Role.MARKETER))


class DeliveryReceiptApi(APIView):
    """POST /api/v1/deliveries/<id>/receipts {"status": "delivered"|"failed"|"clicked"}."""

    authentication_classes = list(APIView.authentication_classes)
    permission_classes = [ProviderOrMarketer]

    @extend_schema_serializer(component_name="DeliveryReceiptInput")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["delivered", "failed", "clicked"])
        error = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def get_authenticators(self) -> list[object]:
        # A provider's bearer token is not a DRF token: don't let TokenAuthentication reject it.
        header = self.request.headers.get("Authorization", "") if self.request else ""
        if settings.CDP_RECEIPTS_TOKEN and header.startswith("Bearer "):
            return []
        return super().get_authenticators()

    @extend_schema(request=InputSerializer, responses=DeliverySerializer)
    def post(self, request: Request, delivery_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            updated = delivery.delivery_receipt_record(
                delivery_id=delivery_id,
                status=data.validated_data["status"],
                error=data.validated_data.get("error", ""),
            )
        except Delivery.DoesNotExist:
            return Response({"error": "No such delivery."}, status=status.HTTP_404_NOT_FOUND)
        except delivery.ReceiptRejected as error:
            return Response(
                {"error": str(error), "status": [str(error)]}, status=status.HTTP_409_CONFLICT
            )
        return Response(DeliverySerializer(updated).data)
