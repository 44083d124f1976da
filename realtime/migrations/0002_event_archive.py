"""The event archive: a table partitioned by day on event time.

Partitions (``realtime_event_archive_YYYYMMDD``) are created by the archiver as days appear and
dropped after ``CDP_ARCHIVE_RETENTION_DAYS``. The primary key (event_id, ts) lets a re-delivered
batch be copied again without duplicating rows.
"""

from django.db import migrations

CREATE = """
CREATE TABLE IF NOT EXISTS realtime_event_archive (
    event_id text NOT NULL,
    type text NOT NULL,
    customer_id text NOT NULL,
    ts timestamptz NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    received_at timestamptz NOT NULL,
    stream_partition smallint NOT NULL,
    stream_id text NOT NULL,
    PRIMARY KEY (event_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX IF NOT EXISTS realtime_event_archive_customer_ts
    ON realtime_event_archive (customer_id, ts);
CREATE INDEX IF NOT EXISTS realtime_event_archive_ts ON realtime_event_archive (ts);
"""

DROP = "DROP TABLE IF EXISTS realtime_event_archive CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("realtime", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
