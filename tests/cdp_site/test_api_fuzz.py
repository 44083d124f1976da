"""RELIABILITY.md item 6: every operation of the OpenAPI schema, fuzzed with schemathesis → no
server error.

The schema is the one the platform serves (``/api/schema/``, drf-spectacular). Each operation gets
valid (positive) and invalid (negative) requests generated from it, plus valid requests naming
real objects so that the deeper code runs, not only the 404. Requests go through the WSGI
application the way a deployed server calls it, authenticated with a DRF token: a marketer's for
the bank's API, a merchant's for ``/api/v1/merchant/``, a source key for ingest. A 5xx fails the
test with the traceback and a curl command to reproduce it; responses documented in the schema
must also match it.

``CDP_FUZZ_EXAMPLES`` sets the examples per operation (default 12: about a minute on two cores);
``CDP_FUZZ_REPORT=1`` (with ``-s``) prints the status codes each operation answered;
``CDP_FUZZ_RANDOM=1`` explores new inputs instead of the same ones every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import got_request_exception
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from cdp_site.wsgi import application

EXAMPLES = int(os.environ.get("CDP_FUZZ_EXAMPLES", "12"))
MERCHANT_PREFIX = "/api/v1/merchant/"
#: Bank review endpoints live under the merchant prefix but are for marketers.
REVIEW_PREFIX = "/api/v1/merchant/review"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def request_exceptions() -> Iterator[list[str]]:
    """Tracebacks of exceptions Django turned into 500 pages while the test ran."""
    caught: list[str] = []

    def record(sender: object, request: object = None, **kwargs: object) -> None:
        caught.append(traceback.format_exc())

    got_request_exception.connect(record)
    yield caught
    got_request_exception.disconnect(record)


def _schema() -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _real_path_parameters(world: Any, path: str) -> dict[str, object]:
    """Ids of objects that exist: the marketer's view of the bank, the merchant's own offer."""
    merchant_offer = world.merchant_offer_a.pk
    if path.startswith(REVIEW_PREFIX):
        merchant_offer = world.merchant_offers_b["pending"].pk
    return {
        "campaign_id": world.campaign.pk,
        "estimate_id": world.estimate.pk,
        "number": 1,
        "slug": world.template_slug,
        "offer_id": merchant_offer if path.startswith(MERCHANT_PREFIX) else world.offer.pk,
        "delivery_id": world.delivery.pk,
        "customer_id": world.customer_id,
        "name": world.event_type,
    }


def _strategy(operation: Any, world: Any) -> st.SearchStrategy[Any]:
    real = {
        name: value
        for name, value in _real_path_parameters(world, operation.path).items()
        if f"{{{name}}}" in operation.path
    }
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if real:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    return st.one_of(strategies)


def _fuzz(operation: Any, world: Any, headers: dict[str, str], caught: list[str]) -> list[str]:
    """Problems found in one operation (at most one per kind, to keep the report short)."""
    problems: dict[str, str] = {}
    statuses: Counter[int] = Counter()

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("CDP_FUZZ_RANDOM"),
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, world))
    def run(case: Any) -> None:
        before = len(caught)
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            problems.setdefault(
                "server error",
                f"{operation.label} -> {response.status_code}\n"
                f"{case.as_curl_command(headers=headers)}\n" + "".join(caught[before:])[-3000:],
            )
            return
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except (AssertionError, FailureGroup) as failure:
            problems.setdefault(
                "schema",
                f"{operation.label} -> {response.status_code}: {str(failure)[:1500]}\n"
                f"{case.as_curl_command(headers=headers)}",
            )

    run()
    if os.environ.get("CDP_FUZZ_REPORT"):
        print(f"{operation.label}: {dict(sorted(statuses.items()))}")
    return list(problems.values())


def _fuzz_all(operations: list[Any], world: Any, headers_for: Any, caught: list[str]) -> list[str]:
    problems: list[str] = []
    for operation in operations:
        problems += _fuzz(operation, world, headers_for(operation), caught)
    return problems


def test_every_bank_api_operation_survives_fuzzing_as_a_marketer(
    world: Any, request_exceptions: list[str]
) -> None:
    # given the schema the platform serves, and a marketer's token
    operations = [
        operation
        for operation in _operations(_schema())
        if not operation.path.startswith(MERCHANT_PREFIX)
        or operation.path.startswith(REVIEW_PREFIX)
    ]
    assert len(operations) > 40
    marketer = {"Authorization": f"Token {world.token('marketer')}"}
    source = {"Authorization": f"Bearer {world.source_key}"}

    def headers_for(operation: Any) -> dict[str, str]:
        return source if operation.path == "/api/v1/events" else marketer

    # when every operation is fuzzed
    problems = _fuzz_all(operations, world, headers_for, request_exceptions)
    # then no request was a server error, and documented answers matched the schema
    assert problems == [], "\n\n".join(problems)


def test_every_merchant_api_operation_survives_fuzzing_as_a_merchant(
    world: Any, request_exceptions: list[str]
) -> None:
    operations = [
        operation
        for operation in _operations(_schema())
        if operation.path.startswith(MERCHANT_PREFIX)
        and not operation.path.startswith(REVIEW_PREFIX)
    ]
    assert len(operations) >= 10
    merchant = {"Authorization": f"Token {world.token('merchant_a')}"}
    problems = _fuzz_all(operations, world, lambda operation: merchant, request_exceptions)
    assert problems == [], "\n\n".join(problems)


def test_openapi_schema_is_valid_and_generates_without_warnings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--file", os.devnull],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cdp_site.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr


def test_unstorable_json_text_is_a_400_naming_its_path(world: Any) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world.users["marketer"])
    for body, path in (
        ('{"traits": {"nick": "a\\u0000"}}', "traits.nick"),
        ('{"traits": {"a": [1, "\\udc00"]}}', "traits.a[1]"),
        ('{"traits": {"\\u0000": 1}}', "traits.\\x00"),
    ):
        response = api.put(
            f"/api/v1/customers/{world.customer_id}", body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["error"] == (
            f"{path}: text cannot contain NUL characters (\\u0000) or unpaired surrogates."
        )
    assert api.get(f"/api/v1/customers/{world.customer_id}").json()["traits"] == {
        "first_name": "Minji",
        "age": 31,
    }
