"""Consumer-group lag reads the same on Redis 6.2 (embedded) and 7 (which reports it itself)."""

from realtime import streams


def test_group_lag_counts_entries_not_yet_delivered_to_the_group():
    # given a stream of 5 entries and a group that has read 2 of them
    client = streams.redis_client()
    stream = streams.key("lag-test")
    for number in range(5):
        client.xadd(stream, {"n": number})
    client.xgroup_create(stream, "readers", id="0")
    client.xreadgroup("readers", "reader-1", {stream: ">"}, count=2)
    # when
    (group,) = client.xinfo_groups(stream)
    # then
    assert streams.group_lag(client, stream, group) == 3
    client.xreadgroup("readers", "reader-1", {stream: ">"}, count=10)
    (group,) = client.xinfo_groups(stream)
    assert streams.group_lag(client, stream, group) == 0
