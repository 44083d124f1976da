from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from campaigns.offers.dispatch import dispatcher_run


class Command(BaseCommand):
    help = "Reads the decisions stream and schedules their deliveries (consumer group 'delivery')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--consumer", default=None, help="consumer name (default host-pid)")
        parser.add_argument("--batch", type=int, default=500, help="entries per read")

    def handle(self, *args: Any, **options: Any) -> None:
        dispatcher_run(consumer=options["consumer"], count=options["batch"])
