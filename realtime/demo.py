"""Demo data of event collection: the event types of shared/SCENARIOS.md and a demo source."""

from __future__ import annotations

from django.db import transaction

from realtime.ingest import services
from realtime.models import EventType, Source

DEMO_SOURCE_NAME = "Demo simulator"
SAVINGS_CATEGORIES = ["savings", "installment_savings", "deposit", "housing_subscription"]
PRODUCT_CATEGORIES = [*SAVINGS_CATEGORIES, "loan", "card", "insurance", "fund"]

DEMO_EVENT_TYPES: list[dict[str, object]] = [
    {
        "name": "product_view",
        "description": "A customer opened a product page in the app or on the web.",
        "attributes": [
            {"name": "category", "type": "enum", "values": PRODUCT_CATEGORIES, "required": True},
            {"name": "product_id", "type": "string"},
        ],
    },
    {
        "name": "product_subscribed",
        "description": "A customer signed up for a product.",
        "attributes": [
            {"name": "category", "type": "enum", "values": PRODUCT_CATEGORIES},
            {"name": "product_id", "type": "string"},
        ],
    },
    {
        "name": "screen_view",
        "description": "An app screen was opened.",
        "attributes": [{"name": "screen", "type": "string", "required": True}],
    },
    {
        "name": "yield_inquiry",
        "description": "A customer looked up the yield of a deposit or savings product.",
        "attributes": [{"name": "product_id", "type": "string"}],
    },
    {
        "name": "foreign_remittance",
        "description": "A foreign remittance was started (branch, app or web).",
        "attributes": [
            {
                "name": "channel",
                "type": "enum",
                "values": ["branch", "app", "web"],
                "required": True,
            },
            {"name": "amount", "type": "number"},
            {"name": "currency", "type": "string"},
            {"name": "teller_id", "type": "string"},
        ],
    },
    {
        "name": "card_transaction",
        "description": "A card payment from the card switch.",
        "attributes": [
            {"name": "amount", "type": "number", "required": True},
            {"name": "merchant_id", "type": "string", "required": True},
            {"name": "region", "type": "string"},
        ],
    },
    {
        "name": "branch_visit",
        "description": "A customer visited a branch.",
        "attributes": [{"name": "branch_id", "type": "string"}],
    },
    {
        "name": "survey_answered",
        "description": "A customer answered a satisfaction survey.",
        "attributes": [{"name": "score", "type": "number"}],
    },
    {
        "name": "salary_deposit",
        "description": "A salary arrived on a customer's account.",
        "attributes": [{"name": "amount", "type": "number"}],
    },
    {
        "name": "savings_interest",
        "description": "Derived: the customer shows interest in savings products.",
        "attributes": [],
    },
    {
        "name": "page_view",
        "description": "A web page view from the JavaScript tracker.",
        "attributes": [
            {"name": "url", "type": "string"},
            {"name": "title", "type": "string"},
            {"name": "referrer", "type": "string"},
        ],
    },
    {
        "name": "click",
        "description": "A click on a marked element, from the JavaScript tracker.",
        "attributes": [
            {"name": "element", "type": "string", "required": True},
            {"name": "url", "type": "string"},
        ],
    },
]


@transaction.atomic
def demo_event_types_ensure() -> list[EventType]:
    existing = set(EventType.objects.values_list("name", flat=True))
    created = []
    for definition in DEMO_EVENT_TYPES:
        if definition["name"] in existing:
            continue
        created.append(
            services.event_type_create(
                name=str(definition["name"]),
                description=str(definition["description"]),
                attributes=definition["attributes"],  # type: ignore[arg-type]  # list of dicts
            )
        )
    return created


def demo_source_ensure() -> str | None:
    """Creates the demo source once; returns its key then (None when it already existed)."""
    if Source.objects.filter(name=DEMO_SOURCE_NAME, revoked_at__isnull=True).exists():
        return None
    _, key = services.source_create(name=DEMO_SOURCE_NAME, rate_limit_per_second=1000)
    return key
