"""Email through Django's email backend: SMTP by default, any django-anymail provider by
setting ``EMAIL_BACKEND`` (e.g. ``anymail.backends.amazon_ses.EmailBackend``) and its keys."""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from realtime.delivery.base import BaseBackend, Message, SendResult


class EmailBackend(BaseBackend):
    def _build(self, message: Message) -> EmailMultiAlternatives:
        email = EmailMultiAlternatives(
            subject=message.title,
            body=message.body,
            from_email=str(self.option("FROM", "")) or None,
            to=[message.to],
            headers={"Message-ID": make_msgid(domain="cdp.local"), "X-CDP-Delivery": message.key},
        )
        if message.html_body:
            email.attach_alternative(message.html_body, "text/html")
        return email

    def send(self, message: Message) -> SendResult:
        return self.send_many([message])[0]

    def timeout(self) -> float:
        return float(settings.EMAIL_TIMEOUT or 10)

    def send_many(
        self, messages: Sequence[Message], *, deadline: float | None = None
    ) -> list[SendResult]:
        results: list[SendResult] = []
        try:
            connection = get_connection(fail_silently=False)
            connection.open()
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            return [SendResult.temporary(f"mail server unreachable: {error}") for _ in messages]
        try:
            for message in messages:
                if deadline is not None and time.monotonic() > deadline:
                    results.append(SendResult.deferred())
                    continue
                if not message.to:
                    results.append(SendResult.permanent("the customer has no email address"))
                    continue
                email = self._build(message)
                try:
                    connection.send_messages([email])
                except smtplib.SMTPRecipientsRefused as error:
                    results.append(SendResult.permanent(f"recipient refused: {error}"))
                except smtplib.SMTPResponseException as error:
                    failure = SendResult.permanent if 500 <= error.smtp_code < 600 else None
                    text = f"SMTP {error.smtp_code}: {error.smtp_error!r}"
                    results.append((failure or SendResult.temporary)(text))
                except (smtplib.SMTPException, OSError) as error:
                    results.append(SendResult.temporary(f"SMTP error: {error}"))
                else:
                    results.append(SendResult.sent(str(email.extra_headers["Message-ID"])))
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()
        return results
