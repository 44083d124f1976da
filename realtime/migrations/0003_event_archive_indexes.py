"""Cheaper archive indexes: the archive must keep up with ingest (tens of thousands of rows/s).

The (event_id, ts) primary key put every row at a random place in a b-tree; the benchmark showed
the archive falling behind as the table grew. Re-delivered batches (the only source of
duplicates: a crash between COPY and XACK) are now de-duplicated by the archiver against
(ts, event_id), which this index serves, and which also orders replays (keyset pagination).
"""

from django.db import migrations

FORWARD = """
ALTER TABLE realtime_event_archive DROP CONSTRAINT IF EXISTS realtime_event_archive_pkey;
DROP INDEX IF EXISTS realtime_event_archive_ts;
CREATE INDEX IF NOT EXISTS realtime_event_archive_ts_event
    ON realtime_event_archive (ts, event_id);
"""

BACKWARD = """
DROP INDEX IF EXISTS realtime_event_archive_ts_event;
CREATE INDEX IF NOT EXISTS realtime_event_archive_ts ON realtime_event_archive (ts);
ALTER TABLE realtime_event_archive ADD PRIMARY KEY (event_id, ts);
"""


class Migration(migrations.Migration):
    dependencies = [("realtime", "0002_event_archive")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
