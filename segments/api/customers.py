"""Customer profiles over the API: ``PUT /api/v1/customers/<customer_id>``, ``POST
/api/v1/customers`` (batch upsert) and ``GET /api/v1/customers/<customer_id>``."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.roles import ReadOnlyForAnalysts
from segments import selectors, services
from segments.services import ProfileError

TRAITS_HELP = (
    "Trait name → value (text, number, true/false, or a small list/object). Merged into the "
    "stored profile: a value overwrites, null removes the trait, absent traits stay."
)


class CustomerOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    traits = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    error = serializers.CharField()


class CustomerDetailApi(APIView):
    permission_classes = (ReadOnlyForAnalysts,)

    class CustomerTraitsInputSerializer(serializers.Serializer):
        traits = serializers.DictField(help_text=TRAITS_HELP)

    @extend_schema(tags=["customers"], responses=CustomerOutputSerializer)
    def get(self, request: Request, customer_id: str) -> Response:
        customer = selectors.customer_get(customer_id)
        if customer is None:
            raise Http404
        return Response(CustomerOutputSerializer(customer).data)

    @extend_schema(
        tags=["customers"],
        summary="Create or update one customer profile",
        description="Changes are mirrored to Redis for the engine and announced as a "
        "`profile_updated` event on the customer's stream (attributes = changed traits).",
        request=CustomerTraitsInputSerializer,
        responses={
            200: CustomerOutputSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="The fields in error, each with its messages."
            ),
        },
        examples=[
            OpenApiExample(
                "Traits",
                request_only=True,
                value={"traits": {"age": 34, "region": "Gangnam-gu", "timezone": "Asia/Seoul"}},
            )
        ],
    )
    def put(self, request: Request, customer_id: str) -> Response:
        data = self.CustomerTraitsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            customer = services.customer_upsert(
                customer_id=customer_id, traits=data.validated_data["traits"]
            )
        except ProfileError as error:
            raise ValidationError({error.field: [error.error]}) from None
        return Response(CustomerOutputSerializer(customer).data)


class CustomerBatchApi(APIView):
    permission_classes = (ReadOnlyForAnalysts,)

    class CustomerBatchInputSerializer(serializers.Serializer):
        customers = serializers.ListField(
            child=serializers.DictField(),
            max_length=services.MAX_BATCH,
            help_text='Up to 1,000 of {"customer_id": "...", "traits": {...}}.',
        )

    class CustomerBatchResultSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        rejected = RejectionSerializer(many=True)

    @extend_schema(
        tags=["customers"],
        summary="Create or update many customer profiles",
        description="Partial accept: valid rows are stored, invalid ones listed by index and "
        "field. Traits are merged as in PUT.",
        request=CustomerBatchInputSerializer,
        responses={200: CustomerBatchResultSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.CustomerBatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.customer_upsert_many(rows=data.validated_data["customers"])
        if result.rejected and not (result.created or result.updated or result.unchanged):
            return Response(result.to_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(result.to_dict())
