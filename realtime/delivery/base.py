"""The channel interface, the registry that reads ``settings.CDP_CHANNELS``, and HTTP helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import urllib3
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered message for one recipient; ``key`` is the idempotency key (delivery id)."""

    channel: str
    key: str
    customer_id: str
    to: str = ""
    title: str = ""
    body: str = ""
    html_body: str = ""
    payload: Mapping[str, object] = field(default_factory=dict)
    team: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    is_sent: bool
    provider_message_id: str = ""
    is_temporary: bool = False
    error: str = ""
    #: Never attempted (the claim's lease ran out first): try again, the channel is not to blame.
    is_deferred: bool = False

    @classmethod
    def sent(cls, provider_message_id: str = "") -> SendResult:
        return cls(is_sent=True, provider_message_id=provider_message_id)

    @classmethod
    def temporary(cls, error: str) -> SendResult:
        return cls(is_sent=False, is_temporary=True, error=error[:2000])

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls(is_sent=False, is_temporary=False, error=error[:2000])

    @classmethod
    def deferred(cls) -> SendResult:
        return cls(
            is_sent=False,
            is_temporary=True,
            is_deferred=True,
            error="not attempted: the claim's lease would have run out during the send",
        )


class ChannelBackend(Protocol):
    name: str

    def send(self, message: Message) -> SendResult: ...

    def send_many(
        self, messages: Sequence[Message], *, deadline: float | None = None
    ) -> list[SendResult]: ...


class BaseBackend:
    """Sends one by one; backends that can batch or pipeline override ``send_many``."""

    def __init__(self, name: str, options: Mapping[str, object]) -> None:
        self.name = name
        self.options = options

    def option(self, key: str, default: object = "") -> object:
        return self.options.get(key, default)

    def send(self, message: Message) -> SendResult:
        raise NotImplementedError

    def timeout(self) -> float:
        """The longest one send may take (HTTP backends' ``TIMEOUT`` option)."""
        value = self.options.get("TIMEOUT", 5.0)
        return float(value) if isinstance(value, int | float | str) else 5.0

    def send_before(self, message: Message, deadline: float | None) -> SendResult:
        """Sends unless ``time.monotonic()`` is past ``deadline`` (then: deferred, not sent)."""
        if deadline is not None and time.monotonic() > deadline:
            return SendResult.deferred()
        return self.send(message)

    def send_many(
        self, messages: Sequence[Message], *, deadline: float | None = None
    ) -> list[SendResult]:
        return [self.send_before(message, deadline) for message in messages]


class UnconfiguredBackend(BaseBackend):
    """A channel named in a campaign but not set up in this deployment: fall back at once."""

    def send(self, message: Message) -> SendResult:
        return SendResult.permanent(f"channel {self.name!r} is not configured on this platform")


_backends: dict[str, ChannelBackend] = {}
_lock = threading.Lock()


def backend_for(name: str) -> ChannelBackend:
    backend = _backends.get(name)
    if backend is not None:
        return backend
    with _lock:
        options = dict(settings.CDP_CHANNELS.get(name) or {})
        path = str(options.get("BACKEND") or "")
        if not path:
            backend = UnconfiguredBackend(name, options)
        else:
            backend = import_string(path)(name, options)
        _backends[name] = backend
        return backend


def backends_reset() -> None:
    """Forget built backends (tests change ``CDP_CHANNELS`` between cases)."""
    with _lock:
        _backends.clear()


# --- HTTP ----------------------------------------------------------------------------------

_pools: dict[tuple[float, int], urllib3.PoolManager] = {}


def http_pool(timeout: float, maxsize: int = 32) -> urllib3.PoolManager:
    """Keep-alive connections shared by the backends of one process (one per timeout).

    ``maxsize`` connections are kept per host: it must cover the backend's concurrency, or the
    connections beyond it are closed after each request (no keep-alive).
    """
    pool = _pools.get((timeout, maxsize))
    if pool is None:
        with _lock:
            pool = _pools.get((timeout, maxsize))
            if pool is None:
                pool = urllib3.PoolManager(
                    num_pools=16,
                    maxsize=maxsize,
                    timeout=urllib3.Timeout(connect=timeout, read=timeout),
                    retries=False,
                )
                _pools[(timeout, maxsize)] = pool
    return pool


def http_result(
    response: urllib3.BaseHTTPResponse | None, error: Exception | None, id_field: str = ""
) -> SendResult:
    """Network errors, timeouts, 408, 429 and 5xx are temporary; any other 4xx is permanent."""
    if error is not None:
        return SendResult.temporary(f"{type(error).__name__}: {error}")
    assert response is not None
    status = response.status
    text = response.data[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        provider_id = ""
        if id_field:
            try:
                body = response.json()
                provider_id = str(body.get(id_field, "")) if isinstance(body, dict) else ""
            except ValueError:
                provider_id = ""
        return SendResult.sent(provider_id)
    if status in (408, 425, 429) or status >= 500:
        return SendResult.temporary(f"HTTP {status}: {text}")
    return SendResult.permanent(f"HTTP {status}: {text}")


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str],
    timeout: float,
    id_field: str = "",
    maxsize: int = 32,
) -> SendResult:
    pool = http_pool(timeout, max(maxsize, 32))
    try:
        if fields is not None:
            response = pool.request(
                method, url, fields=dict(fields), headers=dict(headers), encode_multipart=False
            )
        else:
            response = pool.request(method, url, body=body, headers=dict(headers))
    except urllib3.exceptions.HTTPError as error:
        return http_result(None, error)
    return http_result(response, None, id_field)
