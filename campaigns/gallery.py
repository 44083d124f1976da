"""The template gallery: one template per scenario of shared/SCENARIOS.md (three for the chained
inference of scenario 8), kept as rows so an administrator's own templates sit beside them."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.db import transaction

from campaigns.models import CampaignTemplate

SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]


@dataclass(frozen=True)
class GalleryEntry:
    slug: str
    scenario: int
    name: str
    description: str
    spec: dict[str, object]
    locked_paths: tuple[str, ...] = ()


#: Offers the gallery's templates send (created by ``campaigns.demo`` when missing).
GALLERY_OFFERS: dict[str, dict[str, object]] = {
    "savings-signup-coupon": {
        "name": "Savings sign-up coupon",
        "push_title": "A bonus rate for you",
        "push_body": "Open a savings account this week and get +0.5%p.",
        "sms_body": "[Bank] Open a savings account this week and get +0.5%p.",
        "coupon_value": 5000,
    },
    "re-deposit-offer": {
        "name": "Re-deposit offer",
        "sms_body": "[Bank] Your deposit matures soon: re-deposit for a preferential rate.",
        "push_title": "Your deposit matures soon",
        "push_body": "Re-deposit now for a preferential rate.",
        "coupon_value": 0,
    },
    "coffee-10-off": {
        "name": "10% off at Gangnam Coffee",
        "push_title": "10% off coffee nearby",
        "push_body": "Show this coupon at Gangnam Coffee for 10% off.",
        "sms_body": "[Gangnam Coffee] 10% off with your card this month.",
        "coupon_value": 10,
        "is_percent": True,
    },
    "gift-coupon-reminder": {
        "name": "Gift coupon expiry reminder",
        "push_title": "Your gift coupon expires in 7 days",
        "push_body": "Use it before it expires.",
        "sms_body": "[Bank] Your gift coupon expires in 7 days.",
        "coupon_value": 0,
    },
    "branch-survey": {
        "name": "Branch satisfaction survey",
        "sms_body": "[Bank] How was your visit today? Tell us in one minute.",
        "push_title": "How was your visit?",
        "push_body": "Tell us in one minute.",
        "coupon_value": 0,
    },
    "savings-welcome-offer": {
        "name": "Savings welcome offer",
        "push_title": "Your salary could earn more",
        "push_body": "Open a savings account with a welcome rate.",
        "sms_body": "[Bank] Open a savings account with a welcome rate.",
        "coupon_value": 3000,
    },
}


def _savings_view() -> dict[str, object]:
    return {"attr": "category", "op": "in", "value": list(SAVINGS)}


GALLERY: tuple[GalleryEntry, ...] = (
    GalleryEntry(
        slug="viewed-but-did-not-sign-up",
        scenario=1,
        name="Viewed but did not sign up",
        description="Three savings-product views in a day, aged 19 to 55, no sign-up within 7 "
        "minutes: a sign-up coupon by push, else SMS.",
        spec={
            "spec": 1,
            "name": "Viewed but did not sign up",
            "trigger": {"event": "product_view", "where": _savings_view()},
            "conditions": {
                "all": [
                    {
                        "count": {
                            "event": "product_view",
                            "where": _savings_view(),
                            "within": "1d",
                        },
                        "op": ">=",
                        "value": 3,
                    },
                    {"profile": "age", "op": "between", "value": [19, 55]},
                ]
            },
            "unless": {"event": "product_subscribed", "within": "7m"},
            "actions": [{"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"}],
            "guards": {"holdout": 0.1, "cap": {"max": 1, "per": "30d"}, "priority": 50},
            "goal": {"event": "product_subscribed", "within": "7d"},
        },
    ),
    GalleryEntry(
        slug="lost-in-the-app",
        scenario=2,
        name="Lost in the app",
        description="The same screen opened 4 times within 5 minutes: a callback task for the "
        "call centre.",
        spec={
            "spec": 1,
            "name": "Lost in the app",
            "trigger": {"event": "screen_view"},
            "conditions": {
                "all": [
                    {
                        "count": {"event": "screen_view", "within": "5m", "same": ["screen"]},
                        "op": ">=",
                        "value": 4,
                    }
                ]
            },
            "actions": [
                {
                    "notify_staff": {
                        "team": "call_centre",
                        "message": "The customer opened the same screen 4 times in 5 minutes; "
                        "offer help.",
                    }
                }
            ],
            "guards": {"cap": {"max": 1, "per": "1h"}},
        },
    ),
    GalleryEntry(
        slug="maturity-ahead",
        scenario=3,
        name="Maturity ahead",
        description="A yield inquiry with a deposit maturing within 30 days: a callback task and "
        "a re-deposit offer by SMS.",
        spec={
            "spec": 1,
            "name": "Maturity ahead",
            "trigger": {"event": "yield_inquiry"},
            "conditions": {
                "all": [{"profile": "deposit_maturity_date", "op": "within_next", "value": "30d"}]
            },
            "actions": [
                {
                    "notify_staff": {
                        "team": "branch_advisors",
                        "message": "Deposit maturing within 30 days; call about re-depositing.",
                    }
                },
                {"offer": "re-deposit-offer", "channel": "sms"},
            ],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        },
    ),
    GalleryEntry(
        slug="compliance-pop-up",
        scenario=4,
        name="Compliance pop-up",
        description="A foreign remittance at a branch: the anti-money-laundering notice on the "
        "teller's screen.",
        spec={
            "spec": 1,
            "name": "Compliance pop-up",
            "trigger": {
                "event": "foreign_remittance",
                "where": {"attr": "channel", "op": "=", "value": "branch"},
            },
            "actions": [
                {
                    "notify_staff": {
                        "team": "tellers",
                        "message": "Anti-money-laundering check: confirm the purpose of this "
                        "remittance and the customer's identity.",
                    }
                }
            ],
        },
        locked_paths=("actions",),
    ),
    GalleryEntry(
        slug="merchant-offer",
        scenario=5,
        name="Merchant offer (Gangnam coffee)",
        description="Card transactions in Gangnam-gu by customers aged 20 to 39, 1 to 31 December, "
        "at most 500 coupons; a later purchase at the shop is a redemption.",
        spec={
            "spec": 1,
            "name": "Merchant offer (Gangnam coffee)",
            "schedule": {"start": "2026-12-01", "end": "2026-12-31"},
            "trigger": {
                "event": "card_transaction",
                "where": {"attr": "region", "op": "=", "value": "Gangnam-gu"},
            },
            "conditions": {"all": [{"profile": "age", "op": "between", "value": [20, 39]}]},
            "actions": [{"offer": "coffee-10-off", "channel": "push", "fallback": "sms"}],
            "guards": {"budget": {"max_offers": 500}, "cap": {"max": 1, "per": "30d"}},
            "goal": {
                "event": "card_transaction",
                "where": {"attr": "merchant_id", "op": "=", "value": "gangnam-coffee"},
                "within": "30d",
                "revenue": "amount",
            },
        },
        locked_paths=("guards.budget",),
    ),
    GalleryEntry(
        slug="coupon-about-to-expire",
        scenario=6,
        name="Coupon about to expire",
        description="Seven days before a gifted coupon expires, a reminder, once.",
        spec={
            "spec": 1,
            "name": "Coupon about to expire",
            "trigger": {"date": "gift_coupon_expiry", "offset": "-7d"},
            "actions": [{"offer": "gift-coupon-reminder", "channel": "push", "fallback": "sms"}],
        },
    ),
    GalleryEntry(
        slug="after-the-branch-visit",
        scenario=7,
        name="After the branch visit",
        description="A satisfaction survey 30 minutes after a branch visit, unless the customer "
        "answered one this month.",
        spec={
            "spec": 1,
            "name": "After the branch visit",
            "trigger": {"event": "branch_visit"},
            "delay": "30m",
            "conditions": {
                "all": [
                    {
                        "not": {
                            "count": {"event": "survey_answered", "within": "30d"},
                            "op": ">=",
                            "value": 1,
                        }
                    }
                ]
            },
            "actions": [{"offer": "branch-survey", "channel": "sms"}],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        },
    ),
    GalleryEntry(
        slug="chained-inference-a",
        scenario=8,
        name="Chained inference A: savings interest",
        description="Three savings views in a week set interest = savings and emit "
        "savings_interest.",
        spec={
            "spec": 1,
            "name": "Chained inference A: savings interest",
            "trigger": {"event": "product_view", "where": _savings_view()},
            "conditions": {
                "all": [
                    {
                        "count": {
                            "event": "product_view",
                            "where": _savings_view(),
                            "within": "7d",
                        },
                        "op": ">=",
                        "value": 3,
                    }
                ]
            },
            "actions": [
                {"set_profile": {"interest": "savings"}},
                {"emit": {"event": "savings_interest"}},
            ],
            "guards": {"cap": {"max": 1, "per": "7d"}},
        },
    ),
    GalleryEntry(
        slug="chained-inference-b",
        scenario=8,
        name="Chained inference B: interest with a salary",
        description="On savings_interest, with a salary deposit in the last 30 days: the "
        "savings offer.",
        spec={
            "spec": 1,
            "name": "Chained inference B: interest with a salary",
            "trigger": {"event": "savings_interest"},
            "conditions": {
                "all": [
                    {
                        "count": {"event": "salary_deposit", "within": "30d"},
                        "op": ">=",
                        "value": 1,
                    }
                ]
            },
            "actions": [{"offer": "savings-welcome-offer", "channel": "push"}],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        },
    ),
    GalleryEntry(
        slug="chained-inference-c",
        scenario=8,
        name="Chained inference C: salary with interest",
        description="On a salary deposit, when interest = savings: the same savings offer.",
        spec={
            "spec": 1,
            "name": "Chained inference C: salary with interest",
            "trigger": {"event": "salary_deposit"},
            "conditions": {"all": [{"profile": "interest", "op": "=", "value": "savings"}]},
            "actions": [{"offer": "savings-welcome-offer", "channel": "push"}],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        },
    ),
)


def gallery_entry(slug: str) -> GalleryEntry | None:
    return next((entry for entry in GALLERY if entry.slug == slug), None)


@transaction.atomic
def gallery_ensure() -> list[CampaignTemplate]:
    """Make sure every built-in template has its row (created once; admins may edit them)."""
    existing = set(CampaignTemplate.objects.values_list("slug", flat=True))
    created = []
    for entry in GALLERY:
        if entry.slug in existing:
            continue
        created.append(
            CampaignTemplate.objects.create(
                slug=entry.slug,
                name=entry.name,
                description=entry.description,
                scenario=entry.scenario,
                spec=copy.deepcopy(entry.spec),
                locked_paths=list(entry.locked_paths),
            )
        )
    return created


def gallery_offers_ensure() -> None:
    """The offers the templates send, so a template compiles on a fresh install."""
    from campaigns.models import Offer

    for slug, fields in GALLERY_OFFERS.items():
        Offer.objects.get_or_create(slug=slug, defaults=fields)
