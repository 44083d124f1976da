"""API-wide behaviour: every error answers JSON that names the field, never a stack trace."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exception: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exception, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"]), **response.data}
    return response
