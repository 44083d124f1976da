"""Load generator of ``bench/engine.py``: its own process, the ingest bench's keep-alive sockets.

    python -m bench._engine_load --port P --key K --bodies FILE --batches N --connections C

``FILE`` holds one request body per line (JSON with the ``#########`` placeholder in every
event id, replaced by the batch number). Prints one JSON object: events sent, the wall-clock
moment the first request went out (``started``, epoch seconds) and the figures of the client.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

from bench._ingest_load import _connection


async def main(arguments: argparse.Namespace) -> dict[str, object]:
    bodies = [line for line in Path(arguments.bodies).read_bytes().splitlines() if line]
    events_per_body = bodies[0].count(b'"event_id"')
    numbers = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []
    started_wall = time.time()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(
                arguments.port,
                arguments.key,
                bodies,
                numbers,
                arguments.batches,
                latencies,
                failures,
            )
            for _ in range(arguments.connections)
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "events": len(latencies) * events_per_body,
        "started": started_wall,
        "seconds": elapsed,
        "ingest_events_per_s": len(latencies) * events_per_body / elapsed,
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--bodies", required=True)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
    sys.stdout.flush()
