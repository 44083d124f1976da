from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from segments import services
from segments.models import CustomerImport


class Command(BaseCommand):
    help = "Import customer profiles from a CSV file with a header (one column is customer_id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--chunk-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            content = path.read_bytes()
            customer_import = services.customer_import_create(
                file_name=path.name, content=content, user=None
            )
        except (OSError, services.ProfileError) as error:
            raise CommandError(str(error)) from None

        def progress(running: CustomerImport) -> None:
            self.stdout.write(f"\r{running.rows_done}/{running.rows_total} rows", ending="")
            self.stdout.flush()

        done = services.customer_import_run(
            customer_import=customer_import,
            chunk_size=options["chunk_size"],
            on_progress=progress,
        )
        self.stdout.write("")
        for error in done.errors:
            self.stderr.write(f"line {error['line']}: {error['field']}: {error['error']}")
        self.stdout.write(
            f"{done.status}: {done.created} created, {done.updated} updated, "
            f"{len(done.errors)} rejected"
        )
        if done.status == CustomerImport.Status.FAILED:
            raise CommandError("import failed")
