"""Scenario 5 in real Chromium: a merchant designs the offer by clicking, a marketer approves
it, and the campaign is published (with the merchant set, through the campaign services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def next_december() -> tuple[str, str]:
    today = dt.date.today()
    year = today.year if today < dt.date(today.year, 12, 1) else today.year + 1
    return f"{year}-12-01", f"{year}-12-31"


def log_in(page: Any, base: str, username: str, then: str) -> None:
    page.goto(f"{base}{then}")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")


def test_merchant_designs_scenario_5_marketer_approves_campaign_is_published(
    live_server: Any, browser: Any, make_user: Any, settings: Any
) -> None:
    from campaigns.models import CampaignStatus
    from merchants import services
    from merchants.models import MerchantOffer
    from segments.models import Customer

    # given a coffee shop in Gangnam-gu, its user, a marketer, and 60 customers aged 25 there
    merchant = services.merchant_create(name="Gangnam Coffee", business_category="cafe")
    services.store_create(merchant=merchant, name="Yeoksam", region="Gangnam-gu",
                          latitude="37.500622", longitude="127.036456")  # fmt: skip
    make_user("merchant", username="barista", merchant=merchant)
    make_user("marketer", username="mira")
    Customer.objects.bulk_create(
        [Customer(customer_id=f"g{n}", traits={"age": 25, "region": "Gangnam-gu"})
         for n in range(60)]
    )  # fmt: skip
    start, end = next_december()

    # the merchant designs the offer by clicking and typing
    merchant_view = browser.new_context(locale="en-US").new_page()
    merchant_view.set_default_timeout(10_000)
    log_in(merchant_view, live_server.url, "barista", "/merchant/")
    assert "navbar-merchant" in merchant_view.get_attribute("nav", "class")
    merchant_view.click("[data-testid=new-offer]")
    merchant_view.fill("#id_title", "10% off")
    merchant_view.fill("#id_description", "Any drink, any size.")
    merchant_view.check("input[name=discount_kind][value=percent]")
    merchant_view.fill("#id_discount_value", "10")
    merchant_view.fill("#id_age_min", "20")
    merchant_view.fill("#id_age_max", "39")
    merchant_view.check("input[name=trigger][value=card_transaction_in_region]")
    merchant_view.check("input[name=regions][value=Gangnam-gu]")
    # the live estimate follows the edits (htmx): 60 customers aged 20-39 live there
    merchant_view.wait_for_selector("[data-testid=reach-value]:has-text('60')")
    merchant_view.fill("#id_age_max", "24")
    merchant_view.wait_for_selector("[data-testid=reach-value]:has-text('fewer than 50')")
    merchant_view.fill("#id_age_max", "39")
    merchant_view.wait_for_selector("[data-testid=reach-value]:has-text('60')")
    merchant_view.fill("#id_start_date", start)
    merchant_view.fill("#id_end_date", end)
    merchant_view.fill("#id_max_coupons", "500")
    # an out-of-bounds discount is refused, naming the field
    merchant_view.fill("#id_discount_value", "80")
    merchant_view.click("[data-testid=save-submit]")
    error = merchant_view.text_content("[data-testid=error-discount_value]")
    assert "5% to 50% off; you entered 80%" in error
    assert MerchantOffer.objects.count() == 0
    merchant_view.fill("#id_discount_value", "10")
    merchant_view.click("[data-testid=save-submit]")
    merchant_view.wait_for_selector("[data-testid=offer-status]:has-text('Waiting')")
    offer = MerchantOffer.objects.get()
    assert (offer.status, offer.regions, offer.max_coupons) == ("pending", ["Gangnam-gu"], 500)
    assert merchant_view.locator("[data-testid=pause-offer]").count() == 0

    # a marketer approves it
    marketer_view = browser.new_context(locale="en-US").new_page()
    marketer_view.set_default_timeout(15_000)
    log_in(marketer_view, live_server.url, "mira", "/merchant/review/")
    marketer_view.click("[data-testid=pending-offers] >> text=10% off")
    assert "Gangnam Coffee" in marketer_view.text_content("main")
    marketer_view.fill("#id_comment", "Approved for December.")
    marketer_view.click("[data-testid=approve]")
    marketer_view.wait_for_selector("[data-testid=offer-status]:has-text('Live')")

    # the campaign is published, with the merchant set and scenario 5's spec
    offer.refresh_from_db()
    campaign = offer.campaign
    assert campaign.status == CampaignStatus.PUBLISHED
    assert campaign.merchant_id == merchant.pk
    spec = campaign.live_version.spec
    assert spec["trigger"] == {
        "event": "card_transaction",
        "where": {"attr": "region", "op": "=", "value": "Gangnam-gu"},
    }
    assert spec["conditions"] == {"all": [{"profile": "age", "op": "between", "value": [20, 39]}]}
    assert spec["schedule"] == {"start": start, "end": end}
    assert spec["guards"]["budget"] == {"max_offers": 500}
    assert spec["goal"]["revenue"] == "amount"

    # the merchant sees it live, with the bank's decision in its history, and can pause it
    merchant_view.reload()
    assert merchant_view.text_content("[data-testid=offer-status]") == "Live"
    assert "Approved for December." in merchant_view.text_content("[data-testid=offer-events]")
    merchant_view.click("[data-testid=pause-offer]")
    merchant_view.wait_for_selector("[data-testid=offer-status]:has-text('Paused')")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    merchant_view.context.close()
    marketer_view.context.close()
