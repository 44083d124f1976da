"""RELIABILITY.md item 7: every page and endpoint, for every role, with another merchant's
objects → no leak, no server error.

Every URL pattern of the project is enumerated from Django's resolver (a pattern added later is
covered without touching this file, or the test asks for a value for its path parameters). Path
parameters name real objects, those of merchant B wherever an object can belong to a merchant.
Each URL is requested with GET and POST (and PUT, PATCH, DELETE under /api/) by:

- anonymous: the login page (or 401/403 for the API), never an answer with data;
- merchant A: 403/404 on every bank page and API and on every merchant B object; its own portal
  pages work, and no answer anywhere carries merchant B's name or offers;
- analyst: reads, but every write is refused (403/405);
- marketer and admin: anything but a server error.

The partial version of this in ``tests/merchants/test_authorization.py`` (merchant refused on
bank pages) is covered here for every role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

#: Open to everyone, signed in or not (patterns as Django prints them).
PUBLIC = {
    "login/",
    "logout/",
    "i18n/setlang/",
    "healthz",
    "api/schema/",  # the API's description; every operation in it still needs a role
    "api/docs/",
    "merchant/welcome/<str:uidb64>/<str:token>/",  # one-time set-password link
    "r/<str:token>",  # tracked links in offers customers received
}
#: Not a session: ingest takes a source key, receipts a provider's bearer token.
OWN_AUTHENTICATION = {"api/v1/events", "api/v1/deliveries/<int:delivery_id>/receipts"}
#: Bank pages that happen to live under the merchant prefixes (the bank reviews offers there).
BANK_PAGES_UNDER_MERCHANT = ("merchant/review/", "merchant/manage/", "api/v1/merchant/review")
#: POSTs analysts may make: dry runs that change nothing, and ticking off a task on the staff
#: console (the console is built for marketers and analysts alike: campaigns.offers.views).
ANALYST_MAY_POST = {
    "campaigns/<int:pk>/test/",
    "api/v1/campaigns/<int:campaign_id>/test-event",
    "campaigns/console/tasks/<int:task_id>/done/",
}
WRITES = ("post", "put", "patch", "delete")
ROLES = ("anonymous", "merchant_a", "analyst", "marketer", "admin")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def _project_patterns() -> list[str]:
    """Every pattern but Django admin's own (regex patterns; checked by ``_admin_urls``)."""
    return sorted({p for p in _patterns(get_resolver()) if not p.startswith("admin/")})


def _values(world: Any, pattern: str) -> list[dict[str, object]]:
    """Real values for a pattern's parameters; merchant B's objects wherever one fits."""
    offers_b = world.merchant_offers_b
    if pattern.startswith(("merchant/offers/<int:offer_id>", "api/v1/merchant/offers/<int")):
        return [{"offer_id": offer.pk} for offer in offers_b.values()]
    common: dict[str, object] = {
        "pk": world.campaign_b.pk,
        "campaign_id": world.campaign_b.pk,
        "number": 1,
        "tab": "decisions",
        "action": "pause",
        "estimate_id": world.estimate.pk,
        "delivery_id": world.delivery.pk,
        "task_id": world.staff_task.pk,
        "team": "tellers",
        "offer_id": offers_b["live"].offer_id,
        "merchant_id": world.merchant_b.pk,
        "customer_id": world.customer_id,
        "slug": world.template_slug,
        "name": world.event_type,
        "decision": "approve",
        "token": "not-a-real-token",
    }
    if pattern.startswith(("merchant/review/", "api/v1/merchant/review/")):
        common["offer_id"] = offers_b["pending"].pk
    if pattern.startswith("events/sources/"):
        common["pk"] = world.source.pk
    if pattern.startswith("customers/import/"):
        common["pk"] = world.customer_import.pk
    if pattern.startswith("campaigns/deliveries/"):
        common["action"] = "retry"
    return [common]


def _urls(world: Any, pattern: str) -> list[str]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
    if pattern == "merchant/welcome/<str:uidb64>/<str:token>/":
        return [world.welcome_path]
    urls = []
    for values in _values(world, pattern):
        missing = [name for name in names if name not in values]
        assert not missing, f"give {pattern} a real value for {missing} in _values()"
        path = pattern
        for name in names:
            path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
        urls.append("/" + path)
    return urls


def _client(world: Any, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _is_login_redirect(response: Any) -> bool:
    location = response.get("Location", "")
    return response.status_code == 302 and location.startswith(("/login/", "/admin/login/"))


def _problem(
    role: str, pattern: str, method: str, response: Any, body: bytes, mark: bytes
) -> str | None:
    status = response.status_code
    if pattern == "healthz" and status == 503:
        return None  # the probe's "not healthy" (no engine runs in tests), not a failure
    if status >= 500:
        return "server error"
    if pattern in PUBLIC:
        return None
    if role == "anonymous":
        if _is_login_redirect(response) or status in (401, 403, 405):
            return None
        return "anonymous got through"
    if role == "merchant_a":
        if mark in body:
            return "merchant B's data shown to merchant A"
        is_merchant_page = pattern.startswith(("merchant/", "api/v1/merchant/"))
        names_an_object = "<" in pattern
        if pattern == "" and method == "get":
            return None if response.get("Location") == "/merchant/" else "home is not the portal"
        if is_merchant_page and not pattern.startswith(BANK_PAGES_UNDER_MERCHANT):
            if names_an_object and status < 400:
                return "merchant A reached merchant B's object"
            return None
        if status in (403, 404, 405) or (status == 401 and pattern in OWN_AUTHENTICATION):
            return None
        return "merchant reached a bank page"
    if role == "analyst" and method in WRITES and pattern not in ANALYST_MAY_POST:
        if status in (403, 404, 405) or (status == 401 and pattern in OWN_AUTHENTICATION):
            return None
        return "analyst wrote"
    return None


def _admin_urls(world: Any) -> list[str]:
    """The admin's index and, for every registered model, its list, add and change pages."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls += [
            reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
            reverse(f"admin:{meta.app_label}_{meta.model_name}_add"),
        ]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_endpoint_answers_each_role_without_leaking(world: Any, role: str) -> None:
    # given every URL of the project, filled with real objects (merchant B's where they fit)
    patterns = _project_patterns()
    assert len(patterns) > 100
    client = _client(world, role)
    mark = world.merchant_b.name.encode()  # on every merchant B object
    problems: list[str] = []
    requests = answers_with_mark = 0
    # when the role requests each with every method
    for pattern in patterns:
        methods = ("get", "post", *WRITES[1:]) if pattern.startswith("api/") else ("get", "post")
        for url in _urls(world, pattern):
            for method in methods:
                if role != "anonymous":
                    client.force_login(world.users[role])  # a POST to /logout/ ends the session
                response = getattr(client, method)(url)
                requests += 1
                body = _body(response)
                answers_with_mark += mark in body
                problem = _problem(role, pattern, method, response, body, mark)
                if problem is not None:
                    problems.append(f"{role} {method.upper()} {url} -> {response.status_code}: "
                                    f"{problem}")  # fmt: skip
    # then nothing leaked and nothing broke
    assert problems == [], "\n".join(problems)
    assert requests > 250
    if role == "marketer":
        assert answers_with_mark > 10  # the bank sees merchant B: the leak check can see it


@pytest.mark.parametrize("role", ROLES)
def test_only_staff_admins_reach_the_django_admin(world: Any, role: str) -> None:
    client = _client(world, role)
    problems = []
    for url in _admin_urls(world):
        response = client.get(url)
        body = _body(response)
        if response.status_code >= 500:
            problems.append(f"{url} -> server error")
        elif role == "admin":
            continue
        elif not _is_login_redirect(response) or world.merchant_b.name.encode() in body:
            problems.append(f"{role} GET {url} -> {response.status_code}")
    assert problems == []


def test_anonymous_pages_redirect_to_login_keeping_the_address(world: Any) -> None:
    response = Client().get(f"/campaigns/{world.campaign_b.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/campaigns/{world.campaign_b.pk}/"
    api = Client().get(f"/api/v1/campaigns/{world.campaign_b.pk}")
    assert api.status_code in (401, 403)
    assert world.merchant_b.name not in api.content.decode()


#: Form fields the pages and endpoints read, each given text PostgreSQL cannot store.
HOSTILE_FORM_FIELDS = (
    "template", "comment", "name", "description", "title", "message", "slug", "pattern", "codes",
    "spec", "team", "attributes", "customer_id", "type", "event", "days", "against", "username",
    "password", "next", "language", "traits", "count", "expires_at", "low_water_mark",
    "push_title", "sms_body", "discount_value", "regions", "start_date", "end_date",
    "locked_paths", "rate_limit_per_second", "q", "status", "offer", "store", "age_min", "trigger",
)  # fmt: skip
HOSTILE_JSON = '{"comment": "a\\u0000", "name": "\\ud800", "spec": {"a\\u0000": 1}, "traits": []}'


@pytest.mark.parametrize("role", ["marketer", "admin", "merchant_a"])
def test_unstorable_text_in_any_form_or_json_body_is_refused_without_a_server_error(
    world: Any, role: str
) -> None:
    # given every URL, and a user of a role that may write
    client = Client()
    client.raise_request_exception = False
    form = {field: "x\x00y" for field in HOSTILE_FORM_FIELDS}
    server_errors = []
    for pattern in _project_patterns():
        for url in _urls(world, pattern):
            # when it posts NUL characters in every field, then a JSON body with a NUL
            # character and an unpaired surrogate
            for body, content_type in ((form, None), (HOSTILE_JSON, "application/json")):
                client.force_login(world.users[role])
                if content_type is None:
                    response = client.post(url, body)
                else:
                    response = client.post(url, body, content_type=content_type)
                # then each answer is a refusal or a page, never a server error
                if response.status_code >= 500 and pattern != "healthz":
                    server_errors.append(f"{role} POST {url} -> {response.status_code}")
    assert server_errors == []
