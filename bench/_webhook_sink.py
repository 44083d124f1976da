"""A fast local webhook receiver for ``bench/delivery.py``: counts POSTs per Idempotency-Key.

``python bench/_webhook_sink.py PORT``; ``GET /stats`` answers {"requests", "unique"}.
"""

from __future__ import annotations

import sys

from aiohttp import web

seen: dict[str, int] = {}
totals = {"requests": 0}


async def hook(request: web.Request) -> web.Response:
    await request.read()
    key = request.headers.get("Idempotency-Key", "")
    seen[key] = seen.get(key, 0) + 1
    totals["requests"] += 1
    return web.Response(text="ok")


async def stats(request: web.Request) -> web.Response:
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    return web.json_response(
        {"requests": totals["requests"], "unique": len(seen), "duplicates": duplicates}
    )


def main() -> None:
    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
