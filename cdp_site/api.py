"""API-wide behaviour: every error answers JSON that names the field, never a stack trace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# PostgreSQL stores neither in text or jsonb (and UTF-8 cannot encode a lone surrogate), so such
# input would fail at the database as a 500 instead of a 400 that names the field.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT_MESSAGE = "text cannot contain NUL characters (\\u0000) or unpaired surrogates."


def exception_handler(exception: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exception, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"]), **response.data}
    return response


def unstorable_text_path(value: object, path: str = "") -> str | None:
    """The JSON path of the first key or string in ``value`` that PostgreSQL cannot store."""
    if isinstance(value, str):
        return (path or "(body)") if UNSTORABLE_TEXT.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and UNSTORABLE_TEXT.search(key):
                return child.encode("unicode_escape").decode("ascii")
            found = unstorable_text_path(item, child)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_text_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing text the database cannot store, with the JSON path."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        path = unstorable_text_path(data)
        if path is not None:
            raise ParseError(f"{path}: {UNSTORABLE_TEXT_MESSAGE}")
        return data
