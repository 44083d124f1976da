"""Array parameters for the delivery hot path's raw SQL.

Django's psycopg backend binds parameters on the client: a Python list becomes an ``ARRAY[...]``
whose every item psycopg quotes in Python. A batch passes a few hundred ids per statement, so
the arrays travel as one literal string each (``%s::bigint[]``, ``%s::text[]``) instead.
"""

from __future__ import annotations

from collections.abc import Iterable


def bigint_array(values: Iterable[int | None]) -> str:
    """A ``bigint[]`` literal of the values that are not None."""
    return "{" + ",".join(str(int(value)) for value in values if value is not None) + "}"


def text_array(values: Iterable[str]) -> str:
    """A ``text[]`` literal: every element quoted, backslashes and quotes escaped."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"
