"""The delivery pipeline's services, against real PostgreSQL and Redis and local servers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaigns.models import Coupon, Delivery, DeliveryStatus, StaffTask
from campaigns.offers.delivery import deliveries_create, deliveries_send

OFFER_ACTION = {"offer": "savings-signup", "channel": "push", "fallback": "sms"}


def test_push_failing_falls_back_to_one_sms_with_a_unique_coupon(
    httpserver: HTTPServer,
    channels: Any,
    make_offer: Any,
    make_decision: Any,
    make_customer: Any,
    send_until_done: Any,
) -> None:
    # given push answers 500 every time and SMS works
    make_offer(codes=20)
    make_customer("c-1")
    httpserver.expect_request("/push", method="POST").respond_with_data("down", status=500)
    httpserver.expect_request("/sms", method="POST").respond_with_json({"sid": "SM1"})
    channels(push=httpserver.url_for("/push"), sms=httpserver.url_for("/sms"))
    decision = make_decision("c-1", actions=[OFFER_ACTION])

    # when
    ids = deliveries_create(decision_ids=[str(decision.id)])
    send_until_done(ids)

    # then: two push tries (the fallback threshold), then exactly one SMS
    paths = [request.path for request, _ in httpserver.log]
    assert paths == ["/push", "/push", "/sms"]
    delivery = Delivery.objects.get(pk=ids[0])
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.channel == "sms"
    assert delivery.provider_message_id == "SM1"
    sms = httpserver.log[-1][0].form
    code = delivery.coupon.code
    assert sms["To"] == "+821012345678"
    assert sms["Body"] == f"[Bank] Minji, code {code} https://cdp.example/r/{delivery.link_token}"
    assert Coupon.objects.filter(code=code, status="issued", issued_to="c-1").count() == 1


def test_the_same_batch_sent_twice_sends_once(
    httpserver: HTTPServer, channels: Any, make_offer: Any, make_decision: Any, make_customer: Any
) -> None:
    make_offer(codes=5)
    make_customer("c-1")
    httpserver.expect_request("/sms").respond_with_json({"sid": "SM1"})
    channels(sms=httpserver.url_for("/sms"))
    decision = make_decision("c-1", actions=[{"offer": "savings-signup", "channel": "sms"}])
    ids = deliveries_create(decision_ids=[str(decision.id)])

    first = deliveries_send(delivery_ids=ids)
    second = deliveries_send(delivery_ids=ids)

    assert first.sent == ids
    assert second.sent == [] and second.skipped == ids
    assert len(httpserver.log) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_tasks_send_once(
    httpserver: HTTPServer, channels: Any, make_offer: Any, make_decision: Any, make_customer: Any
) -> None:
    # given a slow provider, and eight workers handed the same deliveries at once
    make_offer(codes=50)
    decisions = [
        make_decision(f"c-{n}", actions=[{"offer": "savings-signup", "channel": "sms"}])
        for n in range(10)
    ]
    for n in range(10):
        make_customer(f"c-{n}")

    def slow(request: Request) -> Response:
        threading.Event().wait(0.05)
        return Response('{"sid": "x"}', content_type="application/json")

    httpserver.expect_request("/sms").respond_with_handler(slow)
    channels(sms=httpserver.url_for("/sms"))
    ids = deliveries_create(decision_ids=[str(d.id) for d in decisions])

    def worker() -> None:
        try:
            deliveries_send(delivery_ids=ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then each delivery reached the provider exactly once, with its own code
    assert len(httpserver.log) == 10
    bodies = [request.form["Body"] for request, _ in httpserver.log]
    assert len(set(bodies)) == 10
    assert Delivery.objects.filter(pk__in=ids, status="sent").count() == 10
    assert Coupon.objects.filter(status="issued").count() == 10


def test_per_customer_limit_is_shared_across_campaigns(
    httpserver: HTTPServer, channels: Any, make_offer: Any, make_decision: Any, make_customer: Any
) -> None:
    make_offer(codes=5, per_customer_limit=1)
    make_customer("c-1")
    httpserver.expect_request("/sms").respond_with_json({"sid": "x"})
    channels(sms=httpserver.url_for("/sms"))
    action = [{"offer": "savings-signup", "channel": "sms"}]
    first, second = make_decision("c-1", actions=action), make_decision("c-1", actions=action)

    ids = deliveries_create(decision_ids=[str(first.id), str(second.id)])
    outcome = deliveries_send(delivery_ids=ids)

    assert len(outcome.sent) == 1 and len(outcome.suppressed) == 1
    suppressed = Delivery.objects.get(pk=outcome.suppressed[0])
    assert (suppressed.status, suppressed.reason) == ("suppressed", "offer_limit")
    assert len(httpserver.log) == 1


def test_empty_pool_suppresses_and_alerts_the_marketers(
    httpserver: HTTPServer, channels: Any, make_offer: Any, make_decision: Any, make_customer: Any
) -> None:
    make_offer(codes=1)
    for n in range(3):
        make_customer(f"c-{n}")
    httpserver.expect_request("/sms").respond_with_json({"sid": "x"})
    channels(sms=httpserver.url_for("/sms"))
    decisions = [
        make_decision(f"c-{n}", actions=[{"offer": "savings-signup", "channel": "sms"}])
        for n in range(3)
    ]

    ids = deliveries_create(decision_ids=[str(d.id) for d in decisions])
    outcome = deliveries_send(delivery_ids=ids)

    assert len(outcome.sent) == 1
    assert len(httpserver.log) == 1
    reasons = set(
        Delivery.objects.filter(pk__in=outcome.suppressed).values_list("reason", flat=True)
    )
    assert reasons == {"coupons exhausted"}
    alert = StaffTask.objects.get(team="marketing")
    assert "coupons exhausted" in alert.message


def test_held_out_and_suppressed_decisions_get_a_status_and_send_nothing(
    httpserver: HTTPServer, channels: Any, make_offer: Any, make_decision: Any
) -> None:
    make_offer(codes=2)
    channels(sms=httpserver.url_for("/sms"))
    held = make_decision("c-1", outcome="held_out", actions=[OFFER_ACTION])
    capped = make_decision("c-2", outcome="suppressed", reason="cap")

    ids = deliveries_create(decision_ids=[str(held.id), str(capped.id)])

    assert ids == []
    statuses = dict(Delivery.objects.values_list("customer_id", "status"))
    assert statuses == {"c-1": "held_out", "c-2": "suppressed"}
    assert Delivery.objects.get(customer_id="c-2").reason == "cap"
    assert httpserver.log == []
    assert Coupon.objects.filter(status="issued").count() == 0


def test_permanent_failure_everywhere_ends_in_the_dead_letters(
    httpserver: HTTPServer,
    channels: Any,
    make_offer: Any,
    make_decision: Any,
    make_customer: Any,
    send_until_done: Any,
) -> None:
    make_offer()
    make_customer("c-1")
    httpserver.expect_request("/push").respond_with_data("bad token", status=400)
    httpserver.expect_request("/sms").respond_with_data("bad number", status=400)
    channels(push=httpserver.url_for("/push"), sms=httpserver.url_for("/sms"))
    decision = make_decision("c-1", actions=[OFFER_ACTION])

    ids = deliveries_create(decision_ids=[str(decision.id)])
    send_until_done(ids)

    delivery = Delivery.objects.get(pk=ids[0])
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error.startswith("sms: HTTP 400")
    assert [request.path for request, _ in httpserver.log] == ["/push", "/sms"]
