"""Writes of event collection: the ingest hot path, the event-type registry, sources and keys.

The hot path (``events_ingest``) does, per request: one cached key lookup (no PostgreSQL), one
Redis pipeline for the rate limit, orjson parsing, compiled validators (no serializer per event)
and ONE Redis round trip — a Lua script that, per event, sets the dedupe marker with NX and
appends to the customer's partition stream only if the marker was new. The reply is built after
that script returned, so a 2xx means Redis has the events.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from realtime import streams
from realtime.ingest.validation import Rejection, Validator, events_validate, validators_compile
from realtime.models import AttributeType, EventType, Source

MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 1024 * 1024
SOURCE_KEY_PREFIX = "cdpk_"

# KEYS: dedupe key and stream key of event 1, of event 2, ...; ARGV: ttl, payload 1, payload 2...
# Returns one character per event: "1" appended, "0" duplicate. If an XADD fails, its dedupe
# marker is removed again so a retry of the same event is not mistaken for a duplicate.
_APPEND_LUA = """
local ttl = ARGV[1]
local flags = {}
for i = 2, #ARGV do
  local dedupe = KEYS[2 * i - 3]
  if redis.call('SET', dedupe, '1', 'NX', 'EX', ttl) then
    local added = redis.pcall('XADD', KEYS[2 * i - 2], '*', 'e', ARGV[i])
    if type(added) == 'table' and added.err then
      redis.call('DEL', dedupe)
      return redis.error_reply(added.err)
    end
    flags[i - 1] = '1'
  else
    flags[i - 1] = '0'
  end
end
return table.concat(flags)
"""
_APPEND_SHA = hashlib.sha1(_APPEND_LUA.encode()).hexdigest()


class IngestError(Exception):
    """The whole request is refused (nothing was accepted): HTTP ``status`` with ``error``."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        field: str | None = None,
        rejected: list[Rejection] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field
        self.rejected = rejected or []

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.error}
        if self.field is not None:
            body["field"] = self.field
        if self.rejected:
            body.update(accepted=0, duplicates=0)
            body["rejected"] = [rejection.to_dict() for rejection in self.rejected]
        return body


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection] = field(default_factory=list)
    #: Per input index: the event's id (given or generated), or None when rejected.
    event_ids: list[str | None] = field(default_factory=list)
    #: One character per valid event, in input order: "1" appended, "0" duplicate.
    flags: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [rejection.to_dict() for rejection in self.rejected],
            "event_ids": self.event_ids,
        }


@dataclass(frozen=True)
class SourceIdentity:
    """What the hot path needs of a source: kept in a per-process cache, never a model."""

    id: int
    name: str
    rate_limit_per_second: int


# ---------------------------------------------------------------------------------------------
# Sources and their keys


def source_key_hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast unsalted hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode()).hexdigest()


_source_cache: dict[str, tuple[float, SourceIdentity | None]] = {}


def source_cache_clear() -> None:
    _source_cache.clear()


@transaction.atomic
def source_create(
    *, name: str, user: object | None = None, rate_limit_per_second: int | None = None
) -> tuple[Source, str]:
    """Creates a source; returns it with its API key, which is shown once and stored hashed."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A source needs a name."})
    key = SOURCE_KEY_PREFIX + secrets.token_urlsafe(32)
    source = Source(
        name=name[:100],
        key_hash=source_key_hash(key),
        key_prefix=key[:12],
        created_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]  # a User
    )
    if rate_limit_per_second is not None:
        source.rate_limit_per_second = rate_limit_per_second
    source.full_clean()
    source.save()
    return source, key


@transaction.atomic
def source_revoke(*, source: Source) -> Source:
    """The key stops working in this process at once, in every other within the cache TTL."""
    if source.revoked_at is None:
        source.revoked_at = timezone.now()
        source.save(update_fields=["revoked_at"])
    source_cache_clear()
    return source


def _connection_refresh() -> None:
    """What Django's request signals do, for the lean ASGI path that sends none: drop a
    database connection that is broken or past its age (never inside a transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _source_lookup(digest: str) -> SourceIdentity | None:
    _connection_refresh()
    row = (
        Source.objects.filter(key_hash=digest, revoked_at__isnull=True)
        .values_list("id", "name", "rate_limit_per_second")
        .first()
    )
    return SourceIdentity(*row) if row else None


async def source_authenticate(key: str) -> SourceIdentity | None:
    """The active source holding ``key``, from a per-process cache of a few seconds.

    Unknown keys are cached too, so guessing keys does not reach PostgreSQL per request.
    Revocation takes effect within ``CDP_SOURCE_CACHE_SECONDS``.
    """
    digest = source_key_hash(key)
    now = time.monotonic()
    hit = _source_cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    identity = await sync_to_async(_source_lookup)(digest)
    if len(_source_cache) > 10_000:
        _source_cache.clear()
    _source_cache[digest] = (now + settings.CDP_SOURCE_CACHE_SECONDS, identity)
    return identity


async def source_rate_limit_allows(source: SourceIdentity) -> bool:
    """One INCR per request on a per-second counter (fixed window)."""
    second = int(time.time())
    counter = streams.key("ratelimit", source.id, second)
    async with streams.async_redis_client().pipeline(transaction=False) as pipe:
        pipe.incr(counter)
        pipe.expire(counter, 2)
        count, _ = await pipe.execute()
    return int(count) <= source.rate_limit_per_second


# ---------------------------------------------------------------------------------------------
# The event-type registry


def _registry_version_key() -> str:
    return streams.key("event_types", "version")


@dataclass
class _RegistryCache:
    prefix: str | None = None
    version: bytes | None = None
    checked_at: float = 0.0
    validators: dict[str, Validator] = field(default_factory=dict)


_registry_cache = _RegistryCache()
REGISTRY_CHECK_SECONDS = 1.0


def registry_cache_clear() -> None:
    _registry_cache.prefix = None


def _registry_refresh() -> dict[str, Validator]:
    from realtime.ingest.selectors import event_type_definitions

    _connection_refresh()
    version = streams.redis_client().get(_registry_version_key())
    prefix = settings.CDP_KEY_PREFIX
    if _registry_cache.prefix != prefix or _registry_cache.version != version:
        _registry_cache.validators = validators_compile(event_type_definitions())
        _registry_cache.prefix = prefix
        _registry_cache.version = version
    _registry_cache.checked_at = time.monotonic()
    return _registry_cache.validators


async def event_validators() -> dict[str, Validator]:
    """Compiled validators of the registry; rebuilt at most once per change, checked each second."""
    if (
        _registry_cache.prefix == settings.CDP_KEY_PREFIX
        and time.monotonic() - _registry_cache.checked_at < REGISTRY_CHECK_SECONDS
    ):
        return _registry_cache.validators
    return await sync_to_async(_registry_refresh)()


def _registry_changed() -> None:
    registry_cache_clear()
    transaction.on_commit(lambda: streams.redis_client().incr(_registry_version_key()))
    # Until the commit other processes keep the old version; this one rebuilds on next use.


def attributes_clean(attributes: object) -> list[dict[str, object]]:
    """The registry's attribute list, checked; errors name the attribute by position."""
    if not isinstance(attributes, list):
        raise ValidationError({"attributes": "must be a list of attributes"})
    cleaned: list[dict[str, object]] = []
    seen: set[str] = set()
    kinds = set(AttributeType.values)
    for position, spec in enumerate(attributes):
        where = f"attributes[{position}]"
        if not isinstance(spec, Mapping):
            raise ValidationError({where: "must be an object with name and type"})
        name = spec.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValidationError({f"{where}.name": "must be text of 1 to 64 characters"})
        if name in seen:
            raise ValidationError({f"{where}.name": f"'{name}' appears twice"})
        seen.add(name)
        kind = spec.get("type")
        if kind not in kinds:
            raise ValidationError({f"{where}.type": f"must be one of: {', '.join(sorted(kinds))}"})
        item: dict[str, object] = {
            "name": name,
            "type": kind,
            "required": bool(spec.get("required")),
        }
        if kind == AttributeType.ENUM:
            values = spec.get("values")
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(value, str) and value for value in values)
            ):
                raise ValidationError({f"{where}.values": "an enum needs a list of text values"})
            item["values"] = list(dict.fromkeys(values))
        description = spec.get("description")
        if isinstance(description, str) and description:
            item["description"] = description[:500]
        cleaned.append(item)
    return cleaned


@transaction.atomic
def event_type_create(
    *,
    name: str,
    description: str = "",
    attributes: Iterable[Mapping[str, object]] = (),
    user: object | None = None,
) -> EventType:
    from realtime.engine.model import PROFILE_UPDATED

    if name == PROFILE_UPDATED:
        raise ValidationError({"name": "profile_updated is reserved for profile changes"})
    event_type = EventType(
        name=name,
        description=description,
        attributes=attributes_clean(list(attributes)),
        created_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]  # a User
    )
    event_type.full_clean()
    event_type.save()
    _registry_changed()
    return event_type


@transaction.atomic
def event_type_update(
    *,
    event_type: EventType,
    description: str | None = None,
    attributes: Iterable[Mapping[str, object]] | None = None,
) -> EventType:
    """Changes apply to events sent from now on; stored events are never rewritten."""
    if description is not None:
        event_type.description = description
    if attributes is not None:
        event_type.attributes = attributes_clean(list(attributes))
    event_type.save()
    _registry_changed()
    return event_type


@transaction.atomic
def event_type_delete(*, event_type: EventType) -> None:
    """New events of this type are refused from now on; stored ones stay as they are."""
    event_type.delete()
    _registry_changed()


# ---------------------------------------------------------------------------------------------
# Ingest


def events_parse(body: bytes) -> list:
    """The request body → the list of raw events, or an ``IngestError`` naming the problem."""
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"The body is larger than {MAX_BODY_BYTES} bytes; split the batch.")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            raise IngestError(
                400, f"The body is not valid UTF-8 (byte {decode_error.start})."
            ) from None
        raise IngestError(400, f"The body is not valid JSON: {error}") from None
    if type(parsed) is dict:
        extra = sorted(parsed.keys() - {"events"})
        if extra:
            raise IngestError(400, 'unknown field; the body is {"events": [...]}', field=extra[0])
        events = parsed.get("events")
        if type(events) is not list:
            raise IngestError(400, "must be a list of events", field="events")
    elif type(parsed) is list:
        events = parsed
    else:
        raise IngestError(400, 'The body must be {"events": [...]} or a JSON list of events.')
    if not events:
        raise IngestError(400, "The batch has no events.", field="events")
    if len(events) > MAX_BATCH_EVENTS:
        raise IngestError(
            413, f"A batch holds at most {MAX_BATCH_EVENTS} events; this one has {len(events)}."
        )
    return events


def _resp_command(parts: list[bytes]) -> bytes:
    """RESP encoding of one command. redis-py's own packer checks and encodes each argument in
    Python; with three arguments per event it cost more than validating the event (profiled)."""
    chunks = [b"*%d\r\n" % len(parts)]
    chunks.extend(b"$%d\r\n%b\r\n" % (len(part), part) for part in parts)
    return b"".join(chunks)


async def events_append(events: list[dict]) -> str:
    """Appends normalised events (deduplicated by id) in one round trip; one flag per event."""
    dedupe_prefix = streams.key("dedupe", "").encode()
    partitions = settings.CDP_PARTITIONS
    stream_keys = [streams.event_stream_key(partition).encode() for partition in range(partitions)]
    keys: list[bytes] = []
    payloads: list[bytes] = []
    for event in events:
        keys.append(dedupe_prefix + event["event_id"].encode())
        keys.append(stream_keys[streams.partition_of(event["customer_id"], partitions)])
        payloads.append(orjson.dumps(event))
    tail = [str(len(keys)).encode(), *keys, str(settings.CDP_DEDUPE_SECONDS).encode(), *payloads]
    client = streams.async_redis_client()
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_packed_command(
            _resp_command([b"EVALSHA", _APPEND_SHA.encode(), *tail]), check_health=False
        )
        try:
            flags = await connection.read_response()
        except redis.exceptions.NoScriptError:
            await connection.send_packed_command(
                _resp_command([b"EVAL", _APPEND_LUA.encode(), *tail]), check_health=False
            )
            flags = await connection.read_response()
    except BaseException:
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    if isinstance(flags, redis.exceptions.ResponseError):
        raise flags
    return flags.decode() if isinstance(flags, bytes) else str(flags or "")


async def events_ingest(*, body: bytes, now: float | None = None) -> IngestResult:
    """Validates a batch, appends the valid events, and says what happened to each.

    Partial accept: valid events are appended even when others in the batch are rejected; the
    result lists every rejected event by index and field. Duplicates (an ``event_id`` seen in the
    last ``CDP_DEDUPE_SECONDS``) count as accepted by the sender but are not appended again.
    Raises ``IngestError`` when the request as a whole is unusable or no event is valid.
    """
    events = events_parse(body)
    return await events_accept(events, now=now, may_contain_nul=b"\\u0000" in body)


async def events_accept(
    raw_events: list, *, now: float | None = None, may_contain_nul: bool = True
) -> IngestResult:
    """Validates parsed events and appends the valid ones (the part HTTP and WebSocket share)."""
    validators = await event_validators()
    valid, rejected = events_validate(
        raw_events, validators=validators, now=now, may_contain_nul=may_contain_nul
    )
    if not valid:
        raise IngestError(400, "No event in the batch is valid.", rejected=rejected)
    flags = await events_append([event for _, event in valid])
    appended = flags.count("1")
    event_ids: list[str | None] = [None] * len(raw_events)
    for index, event in valid:
        event_ids[index] = event["event_id"]
    return IngestResult(
        accepted=appended,
        duplicates=len(valid) - appended,
        rejected=rejected,
        event_ids=event_ids,
        flags=flags,
    )
