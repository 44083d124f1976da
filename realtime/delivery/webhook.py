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

from realtime.delivery.base import BaseBackend, Message, SendResult, http_request


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookBackend(BaseBackend):
    def __init__(self, name: str, options: Mapping[str, object]) -> None:
        super().__init__(name, options)
        concurrency = options.get("CONCURRENCY", 16)
        self.concurrency = max(int(concurrency) if isinstance(concurrency, int | str) else 16, 1)
        self._executor: ThreadPoolExecutor | None = None

    def send(self, message: Message) -> SendResult:
        url = str(self.option("URL"))
        if not url:
            return SendResult.permanent("webhook URL is not configured (CDP_WEBHOOK_URL)")
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
            "X-CDP-Signature": webhook_signature(str(self.option("SECRET")), timestamp, body),
        }
        return http_request("POST", url, body=body, headers=headers, timeout=self.timeout())

    def send_many(
        self, messages: Sequence[Message], *, deadline: float | None = None
    ) -> list[SendResult]:
        """``CONCURRENCY`` POSTs at a time over keep-alive connections: the receiver's latency
        overlaps. The pool is per backend, so each worker process (or thread pool) has its own."""
        if len(messages) <= 1 or self.concurrency == 1:
            return [self.send_before(message, deadline) for message in messages]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.concurrency, "cdp-webhook")
        return list(
            self._executor.map(lambda message: self.send_before(message, deadline), messages)
        )
