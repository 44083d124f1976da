"""A fast local webhook receiver for ``bench/delivery.py``: counts POSTs per Idempotency-Key.

``python bench/_webhook_sink.py PORT``; ``GET /stats`` answers {"requests", "unique",
"duplicates", "first", "last"} (``time.monotonic()`` of the first and the latest new key).

It stands in for the provider, on the same two cores as everything it measures, so it is an
asyncio protocol on uvloop with httptools' parser (about 15 µs of CPU per request; aiohttp's
server took 70-170): keep-alive, pipelining-safe, answers 200 to every POST.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httptools
import uvloop

seen: dict[bytes, int] = {}
totals = {"requests": 0}
# time.monotonic() (system-wide on Linux) of the first and the latest new Idempotency-Key
moments = {"first": 0.0, "last": 0.0}
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.key = b""
        self.header = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            self.transport.close()

    def on_message_begin(self) -> None:
        self.key = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"idempotency-key":
            self.key = value

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.parser.get_method() == b"GET":
            duplicates = sum(count - 1 for count in seen.values() if count > 1)
            body = json.dumps(
                {
                    "requests": totals["requests"],
                    "unique": len(seen),
                    "duplicates": duplicates,
                    **moments,
                }
            ).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        else:
            count = seen.get(self.key, 0)
            seen[self.key] = count + 1
            if not count:
                moments["last"] = time.monotonic()
                if not moments["first"]:
                    moments["first"] = moments["last"]
            totals["requests"] += 1
            self.transport.write(OK)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
