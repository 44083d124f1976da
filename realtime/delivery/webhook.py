"""Webhook channel: a JSON POST signed with HMAC-SHA256.

The receiver checks ``X-CDP-Signature: sha256=<hex>`` over ``<X-CDP-Timestamp>.<body>`` with the
shared secret, and should de-duplicate on ``Idempotency-Key`` (the delivery id): a send whose
acknowledgement was lost in a crash is retried with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import orjson

from realtime.delivery import http_batch
from realtime.delivery.base import BaseBackend, Message, SendResult, http_request
from realtime.delivery.http_batch import HttpRequest


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookBackend(BaseBackend):
    def __init__(self, name: str, options: Mapping[str, object]) -> None:
        super().__init__(name, options)
        concurrency = options.get("CONCURRENCY", 16)
        self.concurrency = max(int(concurrency) if isinstance(concurrency, int | str) else 16, 1)
        self._executor: ThreadPoolExecutor | None = None
        self._secret = str(self.option("SECRET"))

    def _request(self, message: Message) -> HttpRequest:
        body = orjson.dumps(
            {
                "delivery_id": message.key,
                "customer_id": message.customer_id,
                "payload": message.payload,
                **message.metadata,
            }
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            "X-CDP-Timestamp": timestamp,
            "X-CDP-Signature": webhook_signature(self._secret, timestamp, body),
        }
        return HttpRequest("POST", str(self.option("URL")), headers, body)

    def send(self, message: Message) -> SendResult:
        if not self.option("URL"):
            return SendResult.permanent("webhook URL is not configured (CDP_WEBHOOK_URL)")
        request = self._request(message)
        return http_request(
            "POST", request.url, body=request.body, headers=request.headers, timeout=self.timeout()
        )

    def send_many(
        self, messages: Sequence[Message], *, deadline: float | None = None
    ) -> list[SendResult]:
        """``CONCURRENCY`` POSTs at a time over keep-alive connections, so the receiver's
        latency overlaps: on an event loop (``http_batch``), or, called from async code, on a
        thread pool. Both are per backend, so each worker process (or thread) has its own."""
        if not self.option("URL"):
            return [self.send(message) for message in messages]
        if http_batch.can_run_here():
            return http_batch.requests_send(
                [self._request(message) for message in messages],
                concurrency=self.concurrency,
                timeout=self.timeout(),
                deadline=deadline,
            )
        if len(messages) <= 1 or self.concurrency == 1:
            return [self.send_before(message, deadline) for message in messages]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.concurrency, "cdp-webhook")
        return list(
            self._executor.map(lambda message: self.send_before(message, deadline), messages)
        )
