"""``POST /api/v1/events``: the ingest endpoint.

It is a plain Django async view rather than a DRF view: DRF's request wrapping, content
negotiation and serializers cost more per request than the whole batch's validation. DRF still
documents it: ``EventIngestApi`` is attached to the view as ``cls`` so drf-spectacular lists it.
Under ASGI, ``realtime.ingest.http.IngestAsgiApp`` answers the path before Django (see there
why); both call ``ingest_http``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from realtime.ingest import services
from realtime.ingest.http import BodyTooLarge, ingest_http


@csrf_exempt
async def events_ingest_view(request: HttpRequest) -> HttpResponse:
    """The Django view of the endpoint (tests, servers without the lean ASGI app)."""

    async def read_body() -> bytes:
        body = request.body
        if len(body) > services.MAX_BODY_BYTES:
            raise BodyTooLarge
        return body

    status, headers, body = await ingest_http(
        method=request.method or "",
        authorization=request.headers.get("Authorization"),
        query_string=request.META.get("QUERY_STRING", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        read_body=read_body,
    )
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


class IngestEventSerializer(serializers.Serializer):
    event_id = serializers.CharField(
        required=False,
        max_length=128,
        help_text="Your id for the event; resending it within 25 h creates nothing twice. "
        "Generated (uuid4 hex) when absent.",
    )
    type = serializers.CharField(help_text="A type from GET /api/v1/event-types.")
    customer_id = serializers.CharField(max_length=128)
    timestamp = serializers.CharField(
        required=False,
        help_text="Event time: epoch seconds (number) or ISO 8601 with offset. At most 5 "
        "minutes ahead of the server clock. Default: the time the server received it.",
    )
    attributes = serializers.DictField(
        required=False,
        help_text="Checked against the type's declared attributes; undeclared ones are kept "
        "if no deeper than 4 levels.",
    )


class IngestBatchSerializer(serializers.Serializer):
    events = IngestEventSerializer(many=True)


class IngestRejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the batch.")
    field = serializers.CharField(help_text="e.g. `type`, `attributes.amount`.")
    error = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events appended now.")
    duplicates = serializers.IntegerField(
        help_text="Valid events whose event_id was already accepted (not appended again)."
    )
    rejected = IngestRejectionSerializer(many=True)
    event_ids = serializers.ListField(
        child=serializers.CharField(allow_null=True),
        help_text="Per input index, the event's id (given or generated); null if rejected.",
    )


class IngestErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    field = serializers.CharField(required=False)
    rejected = IngestRejectionSerializer(many=True, required=False)


class EventIngestApi(APIView):
    """Documents ``events_ingest_view`` for the OpenAPI schema; requests never reach it."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="events_ingest",
        tags=["events"],
        summary="Send a batch of events",
        description=(
            "Send up to 1,000 events or 1 MiB per request with `Authorization: Bearer <source "
            'key>` (browsers may pass `?key=`). The body is `{"events": [...]}` or a bare JSON '
            "list.\n\n"
            "**Partial accept.** Every event is validated against its type in the registry. "
            "Valid events are appended to the customer's partition stream even when others in "
            "the batch are rejected; the reply (HTTP 200) lists each rejected event by `index` "
            "and `field`. Fix and resend only those. When no event is valid the reply is 400 "
            "with the same `rejected` list and nothing is appended.\n\n"
            "**Durability and order.** The reply is sent only after Redis acknowledged the "
            "append; one customer's events keep the order in which they were accepted.\n\n"
            "**Deduplication.** An `event_id` accepted in the last 25 hours is counted in "
            "`duplicates` and not appended again, so resending a whole batch after a timeout is "
            "safe.\n\n"
            "**Refusals.** 401 unknown or revoked key; 413 body over 1 MiB or over 1,000 events; "
            "429 over the key's requests per second (retry after `Retry-After`); 400 malformed "
            "JSON, non-UTF-8 bytes, or no valid event."
        ),
        request=IngestBatchSerializer,
        parameters=[
            OpenApiParameter(
                "key",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                description="The source key, for browser trackers that cannot set headers.",
            )
        ],
        responses={
            200: IngestResultSerializer,
            400: OpenApiResponse(
                IngestErrorSerializer, description="Malformed body or no valid event."
            ),
            401: OpenApiResponse(
                IngestErrorSerializer, description="Missing, unknown or revoked key."
            ),
            413: OpenApiResponse(
                IngestErrorSerializer, description="Over 1 MiB or over 1,000 events."
            ),
            429: OpenApiResponse(
                IngestErrorSerializer, description="Rate limit of the key exceeded."
            ),
        },
        examples=[
            OpenApiExample(
                "A card transaction",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "tx-20261201-000123",
                            "type": "card_transaction",
                            "customer_id": "C000042",
                            "timestamp": "2026-12-01T09:30:00+09:00",
                            "attributes": {
                                "amount": 4500,
                                "merchant_id": "M-1",
                                "region": "Gangnam-gu",
                            },
                        }
                    ]
                },
            ),
            OpenApiExample(
                "One accepted, one rejected",
                response_only=True,
                status_codes=["200"],
                value={
                    "accepted": 1,
                    "duplicates": 0,
                    "rejected": [
                        {"index": 1, "field": "attributes.amount", "error": "must be a number"}
                    ],
                    "event_ids": ["tx-20261201-000123", None],
                },
            ),
        ],
    )
    def post(self, request: object) -> HttpResponse:  # pragma: no cover - schema only
        raise NotImplementedError


# drf-spectacular documents a URL whose callback has ``cls``; the callback itself stays fast.
events_ingest_view.cls = EventIngestApi  # type: ignore[attr-defined]  # schema hook
events_ingest_view.initkwargs = {}  # type: ignore[attr-defined]  # schema hook
