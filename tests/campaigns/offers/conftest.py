"""Fixtures for offers and delivery: campaigns, decisions, offers with pools, customer profiles,
and the channel settings pointed at real local servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns.models import Campaign, Decision, Offer
from campaigns.offers import services
from realtime.delivery import backends_reset


@pytest.fixture
def campaign(make_user: Callable[..., Any]) -> Campaign:
    return Campaign.objects.create(name="Viewed but did not sign up", owner=make_user("marketer"))


@pytest.fixture
def make_decision(campaign: Campaign) -> Callable[..., Decision]:
    def create(
        customer_id: str = "c-1",
        *,
        actions: list[dict[str, object]] | None = None,
        outcome: str = "offer",
        reason: str = "",
        explanation: list[dict[str, object]] | None = None,
    ) -> Decision:
        return Decision.objects.create(
            id=uuid.uuid4(),
            campaign=campaign,
            version=1,
            customer_id=customer_id,
            trigger_event_id=f"e-{uuid.uuid4().hex[:8]}",
            outcome=outcome,
            suppression_reason=reason,
            actions=actions if actions is not None else [],
            explanation=explanation or [],
            occurred_at=timezone.now(),
        )

    return create


@pytest.fixture
def make_offer(db: None) -> Callable[..., Offer]:
    def create(slug: str = "savings-signup", *, codes: int = 0, **values: Any) -> Offer:
        defaults: dict[str, Any] = {
            "slug": slug,
            "name": "Savings sign-up coupon",
            "push_title": "A gift for you, {{ customer.first_name }}",
            "push_body": "Open a savings account with code {{ coupon.code }}",
            "sms_body": "[Bank] {{ customer.first_name }}, code {{ coupon.code }} {{ link }}",
            "email_subject": "Your coupon, {{ customer.first_name }}",
            "email_body": "Hello {{ customer.first_name }},\nyour code: {{ coupon.code }}",
            "webhook_payload": {"text": "code {{ coupon.code }}", "who": "{{ customer.id }}"},
            "link_url": "https://bank.example/savings",
            "coupon_value": "10000",
        }
        defaults.update(values)
        offer = services.offer_create(values=defaults)
        if codes:
            services.pool_generate(offer=offer, pattern="SAVE-####-####", count=codes)
        return offer

    return create


@pytest.fixture
def make_customer(db: None) -> Callable[..., Any]:
    from segments.models import Customer

    def create(customer_id: str = "c-1", **traits: Any) -> Any:
        values = {
            "first_name": "Minji",
            "phone": "+821012345678",
            "email": f"{customer_id}@example.com",
            "push_token": f"token-{customer_id}",
        }
        values.update(traits)
        return Customer.objects.update_or_create(
            customer_id=customer_id, defaults={"traits": values}
        )[0]

    return create


@pytest.fixture
def channels(settings: Any) -> Iterator[Callable[..., None]]:
    """``channels(sms=url, push=url, ...)`` points those channels at local servers."""

    def configure(**urls: str) -> None:
        configured = {name: dict(options) for name, options in settings.CDP_CHANNELS.items()}
        for name, url in urls.items():
            configured[name]["URL"] = url
        settings.CDP_CHANNELS = configured
        backends_reset()

    with override_settings(
        CDP_DELIVERY_BACKOFF_BASE_S=0.01,
        CDP_DELIVERY_FALLBACK_AFTER=2,
        CDP_PUBLIC_URL="https://cdp.example",
    ):
        backends_reset()
        yield configure
    backends_reset()


def _send_until_done(delivery_ids: list[int], rounds: int = 10) -> list[Any]:
    from campaigns.offers.delivery import deliveries_send

    outcomes = []
    pending = list(delivery_ids)
    for _ in range(rounds):
        if not pending:
            break
        outcome = deliveries_send(delivery_ids=pending)
        outcomes.append(outcome)
        pending = [i for ids in outcome.retry.values() for i in ids]
    return outcomes


@pytest.fixture
def send_until_done() -> Callable[..., list[Any]]:
    """Runs the send service the way the task and its retries would, in this process."""
    return _send_until_done
