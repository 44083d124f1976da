from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from merchants.models import Merchant
from realtime.ingest import services
from realtime.models import Source
from realtime.simulator import EventMix
from segments.models import Customer

SIMULATOR_SOURCE_NAME = "Demo simulator (make run)"


class Command(BaseCommand):
    help = "Send a bank app's demo traffic through the public ingest API until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        port = os.environ.get("CDP_WEB_PORT", "8000")
        parser.add_argument("--url", default=f"http://127.0.0.1:{port}/api/v1/events")
        parser.add_argument("--rate", type=float, default=20.0, help="events per second")
        parser.add_argument("--batch", type=int, default=20, help="events per request")
        parser.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")

    def handle(self, *args: Any, **options: Any) -> None:
        # A fresh key per run: keys are stored hashed and shown once, so the simulator makes its
        # own and revokes the one of its previous run.
        for previous in Source.objects.filter(name=SIMULATOR_SOURCE_NAME, revoked_at=None):
            services.source_revoke(source=previous)
        _, key = services.source_create(name=SIMULATOR_SOURCE_NAME, rate_limit_per_second=1000)
        customer_ids = list(
            Customer.objects.order_by("customer_id").values_list("customer_id", flat=True)[:1000]
        ) or [f"C{number:05d}" for number in range(1, 301)]
        merchant_ids = [str(pk) for pk in Merchant.objects.values_list("pk", flat=True)]
        mix = EventMix(customer_ids=customer_ids, merchant_ids=merchant_ids, seed=int(time.time()))
        interval = options["batch"] / max(options["rate"], 0.1)
        sent = 0
        self.stdout.write(f"simulating {options['rate']:g} events/s into {options['url']}")
        while not options["count"] or sent < options["count"]:
            started = time.monotonic()
            batch = mix.batch(options["batch"])
            if self._post(options["url"], key, batch):
                sent += len(batch)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

    def _post(self, url: str, key: str, batch: list[dict[str, object]]) -> bool:
        request = urllib.request.Request(
            url,
            data=json.dumps({"events": batch}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return 200 <= response.status < 300
        except urllib.error.HTTPError as error:
            self.stderr.write(f"ingest answered {error.code}: {error.read()[:300]!r}")
        except OSError:
            time.sleep(1)  # the web process is still starting
        return False
