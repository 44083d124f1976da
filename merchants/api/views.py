"""The merchant API (``/api/v1/merchant/``): the portal's operations for merchants who integrate.

Authenticate with the merchant user's token (``Authorization: Token <key>``, created on the
portal's "API token" page) or a session. Every view resolves the caller's merchant first and
looks objects up through selectors that take it: another merchant's id answers 404. Errors
answer ``{"error": sentence, "errors": {field: [sentence]}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api import StrictJSONParser
from cdp_site.roles import HasRole, Role
from merchants import selectors, services
from merchants.catalog import TRIGGERS
from merchants.models import AreaKind, DiscountKind, Gender, Merchant, MerchantOffer


class MerchantApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MERCHANT,)

    def merchant(self, request: Request) -> Merchant:
        merchant = selectors.merchant_of(request.user)
        if merchant is None:
            raise Http404("This account is not linked to a merchant.")
        return merchant

    def offer(self, request: Request, offer_id: int) -> MerchantOffer:
        return selectors.merchant_offer_get(merchant=self.merchant(request), offer_id=offer_id)


def invalid(error: ValidationError) -> Response:
    errors = error.message_dict
    first = next(iter(errors.values()))[0] if errors else "The offer is not valid."
    return Response({"error": first, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def refused(error: services.TransitionRefused) -> Response:
    return Response({"error": error.message, "code": "not_allowed"}, status=409)


class OfferInputSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, required=False, default="")
    description = serializers.CharField(allow_blank=True, required=False, default="")
    image = serializers.FileField(required=False, allow_null=True)
    discount_kind = serializers.ChoiceField(choices=DiscountKind.values, default="percent")
    discount_value = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    age_min = serializers.IntegerField(required=False, allow_null=True)
    age_max = serializers.IntegerField(required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.values, default="any")
    segments = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    trigger = serializers.ChoiceField(choices=list(TRIGGERS), default=next(iter(TRIGGERS)))
    area_kind = serializers.ChoiceField(choices=AreaKind.values, default="regions")
    regions = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    store = serializers.IntegerField(required=False, allow_null=True)
    radius_m = serializers.IntegerField(required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )
    hour_from = serializers.TimeField(required=False, allow_null=True)
    hour_to = serializers.TimeField(required=False, allow_null=True)
    max_coupons = serializers.IntegerField(required=False, allow_null=True)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True)
    daily_cap = serializers.IntegerField(required=False, allow_null=True)
    valid_days = serializers.IntegerField(required=False, default=7)

    def to_input(self) -> services.OfferInput:
        data: dict[str, Any] = dict(self.validated_data)
        upload = data.pop("image", None)
        return services.OfferInput(
            title=data["title"],
            description=data["description"],
            discount_kind=data["discount_kind"],
            discount_value=data.get("discount_value"),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            gender=data["gender"],
            segments=tuple(data["segments"]),
            area_kind=data["area_kind"],
            regions=tuple(data["regions"]),
            store_id=data.get("store"),
            radius_m=data.get("radius_m"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            days_of_week=tuple(data["days_of_week"]),
            hour_from=data.get("hour_from"),
            hour_to=data.get("hour_to"),
            max_coupons=data.get("max_coupons"),
            max_redemptions=data.get("max_redemptions"),
            daily_cap=data.get("daily_cap"),
            trigger=data["trigger"],
            valid_days=data["valid_days"],
            image=services.ImageUpload(content=upload.read(), name=upload.name or "")
            if upload
            else None,
        )


class OfferOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    has_image = serializers.SerializerMethodField()
    discount_kind = serializers.CharField()
    discount_value = serializers.DecimalField(max_digits=10, decimal_places=2)
    age_min = serializers.IntegerField(allow_null=True)
    age_max = serializers.IntegerField(allow_null=True)
    gender = serializers.CharField()
    segments = serializers.ListField(child=serializers.CharField())
    trigger = serializers.CharField()
    area_kind = serializers.CharField()
    regions = serializers.ListField(child=serializers.CharField())
    store = serializers.IntegerField(source="store_id", allow_null=True)
    radius_m = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    days_of_week = serializers.ListField(child=serializers.IntegerField())
    hour_from = serializers.TimeField(allow_null=True)
    hour_to = serializers.TimeField(allow_null=True)
    max_coupons = serializers.IntegerField()
    max_redemptions = serializers.IntegerField(allow_null=True)
    daily_cap = serializers.IntegerField(allow_null=True)
    valid_days = serializers.IntegerField()
    status = serializers.CharField()
    pause_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_has_image(self, offer: MerchantOffer) -> bool:
        return bool(offer.image_content_type)


class OfferListOutputSerializer(serializers.Serializer):
    results = OfferOutputSerializer(many=True)


@extend_schema_serializer(component_name="MerchantCommentInput")
class CommentInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class OfferEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    by = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()


class OfferEventListSerializer(serializers.Serializer):
    results = OfferEventSerializer(many=True)


class ReachOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text="null below the group size")
    is_small = serializers.BooleanField()
    min_group_size = serializers.IntegerField()
    shown = serializers.CharField(help_text="The count, or 'fewer than N' below the group size.")


class StoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    region = serializers.CharField()
    latitude = serializers.CharField()
    longitude = serializers.CharField()


class StoreListSerializer(serializers.Serializer):
    results = StoreSerializer(many=True)


class ReviewOfferSerializer(OfferOutputSerializer):
    merchant = serializers.CharField()


class ReviewOfferListSerializer(serializers.Serializer):
    results = ReviewOfferSerializer(many=True)


class ReviewDecisionOutputSerializer(ReviewOfferSerializer):
    campaign = serializers.IntegerField(allow_null=True)


def _comment(request: Request) -> str:
    incoming = CommentInputSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    return incoming.validated_data["comment"]


def _offer_body(offer: MerchantOffer) -> dict[str, Any]:
    return dict(OfferOutputSerializer(offer).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="v1_merchant_offers_list",
        parameters=[OpenApiParameter("status", str)],
        responses=OfferListOutputSerializer,
    ),
    post=extend_schema(request=OfferInputSerializer, responses={201: OfferOutputSerializer}),
)
class OfferListCreateApi(MerchantApi):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    def get(self, request: Request) -> Response:
        offers = selectors.merchant_offer_list(
            merchant=self.merchant(request), status=request.query_params.get("status")
        )
        return Response({"results": OfferOutputSerializer(offers, many=True).data})

    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        incoming = OfferInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            offer = services.merchant_offer_create(
                merchant=merchant, user=request.user, values=incoming.to_input()
            )
        except ValidationError as error:
            return invalid(error)
        return Response(_offer_body(offer), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses=OfferOutputSerializer),
    put=extend_schema(request=OfferInputSerializer, responses=OfferOutputSerializer),
)
class OfferDetailApi(MerchantApi):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    def get(self, request: Request, offer_id: int) -> Response:
        return Response(_offer_body(self.offer(request, offer_id)))

    def put(self, request: Request, offer_id: int) -> Response:
        offer = self.offer(request, offer_id)
        incoming = OfferInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            offer = services.merchant_offer_update(
                offer=offer, user=request.user, values=incoming.to_input()
            )
        except ValidationError as error:
            return invalid(error)
        except services.TransitionRefused as error:
            return refused(error)
        return Response(_offer_body(offer))


class OfferTransitionApi(MerchantApi):
    """A merchant moves its own offer through the workflow; the service says whether it may."""

    transition: Callable[..., Any]

    def post(self, request: Request, offer_id: int) -> Response:
        try:
            offer = type(self).transition(
                offer=self.offer(request, offer_id), user=request.user, comment=_comment(request)
            )
        except ValidationError as error:
            return invalid(error)
        except services.TransitionRefused as error:
            return refused(error)
        return Response(_offer_body(offer))


@extend_schema_view(
    post=extend_schema(request=CommentInputSerializer, responses=OfferOutputSerializer)
)
class OfferSubmitApi(OfferTransitionApi):
    transition = staticmethod(services.merchant_offer_submit)


@extend_schema_view(
    post=extend_schema(request=CommentInputSerializer, responses=OfferOutputSerializer)
)
class OfferPauseApi(OfferTransitionApi):
    transition = staticmethod(services.merchant_offer_pause)


@extend_schema_view(
    post=extend_schema(request=CommentInputSerializer, responses=OfferOutputSerializer)
)
class OfferResumeApi(OfferTransitionApi):
    transition = staticmethod(services.merchant_offer_resume)


@extend_schema_view(
    get=extend_schema(
        operation_id="v1_merchant_offers_events_list", responses=OfferEventListSerializer
    )
)
class OfferEventsApi(MerchantApi):
    def get(self, request: Request, offer_id: int) -> Response:
        events = selectors.merchant_offer_events(offer=self.offer(request, offer_id))
        return Response(
            {
                "results": [
                    {
                        "action": event.action,
                        "by": event.actor,
                        "comment": event.comment,
                        "at": event.at.isoformat(),
                    }
                    for event in events
                ]
            }
        )


@extend_schema_view(
    post=extend_schema(request=OfferInputSerializer, responses=ReachOutputSerializer)
)
class ReachApi(MerchantApi):
    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        incoming = OfferInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        reach = selectors.merchant_offer_reach(merchant=merchant, values=incoming.to_input())
        return Response(
            {
                "count": reach.count,
                "is_small": reach.is_small,
                "min_group_size": reach.min_group_size,
                "shown": f"fewer than {reach.min_group_size}" if reach.is_small else reach.count,
            }
        )


@extend_schema_view(
    get=extend_schema(operation_id="v1_merchant_stores_list", responses=StoreListSerializer)
)
class StoreListApi(MerchantApi):
    def get(self, request: Request) -> Response:
        stores = selectors.store_list(merchant=self.merchant(request))
        return Response(
            {
                "results": [
                    {
                        "id": store.pk,
                        "name": store.name,
                        "address": store.address,
                        "region": store.region,
                        "latitude": str(store.latitude),
                        "longitude": str(store.longitude),
                    }
                    for store in stores
                ]
            }
        )


@extend_schema_view(
    get=extend_schema(parameters=[OpenApiParameter("offer", int)], responses=OpenApiTypes.OBJECT)
)
class ReportApi(MerchantApi):
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("offer")
        offer_id = int(raw) if raw and raw.isdigit() else None
        if raw and offer_id is None:
            return Response(
                {"error": "offer: give an offer id.", "errors": {"offer": ["Not a number."]}},
                status=400,
            )
        report = selectors.merchant_report(merchant=self.merchant(request), offer_id=offer_id)
        return Response(
            {
                "min_group_size": report.min_group_size,
                "total_issued": report.total_issued,
                "total_redeemed": report.total_redeemed,
                "total_revenue": None
                if report.total_revenue is None
                else str(report.total_revenue),
                "offers": [
                    {
                        "offer": row.offer_id,
                        "title": row.title,
                        "status": row.status,
                        "issued": row.issued,
                        "redeemed": row.redeemed,
                        "redemption_rate": row.redemption_rate,
                        "revenue": None if row.revenue is None else str(row.revenue),
                        "discount_cost": None
                        if row.discount_cost is None
                        else str(row.discount_cost),
                        "control": row.control,
                        "control_rate": row.control_rate,
                    }
                    for row in report.offers
                ],
                "days": [
                    {"day": day.day.isoformat(), "issued": day.issued, "redeemed": day.redeemed}
                    for day in report.days
                ],
                "stores": [
                    {
                        "store": row.store_id,
                        "name": row.name,
                        "redeemed": row.redeemed,
                        "revenue": None if row.revenue is None else str(row.revenue),
                    }
                    for row in report.stores
                ],
            }
        )


# --- the bank's review (marketers) ----------------------------------------------------------


class ReviewApi(APIView):
    permission_classes = [HasRole]
    allowed_roles = (Role.MARKETER,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if selectors.merchant_of(request.user) is not None:
            raise PermissionDenied("Merchant users cannot review offers.")


@extend_schema_view(
    get=extend_schema(
        operation_id="v1_merchant_review_list",
        parameters=[OpenApiParameter("status", str, description="default: pending")],
        responses=ReviewOfferListSerializer,
    )
)
class ReviewListApi(ReviewApi):
    def get(self, request: Request) -> Response:
        offers = selectors.review_offer_list(status=request.query_params.get("status", "pending"))
        return Response(
            {
                "results": [
                    {**_offer_body(offer), "merchant": offer.merchant.name}
                    for offer in offers[:500]
                ]
            }
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="v1_merchant_review_decide",
        parameters=[
            OpenApiParameter(
                "decision",
                str,
                location=OpenApiParameter.PATH,
                enum=["approve", "reject", "changes", "pause"],
            )
        ],
        request=CommentInputSerializer,
        responses=ReviewDecisionOutputSerializer,
    )
)
class ReviewDecisionApi(ReviewApi):
    """``POST review/<id>/approve|reject|changes`` with ``{"comment": ...}``."""

    def post(self, request: Request, offer_id: int, decision: str) -> Response:
        steps = {
            "approve": services.merchant_offer_approve,
            "reject": services.merchant_offer_reject,
            "changes": services.merchant_offer_request_changes,
            "pause": services.merchant_offer_pause,
        }
        if decision not in steps:
            raise Http404("Decide approve, reject, changes or pause.")
        offer = selectors.review_offer_get(offer_id=offer_id)
        try:
            offer = steps[decision](offer=offer, user=request.user, comment=_comment(request))
        except ValidationError as error:
            return invalid(error)
        except services.TransitionRefused as error:
            return refused(error)
        return Response(
            {**_offer_body(offer), "merchant": offer.merchant.name, "campaign": offer.campaign_id}
        )
