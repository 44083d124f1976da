"""Request checks that hold for every page and API endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"


class RejectNulCharactersMiddleware:
    """A NUL character in the path or the query string is a 400 naming where it was.

    PostgreSQL cannot store or even compare text containing NUL: a search, a filter or an id
    carrying one would fail in the database as a 500, on every page that reads a parameter.
    No legitimate client sends one. (A query string cannot carry unpaired surrogates: Django
    decodes invalid UTF-8 to replacement characters. Bodies are checked by the forms and by
    ``cdp_site.api.StrictJSONParser``.)
    """

    # Both, so that async views (ingest) are not moved to a thread for this check.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        return self._refusal(request) or self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._refusal(request) or await self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        problem = self._problem(request)
        if problem is None:
            return None
        field, message = problem
        if request.path_info.startswith("/api/"):
            body = {"error": f"{field}: {message}", "errors": {field: [message]}}
            return JsonResponse(body, status=400)
        return HttpResponseBadRequest(
            f"Bad request. {field}: {message}", content_type="text/plain; charset=utf-8"
        )

    @staticmethod
    def _problem(request: HttpRequest) -> tuple[str, str] | None:
        if NUL in request.path_info:
            return "path", "The address contains a NUL character (%00)."
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                shown = name.replace(NUL, "\\u0000")
                return shown, "The query parameter contains a NUL character (%00)."
        return None
