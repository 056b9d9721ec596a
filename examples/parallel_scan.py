#!/usr/bin/env python
"""A parallel scan: ``unordered_scanners`` splits a scan along the table's
regions; each part runs on its own pooled connection, all at once.

Rows from different scanners arrive in no particular order; together they
cover the range exactly once.

    python examples/parallel_scan.py                        # embedded server, 4 regions
    python examples/parallel_scan.py --host gw1 --port 9090 --splits 8
"""
from __future__ import annotations

import sys
from typing import Any

from twisted.internet import defer, task

import txhbase
from _gateway import Gateway, fresh_table, parser

TABLE = "example_parallel"


async def count_in_parallel(pool: txhbase.ConnectionPool, splits: int) -> list[int]:
    """Scan the whole table with at most ``splits`` scanners at once; fire with
    the number of rows each scanner saw."""
    scanners = await pool.table(TABLE).unordered_scanners(splits, batch_size=500)

    async def consume(scanner: Any) -> int:
        n = 0
        async for key, data in scanner:
            n += 1
        return n

    return await defer.gatherResults([defer.ensureDeferred(consume(s)) for s in scanners])


async def run(reactor: Any, argv: list[str]) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--splits", type=int, default=4, help="most scanners at once")
    p.add_argument("--rows", type=int, default=5000, help="rows to write first")
    args = p.parse_args(argv)
    gateway = Gateway(args, reactor)
    if gateway.server is not None:
        # The embedded server reports the regions it is told to; a real
        # table has the regions HBase split it into.
        gateway.server.split_table(TABLE, [b"row-1", b"row-2", b"row-3"])
    pool = txhbase.ConnectionPool(args.splits, gateway.host, gateway.port,
                                  timeout=10000, **gateway.options)
    try:
        async with pool.connection() as conn:
            table = await fresh_table(conn, TABLE, {"cf": {}})
            async with table.batch(batch_size=1000) as b:
                for i in range(args.rows):
                    b.put(f"row-{i % 4}-{i:06d}", {b"cf:n": str(i).encode()})
        counts = await count_in_parallel(pool, args.splits)
        print(f"{len(counts)} scanners saw {counts} rows: {sum(counts)} in all")
    finally:
        await pool.close()
        await gateway.stop()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, sys.argv[1:])))
