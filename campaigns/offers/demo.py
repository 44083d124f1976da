"""Demo offers and coupon pools for ``make run`` (idempotent: a second run changes nothing)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.models import Coupon, Offer
from campaigns.offers import services
from merchants.models import Merchant

DEMO_OFFERS: list[dict[str, object]] = [
    {
        "slug": "savings-signup-coupon",
        "name": "Savings sign-up coupon",
        "description": "Scenario 1: for customers who viewed savings products but did not sign up.",
        "push_title": "{{ customer.first_name }}, a gift for your new savings",
        "push_body": "Sign up this week with code {{ coupon.code }} for {{ coupon.value }} extra.",
        "sms_body": "[CDP Bank] {{ customer.first_name }}, open a savings account with code "
        "{{ coupon.code }} (until {{ coupon.expires_at }}): {{ link }}",
        "email_subject": "A savings bonus for you, {{ customer.first_name }}",
        "email_body": "Hello {{ customer.first_name }},\n\nUse {{ coupon.code }} when you sign "
        "up: {{ link }}",
        "link_url": "https://bank.example/savings/signup",
        "coupon_value": "10000",
        "coupon_currency": "KRW",
        "per_customer_limit": 1,
        "_pool": ("SAVE-####-####", 500),
    },
    {
        "slug": "re-deposit-offer",
        "name": "Re-deposit offer",
        "description": "Scenario 3: deposit maturing soon and a yield inquiry.",
        "sms_body": "[CDP Bank] {{ customer.first_name }}, your deposit matures soon. Re-deposit "
        "now for +0.3%p: {{ link }}",
        "push_title": "Your deposit matures soon",
        "push_body": "Re-deposit for +0.3%p: {{ link }}",
        "link_url": "https://bank.example/deposits/renew",
        "per_customer_limit": 2,
    },
    {
        "slug": "branch-survey",
        "name": "Branch visit survey",
        "description": "Scenario 7: a satisfaction survey 30 minutes after a branch visit.",
        "sms_body": "[CDP Bank] Thank you for visiting us today. Two questions: {{ link }}",
        "push_title": "How was your visit?",
        "push_body": "Two questions, one minute: {{ link }}",
        "link_url": "https://bank.example/survey/branch",
        "per_customer_limit": 12,
    },
    {
        "slug": "coffee-10-off",
        "name": "Gangnam Coffee 10% off",
        "description": "Scenario 5: the merchant's offer for customers aged 20-39 in Gangnam-gu.",
        "push_title": "10% off at Gangnam Coffee",
        "push_body": "Show code {{ coupon.code }} at the counter (until {{ coupon.expires_at }}).",
        "sms_body": "[Gangnam Coffee] 10% off with code {{ coupon.code }} until "
        "{{ coupon.expires_at }}",
        "coupon_value": "10",
        "is_percent": True,
        "per_customer_limit": 1,
        "_merchant": "Gangnam Coffee",
        "_pool": ("CAFE-????-##", 500),
    },
]


@transaction.atomic
def demo_offers_ensure() -> list[Offer]:
    offers: list[Offer] = []
    expires_at = timezone.now() + timedelta(days=60)
    for spec in DEMO_OFFERS:
        values = {name: value for name, value in spec.items() if not name.startswith("_")}
        offer = Offer.objects.filter(slug=values["slug"]).first()
        if offer is None:
            merchant_name = spec.get("_merchant")
            merchant = (
                Merchant.objects.filter(name=str(merchant_name)).first() if merchant_name else None
            )
            offer = services.offer_create(values=values, merchant=merchant)
        pool = spec.get("_pool")
        if isinstance(pool, tuple) and not Coupon.objects.filter(pool__offer=offer).exists():
            pattern, count = pool
            services.pool_generate(
                offer=offer, pattern=pattern, count=count, expires_at=expires_at, low_water_mark=50
            )
        offers.append(offer)
    return offers
