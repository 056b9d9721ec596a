#!/usr/bin/env python
"""The same objects with ``async def``: ``task.react``, ``async with``, ``async for``.

    python examples/react_async.py                          # embedded server
    python examples/react_async.py --host gw1 --port 9090
"""
from __future__ import annotations

import sys
from typing import Any

from twisted.internet import defer, task

import txhbase
from _gateway import Gateway, fresh_table, parser


async def main(host: str, port: int, options: dict[str, str]) -> None:
    async with txhbase.Connection(host, port, timeout=5000, **options) as conn:
        table = await fresh_table(conn, "example_events", {"cf": {}})

        # Calls run concurrently when you don't await them one by one:
        await defer.gatherResults([
            table.put(f"event-{i:03d}", {b"cf:n": str(i).encode()}) for i in range(100)
        ])

        # A per-call timeout (milliseconds) overrides the connection's default.
        row = await table.row(b"event-042", timeout=1000)
        print("event-042:", row)

        seen = 0
        async for key, data in table.scan(row_prefix=b"event-", batch_size=25):
            seen += 1
        print("scanned", seen, "rows")


async def run(reactor: Any, argv: list[str]) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    gateway = Gateway(args, reactor)
    try:
        await main(gateway.host, gateway.port, gateway.options)
    finally:
        await gateway.stop()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, sys.argv[1:])))
