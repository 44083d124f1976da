from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from segments.services import profile_mirror_rebuild


class Command(BaseCommand):
    help = "Rewrite the Redis mirror of every customer profile from PostgreSQL."

    def handle(self, *args: Any, **options: Any) -> None:
        written, removed = profile_mirror_rebuild()
        self.stdout.write(f"{written} profiles written, {removed} stale mirror keys removed")
