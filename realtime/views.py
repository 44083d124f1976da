from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from realtime.health import health_check


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = health_check()
    down = [name for name, component in health.components.items() if not component["up"]]
    body = {"status": "ok" if not down else "down", "down": down, **health.components}
    return JsonResponse(body, status=200 if not down else 503)
