"""Fixtures for offers and delivery: campaigns, decisions, offers with pools, customer profiles,
and the channel settings pointed at real local servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns.models import Campaign, Decision, Offer
from campaigns.offers import services
from realtime.delivery import backends_reset


@pytest.fixture
def campaign(make_user: Callable[..., Any]) -> Campaign:
    return Campaign.objects.create(name="Viewed but did not sign up", owner=make_user("marketer"))


@pytest.fixture
def make_decision(campaign: Campaign) -> Callable[..., Decision]:
    def create(
        customer_id: str = "c-1",
        *,
        actions: list[dict[str, object]] | None = None,
        outcome: str = "offer",
        reason: str = "",
        explanation: list[dict[str, object]] | None = None,
    ) -> Decision:
        return Decision.objects.create(
            id=uuid.uuid4(),
            campaign=campaign,
            version=1,
            customer_id=customer_id,
            trigger_event_id=f"e-{uuid.uuid4().hex[:8]}",
            outcome=outcome,
            suppression_reason=reason,
            actions=actions if actions is not None else [],
            explanation=explanation or [],
            occurred_at=timezone.now(),
        )

    return create


@pytest.fixture
def make_offer(db: None) -> Callable[..., Offer]:
    def create(slug: str = "savings-signup", *, codes: int = 0, **values: Any) -> Offer:
        defaults: dict[str, Any] = {
            "slug": slug,
            "name": "Savings sign-up coupon",
            "push_title": "A gift for you, {{ customer.first_name }}",
            "push_body": "Open a savings account with code {{ coupon.code }}",
            "sms_body": "[Bank] {{ customer.first_name }}, code {{ coupon.code }} {{ link }}",
            "email_subject": "Your coupon, {{ customer.first_name }}",
            "email_body": "Hello {{ customer.first_name }},\nyour code: {{ coupon.code }}",
            "webhook_payload": {"text": "code {{ coupon.code }}", "who": "{{ customer.id }}"},
            "link_url": "https://bank.example/savings",
            "coupon_value": "10000",
        }
        defaults.update(values)
        offer = services.offer_create(values=defaults)
        if codes:
            services.pool_generate(offer=offer, pattern="SAVE-####-####", count=codes)
        return offer

    return create


@pytest.fixture
def make_customer(db: None) -> Callable[..., Any]:
    from segments.models import Customer

    def create(customer_id: str = "c-1", **traits: Any) -> Any:
        values = {
            "first_name": "Minji",
            "phone": "+821012345678",
            "email": f"{customer_id}@example.com",
            "push_token": f"token-{customer_id}",
        }
        values.update(traits)
        return Customer.objects.update_or_create(
            customer_id=customer_id, defaults={"traits": values}
        )[0]

    return create


@pytest.fixture
def channels(settings: Any) -> Iterator[Callable[..., None]]:
    """``channels(sms=url, push=url, ...)`` points those channels at local servers."""

    def configure(**urls: str) -> None:
        configured = {name: dict(options) for name, options in settings.CDP_CHANNELS.items()}
        for name, url in urls.items():
            configured[name]["URL"] = url
        settings.CDP_CHANNELS = configured
        backends_reset()

    with override_settings(
        CDP_DELIVERY_BACKOFF_BASE_S=0.01,
        CDP_DELIVERY_FALLBACK_AFTER=2,
        CDP_PUBLIC_URL="https://cdp.example",
    ):
        backends_reset()
        yield configure
    backends_reset()


def _send_until_done(delivery_ids: list[int], rounds: int = 10) -> list[Any]:
    from campaigns.offers.delivery import deliveries_send

    outcomes = []
    pending = list(delivery_ids)
    for _ in range(rounds):
        if not pending:
            break
        outcome = deliveries_send(delivery_ids=pending)
        outcomes.append(outcome)
        pending = [i for ids in outcome.retry.values() for i in ids]
    return outcomes


@pytest.fixture
def send_until_done() -> Callable[..., list[Any]]:
    """Runs the send service the way the task and its retries would, in this process."""
    return _send_until_done


# --- real processes: Celery worker, dispatcher, uvicorn ---------------------------------------


def wait_for(condition: Callable[[], object], timeout: float = 20.0, step: float = 0.05) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Subprocesses of the platform sharing this test's database, Redis prefix and queue."""

    def __init__(self, environment: dict[str, str], folder: Any) -> None:
        self.environment = environment
        self.folder = folder
        self.running: dict[str, Any] = {}

    def start(self, name: str, *command: str, new_session: bool = False, **extra_env: str) -> Any:
        """``new_session``: the process leads its own process group (``os.killpg`` kills it and
        every child it forked, as ``kill -9`` of a container or a systemd unit would)."""
        import subprocess
        import sys

        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            [sys.executable, *command],
            env={**self.environment, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(__import__("django.conf").conf.settings.BASE_DIR),
            start_new_session=new_session,
        )
        self.running[name] = process
        return process

    def celery_worker(
        self,
        name: str = "worker",
        *,
        concurrency: int = 2,
        pool: str = "prefork",
        new_session: bool = False,
    ) -> Any:
        return self.start(
            name,
            "-m",
            "celery",
            "-A",
            "cdp_site",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--queues",
            self.environment["CDP_CELERY_QUEUE"],
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}-{uuid.uuid4().hex[:6]}@%h",
            new_session=new_session,
        )

    def dispatcher(self) -> Any:
        return self.start("dispatcher", "manage.py", "run_dispatcher")

    def uvicorn(self) -> str:
        import socket

        port = _free_port()
        self.start(
            "web",
            "-m",
            "uvicorn",
            "cdp_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        )

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, timeout=30)
        return f"127.0.0.1:{port}"

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        import signal

        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(10)
            except Exception:
                process.kill()
                process.wait(5)


@pytest.fixture
def processes(
    transactional_db: None, settings: Any, redis_key_prefix: str, tmp_path: Any
) -> Iterator[Processes]:
    import os

    from django.db import connection

    from cdp_site.celery import app

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
        "CDP_CELERY_QUEUE": queue,
        "CDP_DELIVERY_FALLBACK_AFTER": "2",
        "CDP_DELIVERY_BACKOFF_BASE_S": "0.05",
        "CDP_PUBLIC_URL": "https://cdp.example",
    }
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    running = Processes(environment, tmp_path)
    yield running
    running.stop_all()
    app.conf.task_default_queue = previous_queue
    from realtime.streams import redis_client

    redis_client().delete(queue)
