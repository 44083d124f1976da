"""A merchant user reaches its own portal and API only.

That every other page and API endpoint of the platform refuses it, whatever the app that added
it, is checked for every URL pattern and every role in ``tests/cdp_site/test_access_matrix.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from merchants.models import Merchant


def test_merchant_home_leads_to_its_portal(
    merchant_a: Merchant, client_as: Callable[..., Client]
) -> None:
    client = client_as("merchant", merchant=merchant_a)
    assert client.get("/")["Location"] == "/merchant/"


def test_merchant_b_gets_404_guessing_ids_everywhere_in_the_portal(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    client_as: Callable[..., Client], api_as: Callable[..., Any],
) -> None:  # fmt: skip
    offers = [make_offer(merchant_a, status=s) for s in ("draft", "pending", "live")]
    web = client_as("merchant", merchant=merchant_b)
    api = api_as("merchant", merchant=merchant_b)
    for offer in offers:
        for suffix in ("", "edit/", "image/"):
            assert web.get(f"/merchant/offers/{offer.pk}/{suffix}").status_code == 404
        assert api.get(f"/api/v1/merchant/offers/{offer.pk}").status_code == 404
        assert api.get(f"/api/v1/merchant/report?offer={offer.pk}").status_code == 404
    assert api.get("/api/v1/merchant/offers").json()["results"] == []
    csv_body = web.get("/merchant/reports.csv").content.decode()
    assert all(offer.title not in csv_body.split("\n", 1)[1] for offer in offers)
