#!/usr/bin/env python
"""A batch loader: CSV rows into HBase through a pool, several batches in parallel.

Reads ``key,column,value`` lines from ``--csv FILE`` (or generates ``--rows
N`` rows), sends them in ``mutateRows`` batches of ``--batch-size`` over a
pool of connections, ``--parallel`` batches at a time, then counts the rows.

    python examples/batch_loader.py --rows 20000
    python examples/batch_loader.py --csv data.csv --host gw1 --port 9090
"""
from __future__ import annotations

import csv
import itertools
import sys
import time
from typing import Any, Iterable, Iterator

from twisted.internet import defer, task

import txhbase
from _gateway import Gateway, fresh_table, parser

TABLE = "example_load"


def generated(n: int) -> Iterator[tuple[bytes, bytes, bytes]]:
    for i in range(n):
        yield f"item-{i:08d}".encode(), b"cf:value", f"value {i}".encode()


def from_csv(path: str) -> Iterator[tuple[bytes, bytes, bytes]]:
    with open(path, newline="") as f:
        for key, column, value in csv.reader(f):
            yield key.encode(), column.encode(), value.encode()


async def load(pool: txhbase.ConnectionPool, rows: Iterable[tuple[bytes, bytes, bytes]],
               batch_size: int, parallel: int) -> int:
    """Send ``rows`` in batches, at most ``parallel`` in flight; fire with the count."""
    table = pool.table(TABLE)
    sent = 0

    async def one_batch(chunk: list[tuple[bytes, bytes, bytes]]) -> None:
        nonlocal sent
        # A failed send raises BatchError with every mutation not known to be
        # applied: nothing is dropped silently (here it simply propagates).
        async with table.batch() as b:
            for key, column, value in chunk:
                b.put(key, {column: value})
        sent += len(chunk)

    chunks = iter(lambda it=iter(rows): list(itertools.islice(it, batch_size)), [])
    # `parallel` workers pull chunks from the one iterator until it is empty.
    async def worker() -> None:
        for chunk in chunks:
            await one_batch(chunk)

    await defer.gatherResults([defer.ensureDeferred(worker()) for _ in range(parallel)],
                              consumeErrors=True)
    return sent


async def run(reactor: Any, argv: list[str]) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--csv", help="key,column,value lines to load")
    p.add_argument("--rows", type=int, default=10000, help="rows to generate without --csv")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--parallel", type=int, default=4)
    args = p.parse_args(argv)
    gateway = Gateway(args, reactor)
    pool = txhbase.ConnectionPool(args.parallel, gateway.host, gateway.port,
                                  timeout=10000, **gateway.options)
    try:
        async with pool.connection() as conn:
            await fresh_table(conn, TABLE, {"cf": {"max_versions": 1}})
        rows = from_csv(args.csv) if args.csv else generated(args.rows)
        started = time.monotonic()
        sent = await load(pool, rows, args.batch_size, args.parallel)
        elapsed = time.monotonic() - started
        print(f"loaded {sent} rows in {elapsed:.2f} s ({sent / max(elapsed, 1e-9):,.0f} rows/s)")
        async with pool.connection() as conn:
            print("rows in the table:", await conn.table(TABLE).count())
    finally:
        await pool.close()
        await gateway.stop()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, sys.argv[1:])))
