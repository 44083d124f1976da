"""``POST /api/v1/events``: the ingest endpoint.

It is a plain Django async view rather than a DRF view: DRF's request wrapping, content
negotiation and serializers cost more per request than the whole batch's validation. DRF still
documents it: ``EventIngestApi`` is attached to the view as ``cls`` so drf-spectacular lists it.
"""

from __future__ import annotations

import orjson
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
from realtime.ingest.services import IngestError

CORS_HEADERS = {
    # Browser trackers post from the bank's own sites; keys for them are public by nature.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "86400",
}


def _json(body: dict[str, object], status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    for name, value in {**CORS_HEADERS, **headers}.items():
        response[name] = value
    return response


def request_key(request: HttpRequest) -> str | None:
    """``Authorization: Bearer <key>``, or ``?key=`` for browsers (a header would need a CORS
    preflight on every page)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.GET.get("key") or None


@csrf_exempt
async def events_ingest_view(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _json({}, 204)
    if request.method != "POST":
        return _json({"error": "Use POST."}, 405, Allow="POST, OPTIONS")
    key = request_key(request)
    if key is None:
        return _json(
            {"error": "An API key is required: Authorization: Bearer <key>."},
            401,
            **{"WWW-Authenticate": "Bearer"},
        )
    source = await services.source_authenticate(key)
    if source is None:
        return _json(
            {"error": "The API key is unknown or revoked."}, 401, **{"WWW-Authenticate": "Bearer"}
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _json({"error": "Content-Length is not a number."}, 400)
    if length > services.MAX_BODY_BYTES:
        return _json(
            {"error": f"The body is larger than {services.MAX_BODY_BYTES} bytes; split the batch."},
            413,
        )
    if not await services.source_rate_limit_allows(source):
        return _json(
            {"error": f"Rate limit of {source.rate_limit_per_second} requests/s exceeded."},
            429,
            **{"Retry-After": "1"},
        )
    try:
        result = await services.events_ingest(body=request.body)
    except IngestError as error:
        return _json(error.to_dict(), error.status)
    return _json(result.to_dict(), 200)


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
