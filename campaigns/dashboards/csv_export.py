"""CSV of every dashboard table, streamed, and safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is a formula
to Excel and LibreOffice; a campaign or segment name chosen by someone else must never run as
one (OWASP "CSV injection"), so such cells get a leading apostrophe. Numbers are written as
numbers (a negative lift stays -0.02, not '-0.02).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like sink for ``csv.writer`` that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def _get(mapping: Mapping[str, Any], path: str) -> object:
    value: Any = mapping
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, list):
        return " to ".join(str(item) for item in value)
    return value


def _table(
    columns: list[tuple[str, str]], items: Iterable[Mapping[str, Any]]
) -> Iterator[list[object]]:
    yield [title for title, _ in columns]
    for item in items:
        yield [_get(item, path) for _, path in columns]


def series_rows(figures: Mapping[str, Any]) -> Iterator[list[object]]:
    series = figures["series"]
    names = [name for name in series if name != "labels"]
    yield ["bucket", *names]
    for index, label in enumerate(series["labels"]):
        yield [label, *(series[name][index] for name in names)]


def funnel_rows(figures: Mapping[str, Any]) -> Iterator[list[object]]:
    return _table([("step", "step"), ("count", "count")], figures["funnel"])


def suppression_rows(figures: Mapping[str, Any]) -> Iterator[list[object]]:
    return _table([("reason", "reason"), ("count", "count")], figures["suppression"])


LIFT_COLUMNS = [
    ("conversion rate offer", "lift.rate_offer"),
    ("conversion rate control", "lift.rate_control"),
    ("lift (difference of rates)", "lift.absolute"),
    ("lift 95% CI (Newcombe)", "lift.interval"),
    ("lift 95% CI (Wald)", "lift.interval_wald"),
    ("relative lift", "lift.relative"),
    ("relative lift 95% CI", "lift.relative_interval"),
    ("p-value", "lift.p_value"),
    ("significant", "lift.is_significant"),
]
MONEY_COLUMNS = [
    ("revenue", "money.revenue"),
    ("cost", "money.cost"),
    ("ROI", "money.roi"),
    ("incremental revenue", "money.incremental_revenue"),
    ("incremental ROI", "money.incremental_roi"),
]
COUNT_COLUMNS = [
    (name, name)
    for name in (
        "triggered",
        "offered",
        "held_out",
        "suppressed",
        "sent",
        "delivered",
        "failed",
        "clicked",
        "converted_offer",
        "converted_control",
    )
]


def variant_rows(figures: Mapping[str, Any]) -> Iterator[list[object]]:
    return _table(
        [("variant", "variant"), *COUNT_COLUMNS, *LIFT_COLUMNS, *MONEY_COLUMNS],
        figures["variants"],
    )


def summary_rows(figures: Mapping[str, Any]) -> Iterator[list[object]]:
    item = {**figures["totals"], "lift": figures["lift"], "money": figures["money"]}
    return _table(
        [*COUNT_COLUMNS, *LIFT_COLUMNS, *MONEY_COLUMNS, ("statement", "lift.statement")], [item]
    )


def segment_rows(segments: list[dict[str, Any]], *, trait: str) -> Iterator[list[object]]:
    return _table(
        [
            (trait, "segment"),
            ("offered", "offered"),
            ("converted (offer)", "converted_offer"),
            ("held out", "held_out"),
            ("converted (control)", "converted_control"),
            ("suppressed", "suppressed"),
            *LIFT_COLUMNS,
        ],
        segments,
    )


def decision_rows(rows: Iterable[tuple[object, ...]]) -> Iterator[Iterable[object]]:
    yield ["decision", "occurred_at", "customer", "outcome", "suppression_reason", "variant"]
    yield from rows


def overview_rows(rows: list[dict[str, Any]]) -> Iterator[list[object]]:
    return _table(
        [
            ("campaign", "campaign"),
            ("status", "status"),
            *COUNT_COLUMNS,
            ("delivery rate", "delivery_rate"),
            *LIFT_COLUMNS,
            *MONEY_COLUMNS,
        ],
        rows,
    )


def alert_rows(alerts: Iterable[Any]) -> Iterator[list[object]]:
    return _table(
        [
            ("campaign", "campaign"),
            ("metric", "metric_label"),
            ("last hour", "recent_rate"),
            ("day before", "baseline_rate"),
            ("relative drop", "relative_drop"),
        ],
        (alert.as_dict() for alert in alerts),
    )


FIGURE_TABLES: dict[str, Callable[[Mapping[str, Any]], Iterator[list[object]]]] = {
    "summary": summary_rows,
    "series": series_rows,
    "funnel": funnel_rows,
    "suppression": suppression_rows,
    "variants": variant_rows,
}
