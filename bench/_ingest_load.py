"""Load generator for ``bench/ingest.py``: its own process, asyncio over raw keep-alive sockets.

    python -m bench._ingest_load --port P --key K --batches N --connections C --run-id R

Bodies are built once from a few templates; per request only the batch number is substituted
(fixed width, so Content-Length stays the same), keeping the client's CPU cost per event tiny —
it shares the machine's two cores with the server. Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import time

PLACEHOLDER = b"#########"  # 9 characters, replaced by the zero-padded batch number
TYPES = [
    (
        "card_transaction",
        lambda chance: {
            "amount": chance.randint(1000, 90000),
            "merchant_id": f"M-{chance.randint(1, 500)}",
            "region": chance.choice(["Gangnam-gu", "Jung-gu", "Mapo-gu"]),
        },
    ),
    (
        "product_view",
        lambda chance: {"category": chance.choice(["savings", "deposit", "loan", "card"])},
    ),
    ("screen_view", lambda chance: {"screen": chance.choice(["home", "transfer", "cards"])}),
]


def templates(run_id: str, batch_size: int, count: int = 8) -> list[bytes]:
    chance = random.Random(7)
    built = []
    for _ in range(count):
        events = []
        for position in range(batch_size):
            type_name, attributes = chance.choice(TYPES)
            events.append(
                {
                    "event_id": f"{run_id}-{PLACEHOLDER.decode()}-{position:04d}",
                    "type": type_name,
                    "customer_id": f"B{chance.randint(1, 200_000):07d}",
                    "attributes": attributes(chance),
                }
            )
        built.append(json.dumps({"events": events}, separators=(",", ":")).encode())
    return built


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(
    port: int,
    key: str,
    bodies: list[bytes],
    numbers: itertools.count,
    batches: int,
    latencies: list[float],
    failures: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    heads = [
        (
            f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for body in bodies
    ]
    while True:
        number = next(numbers)
        if number >= batches:
            break
        which = number % len(bodies)
        request = heads[which] + bodies[which].replace(PLACEHOLDER, b"%09d" % number)
        started = time.perf_counter()
        writer.write(request)
        status, body = await _read_response(reader)
        latencies.append(time.perf_counter() - started)
        if status != 200 or b'"rejected":[]' not in body:
            failures.append(f"{status} {body[:200]!r}")
    writer.close()


async def main(arguments: argparse.Namespace) -> dict[str, object]:
    bodies = templates(arguments.run_id, arguments.batch_size)
    numbers = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []
    # Warm-up: compile caches, open pools (not counted).
    await _connection(
        arguments.port, arguments.key, bodies, itertools.count(10**8), 10**8 + 4, [], failures
    )
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
    latencies.sort()
    events = len(latencies) * arguments.batch_size
    return {
        "events": events,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--run-id", required=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
    sys.stdout.flush()
