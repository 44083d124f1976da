"""The delivery pipeline as it runs: the decisions stream, ``run_dispatcher``, a real Celery
worker, uvicorn serving the staff console over a real WebSocket, local provider servers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets
from django.conf import settings
from django.test import Client
from pytest_httpserver import HTTPServer

from campaigns.models import Coupon, Delivery, StaffTask
from campaigns.offers.delivery import deliveries_create, deliveries_send
from realtime.streams import key, redis_client


def decision_publish(decision: Any) -> None:
    """What the engine does after committing a decision row."""
    redis_client().xadd(
        key("decisions"),
        {"d": str(decision.id), "campaign": str(decision.campaign_id), "outcome": decision.outcome},
    )


def test_scenario_1_push_fails_then_exactly_one_sms_with_a_unique_code(
    processes: Any,
    httpserver: HTTPServer,
    make_offer: Any,
    make_decision: Any,
    make_customer: Any,
    wait: Any,
) -> None:
    # given the push provider is down, SMS works, and three customers qualified
    make_offer(codes=100)
    httpserver.expect_request("/push").respond_with_data("unavailable", status=503)
    httpserver.expect_request("/sms").respond_with_json({"sid": "SM"})
    action = {"offer": "savings-signup", "channel": "push", "fallback": "sms"}
    decisions = []
    for n in range(3):
        make_customer(f"c-{n}")
        decisions.append(make_decision(f"c-{n}", actions=[action]))
    held_out = make_decision("c-9", outcome="held_out", actions=[action])
    urls = {"CDP_PUSH_URL": httpserver.url_for("/push"), "CDP_SMS_URL": httpserver.url_for("/sms")}
    processes.environment.update(urls)
    processes.celery_worker()
    processes.dispatcher()

    # when the engine publishes the decisions (one of them twice, as a replay would)
    for decision in [*decisions, decisions[0], held_out]:
        decision_publish(decision)

    # then every offer decision ends sent by SMS, once, each with its own code
    def all_sent() -> bool:
        return Delivery.objects.filter(status="sent").count() == 3

    wait(all_sent, timeout=60)
    time.sleep(0.5)  # a duplicate would show up now
    sms = [request.form for request, _ in httpserver.log if request.path == "/sms"]
    pushes = [request for request, _ in httpserver.log if request.path == "/push"]
    assert len(sms) == 3
    assert len(pushes) == 6  # two tries each before the fallback
    assert sorted(form["To"] for form in sms) == ["+821012345678"] * 3
    codes = {delivery.coupon.code for delivery in Delivery.objects.filter(status="sent")}
    assert len(codes) == 3
    assert all(any(code in form["Body"] for form in sms) for code in codes)
    assert Coupon.objects.filter(status="issued").count() == 3
    held = Delivery.objects.get(customer_id="c-9")
    assert (held.status, held.coupon_id, held.attempts) == ("held_out", None, 0)


def _session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def _receive_task(address: str, team: str, cookie: str, dispatch: Any) -> tuple[dict, float]:
    async with websockets.connect(
        f"ws://{address}/ws/staff/{team}/",
        additional_headers={"Cookie": cookie},
        origin=f"http://{address}",
    ) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert hello == {"type": "hello", "team": team}
        started = time.monotonic()
        await asyncio.to_thread(dispatch)
        message = json.loads(await asyncio.wait_for(socket.recv(), 5))
        return message, time.monotonic() - started


def test_scenarios_2_and_4_staff_console_shows_task_and_popup_within_a_second(
    processes: Any, make_user: Any, make_decision: Any, channels: Any
) -> None:
    address = processes.uvicorn()
    cookie = _session_cookie(make_user("marketer"))
    callback = make_decision(
        "c-7",
        actions=[
            {
                "notify_staff": {
                    "team": "call_centre",
                    "message": "Call {{ customer.id }} back: lost on screen {{ event.screen }}",
                }
            }
        ],
        explanation=[{"kind": "trigger", "values": {"attributes": {"screen": "<b>loan</b>"}}}],
    )
    notice = make_decision(
        "c-8",
        actions=[
            {"notify_staff": {"team": "tellers", "message": "AML notice: verify the remittance"}}
        ],
    )

    def dispatch(decision: Any) -> Any:
        def run() -> None:
            deliveries_send(delivery_ids=deliveries_create(decision_ids=[str(decision.id)]))

        return run

    # scenario 2: the call centre's callback task
    message, elapsed = asyncio.run(
        _receive_task(address, "call_centre", cookie, dispatch(callback))
    )
    assert elapsed < 1.0
    task = StaffTask.objects.get(team="call_centre")
    assert message["type"] == "task" and message["task_id"] == task.id
    assert task.message == "Call c-7 back: lost on screen <b>loan</b>"
    assert "lost on screen &lt;b&gt;loan&lt;/b&gt;" in message["html"]
    assert 'data-kind="task"' in message["html"]

    # scenario 4: the teller's anti-money-laundering pop-up
    message, elapsed = asyncio.run(_receive_task(address, "tellers", cookie, dispatch(notice)))
    assert elapsed < 1.0
    assert 'data-kind="popup"' in message["html"]
    assert "AML notice: verify the remittance" in message["html"]
    assert Delivery.objects.get(customer_id="c-8").status == "sent"


def test_staff_console_refuses_anonymous_and_merchant_sockets(
    processes: Any, make_user: Any
) -> None:
    address = processes.uvicorn()

    async def attempt(cookie: str) -> int | None:
        headers = {"Cookie": cookie} if cookie else {}
        try:
            async with websockets.connect(
                f"ws://{address}/ws/staff/call_centre/",
                additional_headers=headers,
                origin=f"http://{address}",
            ) as socket:
                await asyncio.wait_for(socket.recv(), 5)
        except websockets.exceptions.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code
        return None

    assert asyncio.run(attempt("")) in (4403, 403)
    assert asyncio.run(attempt(_session_cookie(make_user("merchant")))) in (4403, 403)
