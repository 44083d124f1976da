from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.ingest.services import source_create


class Command(BaseCommand):
    help = "Create an event source and print its API key (shown this once; stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--rate-limit", type=int, default=None, help="requests per second")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source, key = source_create(
                name=options["name"], rate_limit_per_second=options["rate_limit"]
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stderr.write(f"Source {source.name!r} (id {source.pk}); its key, shown once:")
        self.stdout.write(key)
