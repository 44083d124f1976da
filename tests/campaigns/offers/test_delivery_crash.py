"""RELIABILITY.md item 3: ``kill -9`` a Celery worker while it sends.

N decisions go through the real pipeline (decisions stream → ``run_dispatcher`` → Celery worker
subprocess → webhook) to a local provider that is slowed down so the kill lands mid-send. The
worker is killed with its whole process group (the prefork children too: nothing acknowledges,
nothing is rejected back to the queue), a new worker is started, and we wait until every
delivery is terminal.

The window between "the provider accepted the request" and "the worker recorded sent" cannot be
closed from our side: a request in flight when the worker dies is sent again after the claim's
lease, with the same ``Idempotency-Key`` (the delivery id) and the same coupon. Real providers
(Twilio, FCM, webhook receivers that follow the header) de-duplicate on it, and so does this
one; the test counts and prints the raw duplicate requests as well, so the figure is honest.

Recovery within seconds comes from test settings (production defaults in brackets):
``CDP_DELIVERY_SENDING_LEASE_S`` 2 (60), ``CDP_DELIVERY_SWEEP_EVERY_S`` 1 (15; the dispatcher
re-enqueues expired claims), Celery's ``visibility_timeout`` 4 (3600) with kombu's restore sweep
every second (every 100 s) for the messages the dead worker had prefetched.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.utils import timezone

from campaigns.models import Coupon, Decision, Delivery
from realtime.delivery.webhook import webhook_signature
from realtime.streams import key, redis_client

DECISIONS = 2_000
SECRET = "crash-test-secret"
TERMINAL = {"sent", "delivered", "failed", "dead", "suppressed", "held_out", "discarded"}


class Provider(ThreadingHTTPServer):
    """A webhook receiver that records every request, then answers after ``delay`` seconds.

    A request counts as accepted when it arrives (as at a real provider, which has done its
    work before the answer reaches us); duplicates by ``Idempotency-Key`` are answered 200 and
    not delivered again.
    """

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), ProviderHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.raw = 0
        self.in_flight = 0
        self.bad_signatures = 0
        self.arrivals: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed worker's connections reset: that is the point, not an error."""

    def counts(self) -> tuple[int, int, int]:
        """(raw requests, unique keys, requests in flight)"""
        with self.lock:
            return self.raw, len(self.requests), self.in_flight


class ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the backend's connection pool expects
    server: Provider

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        provider = self.server
        idempotency_key = self.headers.get("Idempotency-Key", "")
        signature = webhook_signature(SECRET, self.headers.get("X-CDP-Timestamp", ""), body)
        with provider.lock:
            provider.raw += 1
            provider.arrivals.append(time.monotonic())
            provider.in_flight += 1
            provider.requests[idempotency_key].append(orjson.loads(body))
            if signature != self.headers.get("X-CDP-Signature"):
                provider.bad_signatures += 1
        try:
            time.sleep(provider.delay)
            answer = orjson.dumps({"id": idempotency_key})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        finally:
            with provider.lock:
                provider.in_flight -= 1

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def _status_counts() -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for status in Delivery.objects.values_list("status", flat=True):
        counts[status] += 1
    return dict(counts)


def _wait(condition: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_kill_9_of_a_celery_worker_mid_send_delivers_each_decision_exactly_once(
    processes: Any, make_offer: Any, campaign: Any, pool: str
) -> None:
    """``threads`` is the Procfile's pool (4 batches in flight per process); ``prefork`` the
    classic one (the main process and two children die together)."""
    size = 4 if pool == "threads" else 2
    # given a slow provider, an offer with a coupon per customer, and N decisions to deliver
    provider = Provider(delay=0.05)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    make_offer(
        "crash-offer",
        codes=DECISIONS,
        webhook_payload={"code": "{{ coupon.code }}", "who": "{{ customer.id }}"},
    )
    now = timezone.now()
    action = [{"offer": "crash-offer", "channel": "webhook"}]
    decisions = Decision.objects.bulk_create(
        Decision(
            id=uuid.uuid4(),
            campaign=campaign,
            version=1,
            customer_id=f"crash-{n}",
            trigger_event_id=f"crash-{n}",
            outcome="offer",
            actions=action,
            occurred_at=now,
        )
        for n in range(DECISIONS)
    )
    processes.environment.update(
        {
            "CDP_WEBHOOK_URL": provider.url,
            "CDP_WEBHOOK_SECRET": SECRET,
            "CDP_WEBHOOK_CONCURRENCY": "8",
            "CDP_WEBHOOK_TIMEOUT_S": "1",
            "CDP_DELIVERY_BATCH": "50",
            "CDP_DELIVERY_SENDING_LEASE_S": "2",
            "CDP_DELIVERY_SWEEP_EVERY_S": "1",
            # Rows queued for a retry are not swept before this; Celery brings those messages.
            "CDP_DELIVERY_BACKOFF_MAX_S": "30",
            "CDP_CELERY_VISIBILITY_TIMEOUT_S": "4",
            "CDP_CELERY_RESTORE_INTERVAL_S": "1",
            "CDP_CELERY_RESTORE_THROTTLE": "1",
        }
    )
    worker = processes.celery_worker("worker-1", pool=pool, concurrency=size, new_session=True)
    processes.dispatcher()

    # when the engine publishes the decisions and the worker is killed -9 mid-send
    pipe = redis_client().pipeline(transaction=False)
    for decision in decisions:
        pipe.xadd(
            key("decisions"),
            {"d": str(decision.id), "campaign": str(campaign.id), "outcome": "offer"},
        )
    pipe.execute()
    assert _wait(lambda: provider.counts()[0] >= 400, timeout=120), processes.log("worker-1")
    group = os.getpgid(worker.pid)
    killed = _group_members(group)
    os.killpg(group, signal.SIGKILL)
    killed_at = time.monotonic()
    raw_at_kill, unique_at_kill, in_flight_at_kill = provider.counts()
    worker.wait(10)
    assert _wait(lambda: not _group_members(group), timeout=10), "the worker's children survived"
    orphaned = set(Delivery.objects.filter(status="sending").values_list("id", flat=True))
    sending_at_kill = len(orphaned)
    processes.celery_worker("worker-2", pool=pool, concurrency=size, new_session=True)

    # then every delivery ends up terminal, each decision received once (by Idempotency-Key)
    orphans_sent_after: list[float] = []

    def settled() -> bool:
        if (
            not orphans_sent_after
            and not Delivery.objects.filter(id__in=orphaned, status="sending").exists()
        ):
            orphans_sent_after.append(time.monotonic() - killed_at)
        counts = _status_counts()
        return sum(counts.values()) == DECISIONS and not set(counts) - TERMINAL

    is_settled = _wait(settled, timeout=120, step=0.1)
    recovered_s = time.monotonic() - killed_at
    time.sleep(1.0)  # a late duplicate would arrive now
    counts = _status_counts()
    stuck = counts.get("queued", 0) + counts.get("sending", 0)
    raw, unique, _ = provider.counts()
    with provider.lock:
        requests = {name: list(bodies) for name, bodies in provider.requests.items()}
    duplicate_requests = raw - unique
    with provider.lock:
        after_kill = [moment - killed_at for moment in provider.arrivals if moment > killed_at]
    first_after_kill = after_kill[0] if after_kill else float("nan")
    last_request = after_kill[-1] if after_kill else float("nan")
    keys_sent_twice = sum(1 for bodies in requests.values() if len(bodies) > 1)
    received_decisions = {bodies[0]["decision_id"] for bodies in requests.values()}
    print(
        "\n"
        f"crash test ({pool} pool): decisions={DECISIONS} killed_processes={len(killed)} "
        f"(the worker with its pool)\n"
        f"  at the kill: provider received {raw_at_kill} requests ({unique_at_kill} unique), "
        f"{in_flight_at_kill} in flight, {sending_at_kill} deliveries claimed (sending)\n"
        f"  after: sent={counts.get('sent', 0)} provider_received={raw} "
        f"provider_unique={unique} duplicate_requests_at_provider={duplicate_requests} "
        f"(keys sent twice: {keys_sent_twice}) duplicates_after_dedup=0 stuck={stuck} "
        f"statuses={counts}\n"
        f"  time_to_recover_s={recovered_s:.1f} (kill → every delivery terminal; the new "
        f"worker's first request at +{first_after_kill:.1f}s, the deliveries claimed by the "
        f"dead worker all recorded at +{(orphans_sent_after or [float('nan')])[0]:.1f}s, the "
        f"last request at +{last_request:.1f}s)"
    )

    assert is_settled, (counts, processes.log("worker-2"), processes.log("dispatcher"))
    # the main process (with its threads), and for prefork its children too
    assert len(killed) >= (3 if pool == "prefork" else 1)
    assert 0 < raw_at_kill < DECISIONS  # the kill landed mid-send
    assert stuck == 0
    assert counts == {"sent": DECISIONS}
    assert unique == DECISIONS
    assert received_decisions == {str(decision.id) for decision in decisions}
    assert set(requests) == {str(pk) for pk in Delivery.objects.values_list("id", flat=True)}
    assert provider.bad_signatures == 0
    # a request sent again carries the same coupon: the customer can only ever get one code
    assert all(len({body["coupon"] for body in bodies}) == 1 for bodies in requests.values())
    codes = dict(Delivery.objects.values_list("id", "coupon__code"))
    assert all(bodies[0]["coupon"] == codes[int(name)] for name, bodies in requests.items())
    assert len(set(codes.values())) == DECISIONS
    assert Coupon.objects.filter(status="issued").count() == DECISIONS
    provider.shutdown()
    provider.server_close()
