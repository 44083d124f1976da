"""Writes of customer profiles: upserts (one and many), facts set by rules, CSV imports, the
Redis mirror.

PostgreSQL is the system of record. Every change is mirrored into Redis (``cdp:profile:<id>``,
the JSON object of the traits) for the engine, and — when it comes through the API or an import —
announced as a ``profile_updated`` event on the customer's partition stream, so the engine sees
profile changes in order with the customer's other events. The Redis writes happen after the
database transaction committed; if Redis is down at that moment, ``manage.py
profile_mirror_rebuild`` puts the mirror back in step.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import orjson
from django.db import connection, transaction
from django.utils import timezone

from realtime import streams
from realtime.engine.model import PROFILE_UPDATED
from realtime.ingest.validation import MAX_ID_LENGTH, Rejection
from segments.models import Customer, CustomerImport

MAX_TRAITS = 200
MAX_TRAIT_NAME = 64
MAX_TRAIT_TEXT = 1000
MAX_BATCH = 1000


class ProfileError(ValueError):
    def __init__(self, field: str, error: str) -> None:
        super().__init__(f"{field}: {error}")
        self.field = field
        self.error = error


@dataclass(frozen=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [rejection.to_dict() for rejection in self.rejected],
        }


def _trait_value_ok(value: object, depth: int = 0) -> bool:
    if value is None or type(value) in (bool, int, float):
        return True
    if type(value) is str:
        return len(value) <= MAX_TRAIT_TEXT  # type: ignore[arg-type]  # str here
    if depth >= 2:
        return False
    if type(value) is list:
        return all(_trait_value_ok(item, depth + 1) for item in value)  # type: ignore[attr-defined]
    if type(value) is dict:
        return all(
            type(key) is str and _trait_value_ok(item, depth + 1)
            for key, item in value.items()  # type: ignore[attr-defined]  # dict here
        )
    return False


def traits_clean(customer_id: object, traits: object) -> tuple[str, dict[str, object]]:
    """Checks one profile; raises ``ProfileError`` naming the field."""
    if type(customer_id) is not str or not customer_id or len(customer_id) > MAX_ID_LENGTH:
        raise ProfileError(
            "customer_id", f"must be non-empty text of at most {MAX_ID_LENGTH} characters"
        )
    if type(traits) is not dict:
        raise ProfileError("traits", "must be an object of trait name → value")
    if len(traits) > MAX_TRAITS:  # type: ignore[arg-type]  # dict here
        raise ProfileError("traits", f"at most {MAX_TRAITS} traits")
    for name, value in traits.items():  # type: ignore[attr-defined]  # dict here
        if not name or len(name) > MAX_TRAIT_NAME:
            raise ProfileError("traits", f"trait names are 1 to {MAX_TRAIT_NAME} characters")
        if not _trait_value_ok(value):
            raise ProfileError(
                f"traits.{name}",
                f"must be text (at most {MAX_TRAIT_TEXT} characters), a number, true/false, "
                "null, or a list/object of those at most 2 levels deep",
            )
    return customer_id, traits  # type: ignore[return-value]  # checked above


def _merged(current: Mapping[str, object], changes: Mapping[str, object]) -> dict[str, object]:
    """Traits after applying ``changes``: a value overwrites, ``null`` removes the trait."""
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, object]:
    changed = {name: value for name, value in after.items() if before.get(name) != value}
    changed.update({name: None for name in before if name not in after})
    return changed


def _profile_event(customer_id: str, changed: Mapping[str, object], now: float) -> bytes:
    return streams.encode_event(
        {
            "event_id": uuid.uuid4().hex,
            "type": PROFILE_UPDATED,
            "customer_id": customer_id,
            "ts": now,
            "attributes": dict(changed),
        }
    )


def profile_mirror_write(
    profiles: Mapping[str, Mapping[str, object]],
    *,
    changes: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """One pipeline: the mirror of each profile, and a ``profile_updated`` event per change."""
    if not profiles:
        return
    now = time.time()
    with streams.redis_client().pipeline(transaction=False) as pipe:
        pipe.mset(
            {
                streams.profile_key(customer_id): orjson.dumps(dict(traits))
                for customer_id, traits in profiles.items()
            }
        )
        for customer_id, changed in (changes or {}).items():
            stream = streams.event_stream_key(streams.partition_of(customer_id))
            pipe.xadd(stream, {"e": _profile_event(customer_id, changed, now)})
        pipe.execute()


def customer_upsert_many(*, rows: Iterable[Mapping[str, object]]) -> UpsertResult:
    """Creates or updates many profiles in one statement; traits are merged into what is stored
    (``null`` removes a trait). Rows that fail validation are listed by index and field; the
    others are stored. Raises ``ProfileError`` for more than ``MAX_BATCH`` rows."""
    rows = list(rows)
    if len(rows) > MAX_BATCH:
        raise ProfileError("customers", f"at most {MAX_BATCH} customers per request")
    rejected: list[Rejection] = []
    incoming: dict[str, dict[str, object]] = {}
    for index, row in enumerate(rows):
        if type(row) is not dict:
            rejected.append(Rejection(index, "", "must be an object with customer_id and traits"))
            continue
        try:
            customer_id, traits = traits_clean(row.get("customer_id"), row.get("traits", {}))
        except ProfileError as error:
            rejected.append(Rejection(index, error.field, error.error))
            continue
        incoming[customer_id] = _merged(incoming.get(customer_id, {}), traits) | {
            name: None for name, value in traits.items() if value is None
        }
    if not incoming:
        return UpsertResult(rejected=rejected)
    created = updated = unchanged = 0
    profiles: dict[str, dict[str, object]] = {}
    changes: dict[str, dict[str, object]] = {}
    with transaction.atomic():
        existing = dict(
            Customer.objects.select_for_update()
            .filter(customer_id__in=list(incoming))
            .values_list("customer_id", "traits")
        )
        now = timezone.now()
        to_write = []
        for customer_id, traits in incoming.items():
            before = existing.get(customer_id)
            after = _merged(before or {}, traits)
            changed = _changed_fields(before or {}, after)
            if before is not None and not changed:
                unchanged += 1
                continue
            if before is None:
                created += 1
            else:
                updated += 1
            profiles[customer_id] = after
            changes[customer_id] = changed
            to_write.append(Customer(customer_id=customer_id, traits=after, updated_at=now))
        if to_write:
            Customer.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["customer_id"],
                update_fields=["traits", "updated_at"],
            )
    profile_mirror_write(profiles, changes=changes)
    return UpsertResult(created=created, updated=updated, unchanged=unchanged, rejected=rejected)


def customer_upsert(*, customer_id: str, traits: Mapping[str, object]) -> Customer:
    """Creates or updates one profile (traits merged; ``null`` removes a trait)."""
    result = customer_upsert_many(rows=[{"customer_id": customer_id, "traits": dict(traits)}])
    if result.rejected:
        rejection = result.rejected[0]
        raise ProfileError(rejection.field, rejection.error)
    return Customer.objects.get(customer_id=customer_id)


def customer_facts_apply(*, updates: list[tuple[str, dict]]) -> None:
    """Facts set by rules (``set_fact``) written back: one SQL statement, one Redis pipeline.

    Facts are merged into the traits (creating the customer if unknown). No ``profile_updated``
    event is emitted: the engine that set the facts already applied them.
    """
    merged: dict[str, dict] = {}
    for customer_id, facts in updates:
        merged.setdefault(customer_id, {}).update(facts)
    if not merged:
        return
    identifiers = list(merged)
    payloads = [orjson.dumps(merged[customer_id]).decode() for customer_id in identifiers]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Customer._meta.db_table} (customer_id, traits, created_at, updated_at) "
            "SELECT u.customer_id, u.facts::jsonb, now(), now() "
            "FROM unnest(%s::text[], %s::text[]) AS u(customer_id, facts) "
            "ON CONFLICT (customer_id) DO UPDATE SET "
            f"traits = {Customer._meta.db_table}.traits || EXCLUDED.traits, updated_at = now() "
            "RETURNING customer_id, traits",
            [identifiers, payloads],
        )
        rows = cursor.fetchall()
    profile_mirror_write(
        {
            customer_id: traits if isinstance(traits, dict) else orjson.loads(traits)
            for customer_id, traits in rows
        }
    )


def profile_mirror_rebuild(*, chunk_size: int = 5000) -> tuple[int, int]:
    """Writes every profile into Redis and removes mirror keys of customers that no longer
    exist. Returns (written, removed)."""
    client = streams.redis_client()
    written = 0
    known: set[bytes] = set()
    chunk: dict[str, bytes] = {}
    for customer_id, traits in Customer.objects.values_list("customer_id", "traits").iterator(
        chunk_size=chunk_size
    ):
        profile = streams.profile_key(customer_id)
        chunk[profile] = orjson.dumps(traits)
        known.add(profile.encode())
        if len(chunk) >= chunk_size:
            client.mset(chunk)
            written += len(chunk)
            chunk = {}
    if chunk:
        client.mset(chunk)
        written += len(chunk)
    removed = 0
    stale: list[bytes] = []
    for profile in client.scan_iter(match=streams.profile_key("*"), count=1000):
        if profile not in known:
            stale.append(profile)
        if len(stale) >= 1000:
            removed += client.delete(*stale)
            stale = []
    if stale:
        removed += client.delete(*stale)
    return written, removed


# ---------------------------------------------------------------------------------------------
# CSV import


def _csv_value(text: str) -> object:
    """CSV cells are text; numbers and true/false become typed traits, empty cells are skipped."""
    value = text.strip()
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return value
    return number if number == number and abs(number) != float("inf") else value


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, {"customer_id", "traits"}) for each data line of a CSV with a header."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "customer_id" not in reader.fieldnames:
        raise ProfileError("file", "the first line must name the columns, one of them customer_id")
    for row in reader:
        customer_id = (row.pop("customer_id") or "").strip()
        row.pop(None, None)  # type: ignore[call-overload]  # extra cells beyond the header
        traits = {name.strip(): _csv_value(value) for name, value in row.items() if name and value}
        yield reader.line_num, {"customer_id": customer_id, "traits": traits}


@transaction.atomic
def customer_import_create(
    *, file_name: str, content: bytes, user: object | None
) -> CustomerImport:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProfileError("file", f"is not UTF-8 text (byte {error.start})") from None
    lines = sum(1 for _ in csv_rows(text))
    return CustomerImport.objects.create(
        file_name=file_name[:200],
        content=text,
        rows_total=lines,
        created_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]  # a User
    )


def customer_import_run(
    *,
    customer_import: CustomerImport,
    chunk_size: int = 500,
    on_progress: Callable[[CustomerImport], None] | None = None,
) -> CustomerImport:
    """Upserts the file's rows in chunks, saving progress after each so a page can show it.

    Re-running an import is safe: upserts are idempotent.
    """
    customer_import.status = CustomerImport.Status.RUNNING
    customer_import.rows_done = customer_import.created = customer_import.updated = 0
    customer_import.errors = []
    customer_import.save()
    chunk: list[tuple[int, dict[str, object]]] = []

    def flush() -> None:
        result = customer_upsert_many(rows=[row for _, row in chunk])
        customer_import.created += result.created
        customer_import.updated += result.updated
        for rejection in result.rejected:
            if len(customer_import.errors) < 100:
                customer_import.errors.append(
                    {
                        "line": chunk[rejection.index][0],
                        "field": rejection.field,
                        "error": rejection.error,
                    }
                )
        customer_import.rows_done += len(chunk)
        customer_import.save(update_fields=["created", "updated", "errors", "rows_done"])
        if on_progress is not None:
            on_progress(customer_import)
        chunk.clear()

    try:
        for line, row in csv_rows(customer_import.content):
            chunk.append((line, row))
            if len(chunk) >= chunk_size:
                flush()
        if chunk:
            flush()
    except ProfileError as error:
        customer_import.errors.append({"line": 1, "field": error.field, "error": error.error})
        customer_import.status = CustomerImport.Status.FAILED
    else:
        customer_import.status = CustomerImport.Status.DONE
    customer_import.finished_at = timezone.now()
    customer_import.save()
    return customer_import
