from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from campaigns.dashboards import services


class Command(BaseCommand):
    help = (
        "Brings the dashboard rollups up to date; with --rebuild, recomputes whole local days "
        "from decisions, deliveries and conversions (backfill, repair)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="recompute days from sources")
        parser.add_argument("--days", type=int, default=2, help="days back from today (rebuild)")
        parser.add_argument("--since", help="first local day YYYY-MM-DD (rebuild)")

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.rollup_refresh(reconcile=False)
        self.stdout.write(
            f"refreshed: {result.decisions} decisions, {result.conversions} conversions, "
            f"{result.buckets} buckets"
        )
        if not options["rebuild"]:
            return
        today = timezone.localdate()
        if options["since"]:
            try:
                first = dt.date.fromisoformat(options["since"])
            except ValueError as error:
                raise CommandError(
                    f"--since: expected YYYY-MM-DD, got {options['since']!r}"
                ) from error
        else:
            if options["days"] < 1:
                raise CommandError("--days: must be at least 1")
            first = today - dt.timedelta(days=options["days"] - 1)
        day = first
        while day <= today:  # a day per transaction keeps locks and temp tables small
            services.rollup_rebuild(first=day, last=day)
            day += dt.timedelta(days=1)
        self.stdout.write(f"rebuilt {(today - first).days + 1} days from {first}")
