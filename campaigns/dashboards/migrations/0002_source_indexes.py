"""Indexes the incremental rollup reads the source tables by.

They live here, not in ``campaigns``, because only the dashboards read these orders: decisions
by insertion time (BRIN: the column grows with the table, so the index stays a few pages) and
deliveries by their latest transition (sent, delivered, clicked or failed).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_rollups"),
        ("campaigns", "0006_offer_merchant_related_name"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS dashboards_decision_decided_brin "
            "ON campaigns_decision USING brin (decided_at)",
            "DROP INDEX IF EXISTS dashboards_decision_decided_brin",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS dashboards_delivery_transition "
            "ON campaigns_delivery ((GREATEST(sent_at, delivered_at, clicked_at, failed_at)))",
            "DROP INDEX IF EXISTS dashboards_delivery_transition",
        ),
    ]
