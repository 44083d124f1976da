"""The channel interface, the registry that reads ``settings.CDP_CHANNELS``, and HTTP helpers."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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
#
# One keep-alive connection per thread and host, on the standard library's http.client: the
# send pool's threads each hold their own, so nothing is shared or locked. It costs about half
# the CPU per request of urllib3's pool (measured here: ~160 µs against ~340 µs), which is most
# of what a webhook delivery costs the worker.

_connections = threading.local()
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _connection(url: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    cache: dict[tuple[str, str, float], http.client.HTTPConnection] | None = getattr(
        _connections, "cache", None
    )
    if cache is None:
        cache = _connections.cache = {}
    cache_key = (url.scheme, url.netloc, timeout)
    connection = cache.get(cache_key)
    if connection is None:
        host, port = url.hostname or "", url.port
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        cache[cache_key] = connection
    return connection


def _forget(url: urllib.parse.SplitResult, timeout: float) -> None:
    cache = getattr(_connections, "cache", {})
    connection = cache.pop((url.scheme, url.netloc, timeout), None)
    if connection is not None:
        connection.close()


def http_result(
    status: int | None, data: bytes, error: Exception | None, id_field: str = ""
) -> SendResult:
    """Network errors, timeouts, 408, 429 and 5xx are temporary; any other 4xx is permanent."""
    if error is not None or status is None:
        return SendResult.temporary(f"{type(error).__name__}: {error}")
    text = data[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        provider_id = ""
        if id_field:
            try:
                body = json.loads(data or b"null")
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
) -> SendResult:
    """One request over this thread's keep-alive connection to the host.

    A connection the server closed while idle fails on reuse before the request reached it;
    that one is retried once on a fresh connection (the Idempotency-Key covers the rare case
    where the server did read it). Any other failure is a temporary result, never an exception.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return SendResult.permanent(f"not an http(s) URL: {url!r}")
    if fields is not None:
        body = urllib.parse.urlencode(dict(fields)).encode()
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    for attempt in (1, 2):
        connection = _connection(parts, timeout)
        is_reused = connection.sock is not None
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except _STALE as error:
            _forget(parts, timeout)
            if is_reused and attempt == 1:
                continue
            return http_result(None, b"", error)
        except (OSError, http.client.HTTPException) as error:
            _forget(parts, timeout)
            return http_result(None, b"", error)
        if response.will_close:
            _forget(parts, timeout)
        return http_result(response.status, data, None, id_field)
    raise AssertionError("unreachable")
