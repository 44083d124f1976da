"""ASGI entry point: HTTP through Django, WebSockets through Channels consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")
django_asgi_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from cdp_site.routing import (  # noqa: E402
    browser_websocket_urlpatterns,
    source_websocket_urlpatterns,
)
from realtime.ingest.http import IngestAsgiApp  # noqa: E402

application = ProtocolTypeRouter(
    {
        # POST /api/v1/events skips Django's per-request machinery (see realtime.ingest.http).
        "http": IngestAsgiApp(django_asgi_application),
        "websocket": URLRouter(
            [
                *source_websocket_urlpatterns,
                re_path(
                    r"",
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(browser_websocket_urlpatterns))
                    ),
                ),
            ]
        ),
    }
)
