from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.ingest.archive import Archiver

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Copy every accepted event from the Redis streams into PostgreSQL (consumer group "
        "'archive'), trim the streams safely and apply the archive's retention. Runs until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--consumer", help="consumer name (default: <hostname>-archiver)")
        parser.add_argument(
            "--stop-when-idle",
            type=float,
            default=None,
            help="exit after this many seconds without new events (for scripts and benchmarks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archiver = Archiver(batch_size=options["batch_size"], pipelined=True)
        if options["consumer"]:
            archiver.consumer = options["consumer"]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"archiver {archiver.consumer} started", ending="\n")
        self.stdout.flush()
        idle_since = time.monotonic()
        reported = time.monotonic()
        started = time.monotonic()
        last_active = started
        while not stopping:
            try:
                handled = archiver.step()
            except Exception:  # a database or Redis outage: keep the process, retry shortly
                logger.exception("archive step failed; retrying in 1 s")
                time.sleep(1)
                continue
            now = time.monotonic()
            if handled:
                idle_since = last_active = now
            elif (
                options["stop_when_idle"] is not None
                and now - idle_since > options["stop_when_idle"]
            ):
                break
            if now - reported > 60:
                reported = now
                logger.info("archived %s rows so far", archiver.archived)
        archiver.stop()
        busy = last_active - started  # from the start until the last batch was stored
        self.stdout.write(f"archived {archiver.archived} rows in {busy:.3f} s (while busy)")
