"""``manage.py run_engine``: one live engine worker (run several; they share the partitions)."""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.live.worker import BATCH, Worker


class Command(BaseCommand):
    help = "Run a live engine worker on the partitions of the event stream (SIGTERM stops it)."
    # Checks belong to CI and deploys (`manage.py check`); a worker restarting after a crash
    # should be back on its partitions in well under a second.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker-id", default=None, help="defaults to host-pid-random")
        parser.add_argument("--batch", type=int, default=BATCH, help="entries per read")
        parser.add_argument(
            "--max-partitions", type=int, default=None, help="own at most this many partitions"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(
            level=logging.INFO if options["verbosity"] >= 1 else logging.WARNING,
            format="%(asctime)s engine %(levelname)s %(message)s",
        )
        if options["batch"] < 1:
            raise ValueError("--batch must be at least 1")
        worker = Worker(
            worker_id=options["worker_id"],
            batch=options["batch"],
            max_partitions=options["max_partitions"],
        )

        def graceful(signum: int, frame: object) -> None:
            worker.stop()  # the loop finishes its batch, checkpoints and releases its leases

        signal.signal(signal.SIGTERM, graceful)
        signal.signal(signal.SIGINT, graceful)
        worker.run()
