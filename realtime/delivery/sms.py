"""SMS through an HTTP provider speaking Twilio's Messages API.

``URL`` is the full Messages endpoint, e.g.
``https://api.twilio.com/2010-04-01/Accounts/<sid>/Messages.json``; the request is a form POST
(``To``, ``From``, ``Body``) with HTTP basic auth ``ACCOUNT_SID:AUTH_TOKEN``; the reply's
``sid`` is the provider message id.
"""

from __future__ import annotations

import base64

from realtime.delivery.base import BaseBackend, Message, SendResult, http_request


class TwilioSmsBackend(BaseBackend):
    def send(self, message: Message) -> SendResult:
        url = str(self.option("URL"))
        if not url:
            return SendResult.permanent("SMS provider URL is not configured (CDP_SMS_URL)")
        if not message.to:
            return SendResult.permanent("the customer has no phone number")
        credentials = f"{self.option('ACCOUNT_SID')}:{self.option('AUTH_TOKEN')}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": message.key,
        }
        fields = {"To": message.to, "From": str(self.option("FROM")), "Body": message.body}
        timeout = float(self.option("TIMEOUT", 5.0))  # type: ignore[arg-type]  # from settings
        return http_request(
            "POST", url, fields=fields, headers=headers, timeout=timeout, id_field="sid"
        )
