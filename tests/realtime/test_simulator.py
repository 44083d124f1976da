"""The demo simulator sends valid traffic through the real ingest API."""

import pytest
from django.core.management import call_command

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.models import Source
from realtime.simulator import EventMix


def test_event_mix_follows_the_scenario_stories():
    mix = EventMix(customer_ids=["C1", "C2", "C3"], merchant_ids=["7"], seed=1)
    events = mix.batch(2000)
    views = [e for e in events if e["type"] == "product_view"]
    assert {e["customer_id"] for e in events} <= {"C1", "C2", "C3"}
    assert len({e["event_id"] for e in events}) == 2000
    assert any(e["type"] == "foreign_remittance" for e in events)
    assert any(e["attributes"].get("category") == "savings" for e in views)


@pytest.mark.django_db(transaction=True)
def test_simulator_posts_accepted_events_through_the_ingest_api(live_server, settings):
    # given the demo event types
    demo_event_types_ensure()
    # when the simulator sends 120 events
    call_command(
        "simulate_events", url=f"{live_server.url}/api/v1/events", count=120, rate=2000, batch=40
    )
    # then every one of them is on the partition streams
    client = streams.redis_client()
    on_streams = sum(
        client.xlen(streams.event_stream_key(partition))
        for partition in range(settings.CDP_PARTITIONS)
    )
    assert on_streams == 120
    assert Source.objects.filter(name__startswith="Demo simulator", revoked_at=None).count() == 1
