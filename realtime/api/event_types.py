"""The event-type registry over the API: ``/api/v1/event-types[/<name>]``."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.roles import ReadOnlyForAnalysts
from realtime.ingest import selectors, services
from realtime.models import AttributeType, EventType


class AttributeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=AttributeType.choices)
    required = serializers.BooleanField(default=False)
    values = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The allowed values of an enum."
    )
    description = serializers.CharField(required=False, allow_blank=True)


class EventTypeOutputSerializer(serializers.ModelSerializer):
    attributes = AttributeSerializer(many=True)

    class Meta:
        model = EventType
        fields = ["name", "description", "attributes", "created_at", "updated_at"]


def _service_call(function, **kwargs):  # type: ignore[no-untyped-def]  # thin adapter
    try:
        return function(**kwargs)
    except DjangoValidationError as error:
        raise ValidationError(
            error.message_dict if hasattr(error, "message_dict") else error.messages
        ) from None


class EventTypeListApi(APIView):
    permission_classes = (ReadOnlyForAnalysts,)

    class EventTypeCreateInputSerializer(serializers.Serializer):
        name = serializers.RegexField(r"^[a-z][a-z0-9_]{0,63}$", help_text="e.g. card_transaction")
        description = serializers.CharField(required=False, allow_blank=True, default="")
        attributes = AttributeSerializer(many=True, required=False, default=list)

    @extend_schema(tags=["event types"], responses=EventTypeOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(EventTypeOutputSerializer(selectors.event_type_list(), many=True).data)

    @extend_schema(
        tags=["event types"],
        request=EventTypeCreateInputSerializer,
        responses={201: EventTypeOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.EventTypeCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if EventType.objects.filter(name=data.validated_data["name"]).exists():
            raise ValidationError({"name": ["An event type with this name exists."]})
        event_type = _service_call(
            services.event_type_create, user=request.user, **data.validated_data
        )
        return Response(EventTypeOutputSerializer(event_type).data, status=status.HTTP_201_CREATED)


class EventTypeDetailApi(APIView):
    permission_classes = (ReadOnlyForAnalysts,)

    class EventTypeUpdateInputSerializer(serializers.Serializer):
        description = serializers.CharField(required=False, allow_blank=True)
        attributes = AttributeSerializer(many=True, required=False)

    @extend_schema(tags=["event types"], responses=EventTypeOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(EventTypeOutputSerializer(get_object_or_404(EventType, name=name)).data)

    @extend_schema(
        tags=["event types"],
        request=EventTypeUpdateInputSerializer,
        responses=EventTypeOutputSerializer,
        description="Applies to events sent from now on; stored events are never changed.",
    )
    def put(self, request: Request, name: str) -> Response:
        event_type = get_object_or_404(EventType, name=name)
        data = self.EventTypeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event_type = _service_call(
            services.event_type_update, event_type=event_type, **data.validated_data
        )
        return Response(EventTypeOutputSerializer(event_type).data)

    @extend_schema(tags=["event types"], responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        services.event_type_delete(event_type=get_object_or_404(EventType, name=name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventTypeRegistryApi(APIView):
    permission_classes = (ReadOnlyForAnalysts,)

    @extend_schema(
        tags=["event types"],
        responses=OpenApiTypes.OBJECT,
        description="`{type: {attribute: attribute type}}`, for field pickers.",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.event_type_registry())
