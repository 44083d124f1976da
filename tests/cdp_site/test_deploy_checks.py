"""RELIABILITY.md item 9 and the error pages: ``manage.py check --deploy`` passes with the
production settings, DEBUG is off unless asked for, and no error shows a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

#: What an operator sets for production (test values, never real secrets).
PRODUCTION_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "cdp_site.settings.production",
    "DJANGO_SECRET_KEY": "test-only-Gx7s2Qm9Vt4Lw1Zr8Kp3Nc6Hb5Jd0Yf-Ue2Ai7Oq4Ms9Tx1Rv6Pl3",
    "DJANGO_ALLOWED_HOSTS": "cdp.example.com",
    "DATABASE_URL": "postgres://cdp@db.invalid:5432/cdp",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


def _run(code_or_command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(
        ("DJANGO_", "DATABASE_URL", "REDIS_URL", "CDP_"))}  # fmt: skip
    return subprocess.run(
        [sys.executable, *code_or_command],
        cwd=settings.BASE_DIR,
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_finds_no_issue_with_the_production_settings() -> None:
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], **PRODUCTION_ENVIRONMENT
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_would_catch_debug_left_on() -> None:
    # the check above is not vacuous: DEBUG on in production is reported
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION_ENVIRONMENT,
        DJANGO_DEBUG="1",
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr


@pytest.mark.parametrize("module", ["base", "dev", "test", "production"])
def test_debug_is_off_by_default_in_every_settings_module(module: str) -> None:
    environment = {
        **PRODUCTION_ENVIRONMENT,
        "DJANGO_SETTINGS_MODULE": f"cdp_site.settings.{module}",
    }
    result = _run(["-c", "from django.conf import settings; print(settings.DEBUG)"], **environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


SECRET = "secret-detail-4711 in a failing query"


@pytest.fixture
def failing_selectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer list page and the campaign list API fail deep inside, as a bug would."""

    def fail(**kwargs: Any) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr("segments.selectors.customer_list", fail)
    monkeypatch.setattr("campaigns.selectors.campaign_list", fail)


def test_a_failing_page_shows_the_500_page_without_a_stack_trace(
    client_as: Any, failing_selectors: None
) -> None:
    client = client_as("marketer")
    client.raise_request_exception = False
    response = client.get("/customers/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side. It has been logged." in body
    assert SECRET not in body and "Traceback" not in body and "RuntimeError" not in body


def test_a_failing_api_answers_json_without_a_stack_trace(
    client_as: Any, failing_selectors: None
) -> None:
    client = client_as("marketer")
    client.raise_request_exception = False
    response = client.get("/api/v1/campaigns")
    assert response.status_code == 500
    assert response.json() == {"error": "Server error. It has been logged."}


def test_the_500_page_falls_back_to_text_when_its_layout_fails(
    rf: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdp_site import views

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(views, "render", broken)
    response = views.server_error(rf.get("/campaigns/"))
    assert response.status_code == 500
    assert response.content == b"Server error. It has been logged."


@pytest.mark.django_db
def test_bad_requests_are_400_not_500(client: Any) -> None:
    # a NUL character cannot reach PostgreSQL; it is refused naming where it was
    page = client.get("/login/?next=%00")
    assert page.status_code == 400
    assert b"next" in page.content and b"Traceback" not in page.content
    api = client.get("/api/v1/campaigns?q=a%00b")
    assert api.status_code == 400
    assert api.json()["errors"] == {"q": ["The query parameter contains a NUL character (%00)."]}
