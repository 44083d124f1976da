"""A merchant user reaches its own portal and API only: every other page and API endpoint of the
platform (marketer, analyst, admin) refuses it, whatever the app that added it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from merchants.models import Merchant

#: Reachable by everyone signed in (or no one): not bank data.
PUBLIC = ("login/", "logout/", "i18n/", "healthz", "api/schema/", "api/docs/", "static/",
          "r/", "merchant/welcome/")  # fmt: skip
ALLOWED_FOR_MERCHANTS = ("merchant/", "api/v1/merchant/")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def _concrete(pattern: str) -> str | None:
    """A URL for a pattern: path converters get a plausible value; regex patterns are skipped."""
    if pattern.startswith("^") or "(?P" in pattern:
        return None
    path = re.sub(r"<int:[^>]+>", "1", pattern)
    path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000001", path)
    path = re.sub(r"<(?:str|slug|path):[^>]+>|<[^>:]+>", "x", path)
    return "/" + path


def _bank_urls() -> list[str]:
    urls = []
    for pattern in _patterns(get_resolver()):
        url = _concrete(pattern)
        if url is None or url == "/":
            continue
        if url.lstrip("/").startswith(PUBLIC + ALLOWED_FOR_MERCHANTS):
            continue
        if url.startswith("/admin/"):
            continue  # Django's admin: merchant users are not staff (checked below)
        urls.append(url)
    return sorted(set(urls))


def test_merchant_user_is_refused_on_every_bank_page_and_api(
    merchant_a: Merchant, client_as: Callable[..., Client]
) -> None:
    client = client_as("merchant", merchant=merchant_a)
    urls = _bank_urls()
    assert len(urls) > 10
    leaks: list[str] = []
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code not in (401, 403, 404, 405):
                leaks.append(f"{method.upper()} {url} -> {response.status_code}")
    assert leaks == []
    assert client.get("/admin/").status_code == 302  # to the admin's login: not staff


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
