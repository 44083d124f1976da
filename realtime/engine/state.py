"""Keyed state of one customer, and its JSON-able snapshot.

Everything a rule remembers lives here, so a customer's state can be checkpointed and moved
between workers alone. Containers are created on first use: a customer no rule cares about
costs nothing, and most cost a few small arrays.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .model import Event

SNAPSHOT_VERSION = 1
TimerKind = Literal["wait", "defer", "date"]


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer. ``trigger`` is the event the rule fired on (re-read when it fires)."""

    timer_id: str
    kind: TimerKind
    campaign_id: int
    version: int
    due: float
    trigger: Event
    unless_until: float | None = None  # a matching 'unless' event up to then cancels it
    unless_key: object = None  # the 'same' values the cancelling event must carry
    recheck: bool = False  # re-evaluate the conditions when it fires (delay, date)

    def to_json(self) -> dict[str, object]:
        key = self.unless_key
        return {
            "id": self.timer_id,
            "k": self.kind,
            "c": self.campaign_id,
            "v": self.version,
            "due": self.due,
            "e": self.trigger.to_dict(),
            "uu": self.unless_until,
            "uk": list(key) if isinstance(key, tuple) else key,
            "r": self.recheck,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Timer:
        key = data.get("uk")
        return cls(
            timer_id=str(data["id"]),
            kind=data["k"],  # type: ignore[arg-type]  # written by to_json
            campaign_id=int(data["c"]),  # type: ignore[call-overload]  # written by to_json
            version=int(data["v"]),  # type: ignore[call-overload]  # written by to_json
            due=float(data["due"]),  # type: ignore[arg-type]  # written by to_json
            trigger=Event.from_dict(data["e"]),  # type: ignore[arg-type]  # written by to_json
            unless_until=data.get("uu"),  # type: ignore[arg-type]  # written by to_json
            unless_key=tuple(key) if isinstance(key, list) else key,
            recheck=bool(data.get("r")),
        )


class CustomerState:
    """Per-customer memory. Plain containers on purpose: cheap to create, copy and dump."""

    __slots__ = ("caps", "daily", "dates", "goals", "offers", "timers", "windows")

    def __init__(self) -> None:
        # stream key -> array('d') | (array, array) | {same key: either}
        self.windows: dict[str, object] = {}
        self.timers: dict[str, Timer] | None = None
        self.caps: dict[int, list[float]] | None = None  # campaign -> decision times
        self.offers: dict[str, list[float]] | None = None  # offer slug -> times sent
        self.daily: list[float] | None = None  # times of offers (platform daily cap)
        # campaign -> [decision id, decided at, deadline, outcome]
        self.goals: dict[int, list[object]] | None = None
        self.dates: dict[int, str] | None = None  # campaign -> date value already handled

    def is_empty(self) -> bool:
        return not (
            self.windows
            or self.timers
            or self.caps
            or self.offers
            or self.daily
            or self.goals
            or self.dates
        )

    # --- snapshot ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"v": SNAPSHOT_VERSION}
        if self.windows:
            data["w"] = {key: _dump_stream(value) for key, value in self.windows.items()}
        if self.timers:
            data["t"] = [timer.to_json() for timer in self.timers.values()]
        if self.caps:
            data["c"] = {str(key): list(value) for key, value in self.caps.items()}
        if self.offers:
            data["o"] = {key: list(value) for key, value in self.offers.items()}
        if self.daily:
            data["d"] = list(self.daily)
        if self.goals:
            data["g"] = {str(key): list(value) for key, value in self.goals.items()}
        if self.dates:
            data["dt"] = {str(key): value for key, value in self.dates.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CustomerState:
        if data.get("v") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported state snapshot version {data.get('v')!r}")
        state = cls()
        windows = data.get("w") or {}
        state.windows = {key: _load_stream(value) for key, value in windows.items()}  # type: ignore[attr-defined]
        timers = data.get("t")
        if timers:
            loaded = (Timer.from_json(item) for item in timers)  # type: ignore[attr-defined]
            state.timers = {timer.timer_id: timer for timer in loaded}
        caps = data.get("c")
        if caps:
            state.caps = {int(key): list(value) for key, value in caps.items()}  # type: ignore[attr-defined]
        offers = data.get("o")
        if offers:
            state.offers = {key: list(value) for key, value in offers.items()}  # type: ignore[attr-defined]
        if data.get("d"):
            state.daily = list(data["d"])  # type: ignore[call-overload]
        goals = data.get("g")
        if goals:
            state.goals = {int(key): list(value) for key, value in goals.items()}  # type: ignore[attr-defined]
        dates = data.get("dt")
        if dates:
            state.dates = {int(key): str(value) for key, value in dates.items()}  # type: ignore[attr-defined]
        return state

    def to_bytes(self) -> bytes:
        return dumps(self.to_json())

    @classmethod
    def from_bytes(cls, blob: bytes) -> CustomerState:
        return cls.from_json(json.loads(blob))


def _dump_stream(value: object) -> object:
    if isinstance(value, array):
        return value.tolist()
    if isinstance(value, tuple):
        return {"ts": value[0].tolist(), "v": value[1].tolist()}
    buckets: dict[object, object] = value  # type: ignore[assignment]  # keyed stream
    return {
        "k": [
            [list(key) if isinstance(key, tuple) else key, _dump_stream(inner)]
            for key, inner in buckets.items()
        ]
    }


def _load_stream(value: object) -> object:
    if isinstance(value, list):
        return array("d", value)
    if not isinstance(value, dict):
        raise ValueError("malformed window in state snapshot")
    if "k" in value:
        return {
            (tuple(key) if isinstance(key, list) else key): _load_stream(inner)
            for key, inner in value["k"]
        }
    return (array("d", value["ts"]), array("d", value["v"]))


try:  # orjson is a runtime dependency of the platform; the pure core still works without it
    import orjson

    def dumps(data: object) -> bytes:
        return orjson.dumps(data)

except ImportError:  # pragma: no cover - exercised only where orjson is absent

    def dumps(data: object) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()
