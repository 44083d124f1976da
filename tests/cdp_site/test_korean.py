"""The user interface in Korean (issue 2): every main page, for its role, with no English left.

The pages are rendered with the demo data (``seed_demo``), so they show what a Korean bank's
marketer, analyst and merchant see: campaigns from the scenarios, dashboards with figures, the
merchant's offer builder. Data values (campaign names, event type names, trait names) are the
bank's own and stay as typed; the UI words around them must be Korean.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

#: English UI words that a Korean page must not show (matched as whole, capitalised words, so
#: lower-case data such as event types and trait names do not count).
ENGLISH_UI_WORDS = (
    "Campaigns", "Campaign", "Save", "Publish", "Dashboard", "Dashboards", "Offers", "Offer",
    "Customers", "Customer", "Events", "Event", "Status", "Name", "Search", "Edit", "Pause",
    "Archive", "Trigger", "Conditions", "Condition", "Limits", "Budget", "Goal", "Revenue",
    "Sent", "Converted", "Triggered", "Workers", "Partitions", "Loading", "Merchant", "Stores",
    "Results", "Discount", "Period", "Title", "Description", "Create", "Approve", "Submit",
    "Versions", "Decisions", "Held", "Action", "Delay", "Priority", "Holdout", "Frequency",
    "Quiet", "When", "Export", "Funnel", "Lift", "Significant", "Variant", "Import", "Profile",
    "Attributes", "Time", "Type", "Engine", "Staff", "Log", "Draft", "Published", "Paused",
    "Live", "Never", "Nothing", "None", "Add", "Remove", "Upload", "Generate", "Preview",
)  # fmt: skip
_WORD = re.compile(r"\b(" + "|".join(ENGLISH_UI_WORDS) + r")\b")
#: Elements whose text is code, data or machinery rather than words for people.
_SKIPPED = {"script", "style", "code", "pre", "textarea", "option", "svg", "title"}


class _VisibleText(HTMLParser):
    """Text a person reads: element text and the attributes browsers show (placeholder, title,
    aria-label, alt), without scripts, code samples and the JSON view of a rule."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED and tag not in ("option", "title"):
            self.skipping.append(tag)
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words(text: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    for value in allowed:
        text = text.replace(value, " ")
    return sorted(set(_WORD.findall(text)))


@pytest.fixture
def demo(db: None) -> dict[str, Any]:
    """The demo data of ``make run``, and the objects the pages below are about."""
    from django.contrib.auth import get_user_model

    from campaigns.demo import demo_campaigns_ensure
    from campaigns.models import Campaign
    from campaigns.offers.demo import demo_offers_ensure
    from cdp_site.demo import demo_users_ensure
    from merchants.demo import demo_merchant_ensure, merchant_event_types_ensure
    from merchants.models import Merchant
    from realtime.demo import demo_event_types_ensure
    from segments.demo import demo_customers_ensure
    from segments.models import Customer

    # seed_demo without the dashboards' history (which takes longer than all the pages together)
    demo_users_ensure()
    demo_event_types_ensure()
    demo_customers_ensure()
    demo_offers_ensure()
    merchant_event_types_ensure()
    demo_merchant_ensure()
    demo_campaigns_ensure()
    users = {user.username: user for user in get_user_model().objects.all()}
    campaign = Campaign.objects.filter(live_version__isnull=False).order_by("pk").first()
    assert campaign is not None
    customer = Customer.objects.order_by("customer_id").first()
    assert customer is not None
    return {
        "users": users,
        "campaign": campaign,
        "merchant": Merchant.objects.order_by("pk").first(),
        "customer_id": customer.customer_id,
        "data": tuple(Campaign.objects.values_list("name", flat=True)),
    }


def _korean_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    return client


def _pages(demo: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(role, what, url, a Korean phrase the page must show)."""
    campaign = demo["campaign"]
    return [
        ("marketer", "campaign list", reverse("campaigns:list"), "새 캠페인"),
        (
            "marketer",
            "designer",
            reverse("campaigns:designer", args=[campaign.pk]),
            "이벤트로 테스트",
        ),
        ("analyst", "dashboards overview", reverse("campaigns:dashboards"), "캠페인 대시보드"),
        (
            "analyst",
            "campaign dashboard",
            reverse("campaigns:dashboard", args=[campaign.pk]),
            "시간별 추이",
        ),
        ("merchant", "merchant portal", reverse("merchants:portal"), "내 매장"),
        ("merchant", "offer builder", reverse("merchants:offer_create"), "고객에게 보이는 내용"),
        ("marketer", "event types", reverse("event-types"), "새 이벤트 유형"),
        ("analyst", "event explorer", reverse("event-explorer"), "실시간 이벤트"),
        (
            "analyst",
            "customer page",
            reverse("segments:customer-detail", args=[demo["customer_id"]]),
            "최근 이벤트",
        ),
        ("marketer", "engine", reverse("engine"), "파티션"),
        ("marketer", "offers list", reverse("campaigns:offer-list"), "새 혜택"),
        (
            "analyst",
            "staff console",
            reverse("campaigns:staff-console", args=["call_centre"]),
            "직원 콘솔",
        ),
    ]


@pytest.mark.django_db
def test_every_main_page_is_korean_for_its_role(demo: dict[str, Any], client: Any) -> None:
    from campaigns.dashboards.demo import demo_dashboards_ensure

    demo_dashboards_ensure()  # decisions and conversions: the dashboards show figures and verdicts
    problems = []
    for role, what, url, phrase in _pages(demo):
        # given a person of the page's role who chose Korean in the switcher
        page_client = _korean_client(client, demo["users"][role])
        # when
        response = page_client.get(url)
        # then
        assert response.status_code == 200, f"{what}: {response.status_code}"
        html = response.content.decode()
        text = visible_text(html)
        if phrase not in text:
            problems.append(f"{what} ({url}): no “{phrase}”")
        left = english_words(text, allowed=demo["data"])
        if left:
            problems.append(f"{what} ({url}): English words {left}")
        assert '<html lang="ko">' in html, what
    assert problems == []


@pytest.mark.django_db
def test_the_designer_summary_flow_and_blocks_are_korean(demo: dict[str, Any], client: Any) -> None:
    # given the demo's scenario 1 campaign (views, age, no sign-up, coupon by push else SMS)
    campaign = demo["campaign"]
    page_client = _korean_client(client, demo["users"]["marketer"])
    # when
    html = page_client.get(reverse("campaigns:designer", args=[campaign.pk])).content.decode()
    # then the plain-language summary, the flow diagram and the block labels read in Korean
    assert "고객에게" in html and "발송" in html
    assert "조건 1" in html
    assert "빈도 제한" in html or "방해 금지 시간" in html
    assert "When a customer has" not in html
    assert "Frequency cap" not in html


@pytest.mark.django_db
def test_english_stays_the_default(demo: dict[str, Any], client: Any) -> None:
    client.force_login(demo["users"]["marketer"])
    html = client.get(reverse("campaigns:list")).content.decode()
    assert '<html lang="en">' in html
    assert "New campaign" in html and "새 캠페인" not in html


@pytest.mark.django_db
def test_merchant_builder_errors_are_korean(demo: dict[str, Any], client: Any) -> None:
    # given a merchant with Korean chosen
    page_client = _korean_client(client, demo["users"]["merchant"])
    # when the offer is saved with no title and a discount beyond the bank's bounds
    start = dt.date.today() + dt.timedelta(days=1)
    response = page_client.post(
        reverse("merchants:offer_create"),
        {
            "title": "",
            "discount_kind": "percent",
            "discount_value": "95",
            "gender": "any",
            "trigger": "card_transaction_in_region",
            "area_kind": "regions",
            "regions": [demo["merchant"].stores.first().region],
            "start_date": start.isoformat(),
            "end_date": (start + dt.timedelta(days=30)).isoformat(),
            "max_coupons": "500",
            "valid_days": "7",
            "then": "save",
        },
    )
    # then the field errors say so in Korean
    text = visible_text(response.content.decode())
    assert "제목: 고객에게 보일 혜택 제목을 입력하세요." in text
    assert "할인: 은행이 허용하는 할인율은" in text
    assert "Title:" not in text and "Discount:" not in text


@pytest.mark.django_db
def test_the_compiled_catalog_has_every_message(settings: Any) -> None:
    """The committed .mo carries every msgid of the .po, none fuzzy or empty (machines without
    gettext use it as it is)."""
    from pathlib import Path

    po = (Path(settings.BASE_DIR) / "locale/ko/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po
    assert not re.search(r'^msgstr(\[0\])? ""\n\n', po + "\n", re.MULTILINE)


@pytest.mark.django_db(transaction=True)
def test_the_language_switcher_reloads_the_page_in_korean(
    live_server: Any, page: Any, make_user: Callable[..., Any]
) -> None:
    # given a marketer signed in through the real form, in English
    make_user("marketer", username="mira")
    page.goto(f"{live_server.url}/login/?next=/campaigns/")
    page.fill("#id_username", "mira")
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/campaigns/")
    assert page.text_content("[data-testid=page-title]") == "Campaigns"
    # when they pick 한국어 in the top bar's switcher
    with page.expect_navigation():
        page.select_option("select[name=language]", "ko")
    # then the same page comes back in Korean, and stays Korean on the next page
    page.wait_for_url(f"{live_server.url}/campaigns/")
    assert page.text_content("[data-testid=page-title]") == "캠페인"
    assert page.get_attribute("html", "lang") == "ko"
    page.goto(f"{live_server.url}/campaigns/offers/")
    assert page.text_content("[data-testid=page-title]") == "혜택"
