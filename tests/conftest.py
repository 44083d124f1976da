"""Fixtures for the whole suite: real PostgreSQL and Redis, one Redis key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def make_httpserver(httpserver_listen_address: tuple[str | None, int | None]) -> Iterator[Any]:
    """pytest-httpserver's provider stand-in, serving each connection in its own thread.

    The delivery senders keep connections alive, as they should with real providers; the
    plugin's default single-threaded server then waits on an idle keep-alive connection for
    ever when it stops at the end of the session."""
    from pytest_httpserver import HTTPServer

    host, port = httpserver_listen_address
    server = HTTPServer(
        host=host or HTTPServer.DEFAULT_LISTEN_HOST,
        port=port or HTTPServer.DEFAULT_LISTEN_PORT,
        threaded=True,
    )
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(autouse=True)
def redis_key_prefix(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each test writes Redis keys under its own prefix; they are deleted afterwards."""
    if not request.config.pluginmanager.has_plugin("django"):
        yield None  # pure engine tests run without Django at all
        return
    from django.test import override_settings

    prefix = f"cdp-test-{uuid.uuid4().hex[:12]}:"
    with override_settings(CDP_KEY_PREFIX=prefix):
        yield prefix
    from realtime.streams import redis_client

    client = redis_client()
    doomed = list(client.scan_iter(match=prefix + "*", count=1000))
    if doomed:
        client.delete(*doomed)


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from django.contrib.auth import get_user_model

    from cdp_site.demo import role_groups_ensure
    from cdp_site.roles import Role
    from merchants.models import Merchant, MerchantMembership

    def create(role: str, *, username: str | None = None, merchant: Any = None) -> Any:
        groups = role_groups_ensure()
        user = get_user_model().objects.create_user(
            username=username or f"{role}-{uuid.uuid4().hex[:6]}", password="correct horse 9"
        )
        user.groups.add(groups[Role(role)])
        if role == Role.MERCHANT:
            merchant = merchant or Merchant.objects.create(name=f"Shop {uuid.uuid4().hex[:6]}")
            MerchantMembership.objects.create(user=user, merchant=merchant)
        return user

    return create


@pytest.fixture
def client_as(make_user: Callable[..., Any], client: Any) -> Callable[..., Any]:
    """A Django test client logged in with a fresh user of the given role."""

    def login(role: str, **kwargs: Any) -> Any:
        user = make_user(role, **kwargs)
        client.force_login(user)
        client.user = user
        return client

    return login


@pytest.fixture
def api_as(make_user: Callable[..., Any]) -> Callable[..., Any]:
    from rest_framework.test import APIClient

    def login(role: str, **kwargs: Any) -> Any:
        api = APIClient()
        user = make_user(role, **kwargs)
        api.force_authenticate(user)
        api.user = user
        return api

    return login


BROWSER_FIXTURES = {"browser", "page"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves an event loop in the main thread,
    which would make Django run later async views as if called from async code."""
    items.sort(key=lambda item: bool(BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Real headless Chromium (Debian's), driven by Playwright."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing; `make test` installs it where it can (root, apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop; Django's ORM in the same thread is still safe here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGUMENTS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


ENGINE_TEST_PARTITIONS = 2


def database_url_of_tests() -> str:
    """The URL of pytest-django's test database, for platform processes started by a test."""
    from django.db import connection

    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    return f"postgres://{database['USER']}{password}@{host}/{database['NAME']}"


@pytest.fixture
def engine_worker(
    settings: Any, redis_key_prefix: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[], None]]:
    """Starts ``manage.py run_engine`` on the test database and this test's key prefix (two
    partitions); every worker started is stopped with SIGTERM afterwards."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    settings.CDP_PARTITIONS = ENGINE_TEST_PARTITIONS
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cdp_site.settings.test",
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "CDP_KEY_PREFIX": redis_key_prefix,
        "CDP_PARTITIONS": str(ENGINE_TEST_PARTITIONS),
    }
    root = Path(__file__).resolve().parent.parent
    worker_id = f"test-{uuid.uuid4().hex[:6]}"
    log = Path(f"/tmp/engine-{request.node.name[:40]}-{worker_id}.log")
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [sys.executable, str(root / "manage.py"), "run_engine", "--worker-id", worker_id],
                cwd=root,
                env=environment,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
