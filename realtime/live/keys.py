"""Redis key names of the live engine (all built with ``streams.key``, so they carry the prefix).

engine:lease:{p}            lease of partition p: "worker|epoch", with a TTL
engine:epoch:{p}            fencing token counter of partition p (INCR on every acquisition)
engine:offset:{p}           last checkpointed stream id of partition p
engine:state:{p}            hash customer id -> checkpointed keyed state (engine snapshot)
engine:heartbeats           hash worker id -> last heartbeat (epoch seconds; read by /healthz)
engine:workers              hash worker id -> JSON figures of the worker
engine:partitions           hash p -> JSON figures of the partition (owner, lag, rates, timers)
events:dead                 stream of poison events (fields id, e, error, tries)
events:derived              stream of events emitted by rules (field e), for the archive
decisions                   stream of committed decisions (fields d, campaign, outcome, customer)
counters:{campaign}         hash of live totals: triggered, offer, held_out, suppressed,
                            suppressed:{reason}
counters:{campaign}:{minute} the same per minute (minute = epoch seconds // 60 of the trigger's
                            event time), expiring after two days
budget:{campaign}           offers issued against the campaign's budget (INCR with check)
campaigns:version           counter bumped whenever a campaign is published, paused, resumed
campaigns:changed           pub/sub channel announcing the same
"""

from __future__ import annotations

from realtime import streams

GROUP = "engine"
COUNTER_MINUTE_TTL_S = 2 * 86400


def lease(partition: int) -> str:
    return streams.key("engine", "lease", partition)


def epoch(partition: int) -> str:
    return streams.key("engine", "epoch", partition)


def offset(partition: int) -> str:
    return streams.key("engine", "offset", partition)


def state(partition: int) -> str:
    return streams.key("engine", "state", partition)


def heartbeats() -> str:
    return streams.key("engine", "heartbeats")


def workers() -> str:
    return streams.key("engine", "workers")


def partitions() -> str:
    return streams.key("engine", "partitions")


def dead_letters() -> str:
    return streams.key("events", "dead")


def derived_events() -> str:
    return streams.key("events", "derived")


def decisions() -> str:
    return streams.key("decisions")


def counters(campaign_id: int, minute: int | None = None) -> str:
    if minute is None:
        return streams.key("counters", campaign_id)
    return streams.key("counters", campaign_id, minute)


def budget(campaign_id: int) -> str:
    return streams.key("budget", campaign_id)


def campaigns_version() -> str:
    return streams.key("campaigns", "version")


def campaigns_channel() -> str:
    return streams.key("campaigns", "changed")


def consumer(partition: int) -> str:
    """One consumer per partition: its pending list is what the partition's owner has not
    committed, whichever worker that was."""
    return f"partition-{partition}"
