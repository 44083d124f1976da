"""Language of a WebSocket connection: what LocaleMiddleware would pick for the page.

Channels consumers do not run Django's middleware, so anything they render or word (dashboard
verdicts, funnel labels) would come out in the default language. The language switcher stores
the choice in the language cookie, which the socket's handshake carries like any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

from django.utils import translation


def scope_language(scope: Mapping[str, object]) -> str:
    """The language code for a Channels ``scope``: cookie, then Accept-Language, then default."""
    cookies = scope.get("cookies") or {}
    headers = dict(scope.get("headers") or ())  # type: ignore[call-overload]  # ASGI pairs
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    request = SimpleNamespace(COOKIES=cookies, META={"HTTP_ACCEPT_LANGUAGE": accept})
    return translation.get_language_from_request(request)  # type: ignore[arg-type]  # duck-typed
