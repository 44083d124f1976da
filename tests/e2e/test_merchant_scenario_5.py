"""Scenario 5 end to end in real Chromium, on the platform's own processes.

uvicorn serves ``cdp_site.asgi:application`` on the test database; a ``run_engine`` worker,
``run_dispatcher``, a Celery worker and ``run_archiver`` run beside it on this test's Redis key
prefix, and a local HTTP server plays the push provider. The merchant builds the offer in the
portal by clicking and typing, a marketer approves it on the review page, the card switch sends
transactions through ``POST /api/v1/events``: the eligible customer gets the coupon (a code from
the offer's pool, by push), a customer too old and one in another region get nothing; the
eligible customer's later transaction at the merchant is the redemption, and the merchant's
report page shows the counts, the revenue and the store, and no customer; another merchant's
report shows none of it.

The bank's minimum group size for merchant figures is 50; three customers take part here, so
``CDP_MERCHANT_MIN_GROUP_SIZE`` is 1, for the processes (environment) and for this one (settings).
The offer runs from today to 31 December: ingest refuses events more than five minutes ahead, so
the period must include now.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 2
PASSWORD = "correct horse 9"

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Platform:
    """The platform's processes on the test database, this test's key prefix and queue."""

    def __init__(self, environment: dict[str, str], folder: Path, queue: str) -> None:
        self.environment = environment
        self.folder = folder
        self.queue = queue
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, extra_environment: dict[str, str]) -> None:
        commands = {
            "web": ["-m", "uvicorn", "cdp_site.asgi:application", "--host", "127.0.0.1",
                    "--port", str(self.port), "--no-access-log"],
            "engine": ["manage.py", "run_engine", "--worker-id", "m5"],
            "dispatcher": ["manage.py", "run_dispatcher"],
            "archiver": ["manage.py", "run_archiver"],
            "worker": ["-m", "celery", "-A", "cdp_site", "worker", "--loglevel", "WARNING",
                       "--pool", "solo", "--queues", self.queue, "--without-gossip",
                       "--without-mingle", "--hostname", f"m5-{uuid.uuid4().hex[:6]}@%h"],
        }  # fmt: skip
        for name, command in commands.items():
            self.running[name] = subprocess.Popen(
                [sys.executable, *command],
                cwd=ROOT,
                env={**self.environment, **extra_environment},
                stdout=(self.folder / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, 30, "uvicorn listening")

    def request(self, method: str, path: str, body: object, authorization: str) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=orjson.dumps(body),
            headers={"Authorization": authorization, "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 201), response.read()
            return orjson.loads(response.read())

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name in self.running
        )

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def platform(
    transactional_db: None, settings: Any, redis_key_prefix: str, tmp_path: Path
) -> Iterator[Platform]:
    from django.db import connection

    from realtime.streams import redis_client

    settings.CDP_PARTITIONS = PARTITIONS
    database = connection.settings_dict
    credentials = database["USER"] + (
        f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    )
    queue = f"test-{redis_key_prefix.rstrip(':')}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cdp_site.settings.test",
        "DATABASE_URL": (
            f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CDP_KEY_PREFIX": redis_key_prefix,
        "CDP_PARTITIONS": str(PARTITIONS),
        "CDP_CELERY_QUEUE": queue,
        "CDP_DELIVERY_BACKOFF_BASE_S": "0.05",
    }
    running = Platform(environment, tmp_path, queue)
    try:
        yield running
    finally:
        running.stop()
        redis_client().delete(queue)


def engine_ready() -> bool:
    """The worker owns every partition and has loaded the latest set of live campaigns."""
    from realtime.live import keys
    from realtime.streams import redis_client

    client = redis_client()
    if not all(client.mget([keys.lease(p) for p in range(PARTITIONS)])):
        return False
    version = int(client.get(keys.campaigns_version()) or 0)
    workers = [orjson.loads(value) for value in client.hvals(keys.workers())]
    return any(worker["plan_version"] >= version for worker in workers)


def streams_done() -> bool:
    """Every event on every partition was read by the engine's group and acknowledged (after
    its decisions were committed)."""
    from realtime.live import keys
    from realtime.streams import event_stream_key, group_lag, redis_client

    client = redis_client()
    for partition in range(PARTITIONS):
        stream = event_stream_key(partition)
        groups = client.xinfo_groups(stream)
        group = next(g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode()))
        if group_lag(client, stream, group) != 0 or group["pending"] != 0:
            return False
    return True


def archived(event_id: str) -> bool:
    """The archiver copied the event into PostgreSQL (where the report finds its store)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM realtime_event_archive WHERE event_id = %s", [event_id])
        return cursor.fetchone() is not None


def log_in(page: Any, base_url: str, username: str, then: str) -> None:
    page.goto(f"{base_url}{then}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_merchant_offer_built_approved_triggered_redeemed_and_reported(
    platform: Platform, browser: Any, make_user: Any, settings: Any, httpserver: Any
) -> None:
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from campaigns.models import Conversion, Coupon, Decision, Delivery
    from merchants import services
    from merchants.demo import merchant_event_types_ensure
    from merchants.models import MerchantOffer
    from merchants.tasks import merchant_coupons_redeem_task
    from realtime.demo import demo_event_types_ensure
    from realtime.ingest import services as ingest

    # given a coffee shop in Gangnam-gu with its user, another shop, a marketer, the card switch
    # as an ingest source, a profile system with an API token, and a push provider
    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 1
    demo_event_types_ensure()
    merchant_event_types_ensure()
    merchant = services.merchant_create(name="Gangnam Coffee", business_category="cafe")
    store = services.store_create(merchant=merchant, name="Yeoksam", region="Gangnam-gu",
                                  latitude="37.500622", longitude="127.036456")  # fmt: skip
    other = services.merchant_create(name="Mapo Bakery", business_category="bakery")
    make_user("merchant", username="barista", merchant=merchant)
    make_user("merchant", username="baker", merchant=other)
    make_user("marketer", username="mira")
    profiles_token = Token.objects.create(user=make_user("admin")).key
    _, source_key = ingest.source_create(name="card switch")
    httpserver.expect_request("/push", method="POST").respond_with_json(
        {"name": "projects/bank/messages/1"}
    )
    platform.start(
        {"CDP_MERCHANT_MIN_GROUP_SIZE": "1", "CDP_PUSH_URL": httpserver.url_for("/push")}
    )

    # three customers' profiles through the profile API: only the first is in the audience
    customers = {
        "cust-eligible": {"age": 25, "region": "Gangnam-gu"},
        "cust-too-old": {"age": 60, "region": "Gangnam-gu"},
        "cust-elsewhere": {"age": 30, "region": "Mapo-gu"},
    }
    for customer_id, traits in customers.items():
        platform.request(
            "PUT",
            f"/api/v1/customers/{customer_id}",
            {"traits": {**traits, "first_name": "Minji", "push_token": f"token-{customer_id}"}},
            f"Token {profiles_token}",
        )

    # the merchant builds the offer in the portal by clicking and typing, and submits it
    today = timezone.localdate()
    start, end = today.isoformat(), dt.date(today.year, 12, 31).isoformat()
    shop = browser.new_context(locale="en-US").new_page()
    shop.set_default_timeout(15_000)
    log_in(shop, platform.base_url, "barista", "/merchant/")
    shop.click("[data-testid=new-offer]")
    shop.fill("#id_title", "10% off")
    shop.fill("#id_description", "Any drink, any size.")
    shop.check("input[name=discount_kind][value=percent]")
    shop.fill("#id_discount_value", "10")
    shop.fill("#id_age_min", "20")
    shop.fill("#id_age_max", "39")
    shop.check("input[name=trigger][value=card_transaction_in_region]")
    shop.check("input[name=regions][value=Gangnam-gu]")
    # the live estimate: of the three, one customer is aged 20-39 in Gangnam-gu
    shop.wait_for_selector("[data-testid=reach-value]:text-is('1')")
    shop.fill("#id_start_date", start)
    shop.fill("#id_end_date", end)
    shop.fill("#id_max_coupons", "500")
    shop.click("[data-testid=save-submit]")
    shop.wait_for_selector("[data-testid=offer-status]:has-text('Waiting')")
    offer = MerchantOffer.objects.get(merchant=merchant)
    assert (offer.status, offer.age_min, offer.age_max) == ("pending", 20, 39)
    assert (offer.start_date.isoformat(), offer.end_date.isoformat()) == (start, end)

    # a marketer approves it on the review page (a browser of its own)
    bank = browser.new_context(locale="en-US").new_page()
    bank.set_default_timeout(15_000)
    log_in(bank, platform.base_url, "mira", "/merchant/review/")
    bank.click("[data-testid=pending-offers] >> text=10% off")
    bank.fill("#id_comment", "Approved for December.")
    bank.click("[data-testid=approve]")
    bank.wait_for_selector("[data-testid=offer-status]:has-text('Live')")
    bank.context.close()
    offer.refresh_from_db()
    campaign = offer.campaign
    assert (offer.status, campaign.status, campaign.merchant_id) == (
        "live", "published", merchant.pk
    )  # fmt: skip

    # the engine worker picked the new campaign up
    wait_until(engine_ready, 30, "engine owns its partitions and runs the offer")

    # card transactions from the card switch: in Gangnam-gu at another shop, and in Mapo-gu
    def transaction(event_id: str, customer_id: str, amount: int, at: Any, region: str) -> dict:
        attributes = {"amount": amount, "merchant_id": str(at.pk), "region": region}
        if at == merchant:
            attributes["store_id"] = str(store.pk)
        return {"event_id": event_id, "type": "card_transaction", "customer_id": customer_id,
                "timestamp": time.time(), "attributes": attributes}  # fmt: skip

    def send(*events: dict) -> None:
        body = platform.request("POST", "/api/v1/events", {"events": list(events)},
                                f"Bearer {source_key}")  # fmt: skip
        assert not body["rejected"], body

    send(
        transaction("tx-1", "cust-eligible", 4500, other, "Gangnam-gu"),
        transaction("tx-2", "cust-too-old", 9000, other, "Gangnam-gu"),
        transaction("tx-3", "cust-elsewhere", 3000, other, "Mapo-gu"),
    )

    # the eligible customer gets the coupon: the decision, a code from the offer's pool, a push
    decision = wait_until(
        lambda: Decision.objects.filter(campaign=campaign).first(), 20, "the coupon decision"
    )
    assert (decision.customer_id, decision.outcome, decision.trigger_event_id) == (
        "cust-eligible", "offer", "tx-1"
    )  # fmt: skip
    delivery = wait_until(
        lambda: Delivery.objects.filter(decision=decision, status="sent").first(),
        20,
        "the coupon sent by push\n" + platform.logs(),
    )
    coupon = Coupon.objects.get(decision=decision)
    assert (coupon.status, coupon.pool.offer_id, delivery.coupon_id) == (
        "issued", offer.offer_id, coupon.pk
    )  # fmt: skip
    pushes = [orjson.loads(request.data)["message"] for request, _ in httpserver.log]
    assert [push["token"] for push in pushes] == ["token-cust-eligible"]
    assert coupon.code in pushes[0]["notification"]["body"]
    # nobody else: the worker has read and committed every event, and decided nothing more
    wait_until(streams_done, 10, "every event read and committed")
    assert Decision.objects.filter(campaign=campaign).count() == 1

    # a later card transaction at the merchant's store is the redemption, with its revenue
    send(transaction("tx-4", "cust-eligible", 12000, merchant, "Gangnam-gu"))
    conversion = wait_until(
        lambda: Conversion.objects.filter(campaign=campaign).first(), 20, "the redemption"
    )
    assert (conversion.decision_id, conversion.event_id, conversion.revenue) == (
        decision.pk, "tx-4", 12000
    )  # fmt: skip
    wait_until(lambda: archived("tx-4"), 20, "the transaction archived")
    # beat's minutely redemption task, sent to the worker now rather than in a minute
    merchant_coupons_redeem_task.apply_async(queue=platform.queue)
    wait_until(
        lambda: Coupon.objects.filter(pk=coupon.pk, status="redeemed").exists(),
        20,
        "the coupon marked redeemed",
    )
    # that transaction is in Gangnam-gu too: it triggers again, and the offer's limit of one
    # coupon per customer holds
    wait_until(streams_done, 10, "every event read and committed")
    again = Decision.objects.exclude(pk=decision.pk).get(campaign=campaign)
    assert (again.trigger_event_id, again.outcome, again.suppression_reason) == (
        "tx-4", "suppressed", "offer_limit"
    )  # fmt: skip
    assert (
        Coupon.objects.filter(pool__offer_id=offer.offer_id).exclude(status="available").count()
        == 1
    )

    # the merchant's report page: issued, redeemed, revenue, the discount's cost; no customer
    shop.goto(f"{platform.base_url}/merchant/reports/")
    row = shop.locator(f"[data-testid=report-row-{offer.pk}] td")
    assert row.all_text_contents() == [
        "10% off", "Live", "1", "1", "100%", "12000", "1200", "—"
    ]  # fmt: skip
    assert shop.text_content("[data-testid=total-issued]") == "1"
    assert shop.text_content("[data-testid=total-redeemed]") == "1"
    assert shop.text_content("[data-testid=total-revenue]") == "12000"
    # by store: the store id the card switch sent with the transaction (from the event archive)
    stores = shop.locator("[data-testid=report-stores] tbody td")
    assert stores.all_text_contents() == ["Yeoksam", "1", "12000"]
    page_text = shop.content()
    for customer_id in customers:
        assert customer_id not in page_text
    assert "Minji" not in page_text and "token-" not in page_text
    shop.context.close()

    # another merchant's report shows none of it
    baker = browser.new_context(locale="en-US").new_page()
    log_in(baker, platform.base_url, "baker", "/merchant/reports/")
    baker.wait_for_selector("[data-testid=report-offers]:has-text('No live offers yet.')")
    assert "12000" not in baker.content()
    baker.context.close()
