"""Each channel backend against a real local server: HTTP (pytest-httpserver), SMTP (aiosmtpd),
and the staff console's channel layer (Redis)."""

from __future__ import annotations

import email
import hashlib
import hmac
import socket
from collections.abc import Iterator
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

from realtime.delivery import Message, backend_for
from realtime.delivery.webhook import webhook_signature


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield inbox
    controller.stop()


def test_webhook_is_signed_with_hmac_sha256(httpserver: HTTPServer, channels: Any) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    channels(webhook=httpserver.url_for("/hook"))
    message = Message(channel="webhook", key="42", customer_id="c-1", payload={"a": "<b>"})

    result = backend_for("webhook").send(message)

    assert result.is_sent
    request = httpserver.log[0][0]
    body = request.get_data()
    secret = backend_for("webhook").options["SECRET"]  # type: ignore[attr-defined]
    expected = webhook_signature(str(secret), request.headers["X-CDP-Timestamp"], body)
    assert hmac.compare_digest(request.headers["X-CDP-Signature"], expected)
    assert expected.startswith("sha256=") and len(expected) == 7 + hashlib.sha256().digest_size * 2
    assert request.headers["Idempotency-Key"] == "42"
    assert request.get_json() == {
        "delivery_id": "42",
        "customer_id": "c-1",
        "payload": {"a": "<b>"},
    }


@pytest.mark.parametrize(
    ("status", "is_temporary"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_http_failures_are_temporary_or_permanent(
    httpserver: HTTPServer, channels: Any, status: int, is_temporary: bool
) -> None:
    httpserver.expect_request("/sms").respond_with_data("no", status=status)
    channels(sms=httpserver.url_for("/sms"))
    result = backend_for("sms").send(
        Message(channel="sms", key="1", customer_id="c", to="+8210", body="hi")
    )
    assert not result.is_sent
    assert result.is_temporary is is_temporary
    assert result.error.startswith(f"HTTP {status}")


def test_unreachable_provider_is_a_temporary_failure(channels: Any) -> None:
    channels(sms="http://127.0.0.1:9/sms")
    result = backend_for("sms").send(Message(channel="sms", key="1", customer_id="c", to="+1"))
    assert not result.is_sent and result.is_temporary


def test_sms_is_a_twilio_form_post_with_basic_auth(
    httpserver: HTTPServer, channels: Any, settings: Any
) -> None:
    httpserver.expect_request("/Messages.json", method="POST").respond_with_json({"sid": "SM9"})
    channels(sms=httpserver.url_for("/Messages.json"))
    settings.CDP_CHANNELS["sms"].update(ACCOUNT_SID="AC1", AUTH_TOKEN="secret", FROM="+100")
    from realtime.delivery import backends_reset

    backends_reset()
    result = backend_for("sms").send(
        Message(channel="sms", key="7", customer_id="c", to="+8210", body="code X")
    )
    assert result.is_sent and result.provider_message_id == "SM9"
    request = httpserver.log[0][0]
    assert request.form.to_dict() == {"To": "+8210", "From": "+100", "Body": "code X"}
    assert request.authorization.username == "AC1"
    assert request.authorization.password == "secret"


def test_push_is_an_fcm_v1_message(httpserver: HTTPServer, channels: Any) -> None:
    httpserver.expect_request("/v1/projects/p/messages:send").respond_with_json(
        {"name": "projects/p/messages/1"}
    )
    channels(push=httpserver.url_for("/v1/projects/p/messages:send"))
    result = backend_for("push").send(
        Message(channel="push", key="3", customer_id="c", to="tok", title="T", body="B")
    )
    assert result.is_sent and result.provider_message_id == "projects/p/messages/1"
    sent = httpserver.log[0][0].get_json()
    assert sent["message"]["token"] == "tok"
    assert sent["message"]["notification"] == {"title": "T", "body": "B"}


def test_push_without_a_token_fails_permanently_without_calling(
    httpserver: HTTPServer, channels: Any
) -> None:
    channels(push=httpserver.url_for("/push"))
    result = backend_for("push").send(Message(channel="push", key="3", customer_id="c"))
    assert not result.is_sent and not result.is_temporary
    assert httpserver.log == []


def test_email_goes_through_a_real_smtp_server(smtp_server: Inbox, channels: Any) -> None:
    channels()
    message = Message(
        channel="email",
        key="9",
        customer_id="c",
        to="minji@example.com",
        title="Your coupon",
        body="code SAVE-1",
        html_body="<p>code SAVE-1 &lt;script&gt;</p>",
    )
    result = backend_for("email").send(message)
    assert result.is_sent and result.provider_message_id.startswith("<")
    assert smtp_server.recipients == [["minji@example.com"]]
    received = smtp_server.messages[0]
    assert received["Subject"] == "Your coupon"
    assert received["X-CDP-Delivery"] == "9"
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in received.walk()}
    assert parts["text/plain"].decode().strip() == "code SAVE-1"
    assert b"&lt;script&gt;" in parts["text/html"]


def test_email_with_the_mail_server_down_is_temporary(settings: Any, channels: Any) -> None:
    channels()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    result = backend_for("email").send(
        Message(channel="email", key="9", customer_id="c", to="a@example.com", title="t")
    )
    assert not result.is_sent and result.is_temporary


def test_an_unconfigured_channel_fails_over_at_once(channels: Any) -> None:
    channels(sms="")
    result = backend_for("sms").send(Message(channel="sms", key="1", customer_id="c", to="+1"))
    assert not result.is_sent and not result.is_temporary
    assert "not configured" in result.error
