"""Push: FCM HTTP v1 style JSON to a configurable URL, or standard Web Push (pywebpush).

FCM: ``URL`` is ``https://fcm.googleapis.com/v1/projects/<project>/messages:send`` (or a
gateway with the same shape), ``TOKEN`` the OAuth bearer token; the customer's ``push_token``
trait is the device registration token; the reply's ``name`` is the provider message id.

Web Push: the customer's ``webpush_subscription`` trait holds the browser's subscription JSON;
``VAPID_PRIVATE_KEY`` and ``VAPID_SUBJECT`` sign the request.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from realtime.delivery.base import BaseBackend, Message, SendResult, http_request


class FcmPushBackend(BaseBackend):
    def send(self, message: Message) -> SendResult:
        url = str(self.option("URL"))
        if not url:
            return SendResult.permanent("push URL is not configured (CDP_PUSH_URL)")
        if not message.to:
            return SendResult.permanent("the customer has no push token")
        body = orjson.dumps(
            {
                "message": {
                    "token": message.to,
                    "notification": {"title": message.title, "body": message.body},
                    "data": {"delivery_id": message.key, "customer_id": message.customer_id},
                }
            }
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self.option('TOKEN')}",
            "Idempotency-Key": message.key,
        }
        timeout = float(self.option("TIMEOUT", 5.0))  # type: ignore[arg-type]  # from settings
        return http_request(
            "POST", url, body=body, headers=headers, timeout=timeout, id_field="name"
        )


class WebPushBackend(BaseBackend):
    def send(self, message: Message) -> SendResult:
        from pywebpush import WebPushException, webpush

        subscription = message.metadata.get("webpush_subscription")
        if not isinstance(subscription, Mapping) or "endpoint" not in subscription:
            return SendResult.permanent("the customer has no web push subscription")
        data = orjson.dumps({"title": message.title, "body": message.body, "id": message.key})
        try:
            response = webpush(
                subscription_info=dict(subscription),
                data=data.decode(),
                vapid_private_key=str(self.option("VAPID_PRIVATE_KEY")),
                vapid_claims={"sub": str(self.option("VAPID_SUBJECT", "mailto:ops@invalid"))},
                timeout=float(self.option("TIMEOUT", 5.0)),  # type: ignore[arg-type]
            )
        except WebPushException as error:
            status = getattr(error.response, "status_code", 0) or 0
            if status in (404, 410) or (400 <= status < 500 and status != 429):
                return SendResult.permanent(f"web push refused: {error}")
            return SendResult.temporary(f"web push failed: {error}")
        except Exception as error:
            return SendResult.temporary(f"web push failed: {error}")
        return SendResult.sent(str(response.headers.get("Location", "")))
