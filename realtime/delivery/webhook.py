"""Webhook channel: a JSON POST signed with HMAC-SHA256.

The receiver checks ``X-CDP-Signature: sha256=<hex>`` over ``<X-CDP-Timestamp>.<body>`` with the
shared secret, and should de-duplicate on ``Idempotency-Key`` (the delivery id): a send whose
acknowledgement was lost in a crash is retried with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import orjson

from realtime.delivery.base import BaseBackend, Message, SendResult, http_request


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookBackend(BaseBackend):
    _executor: ThreadPoolExecutor | None = None

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
        timeout = float(self.option("TIMEOUT", 5.0))  # type: ignore[arg-type]  # from settings
        return http_request("POST", url, body=body, headers=headers, timeout=timeout)

    def send_many(self, messages: Sequence[Message]) -> list[SendResult]:
        """Concurrent POSTs over keep-alive connections: the receiver's latency overlaps."""
        if len(messages) <= 1:
            return [self.send(message) for message in messages]
        if WebhookBackend._executor is None:
            concurrency = int(self.option("CONCURRENCY", 8))  # type: ignore[call-overload]
            WebhookBackend._executor = ThreadPoolExecutor(concurrency, "cdp-webhook")
        return list(WebhookBackend._executor.map(self.send, messages))
