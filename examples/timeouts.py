#!/usr/bin/env python
"""Timeouts, cancellation and errors: what each failure looks like.

A "silent gateway" (a socket that accepts connections and never answers)
shows timeouts and cancellation; the real gateway shows server errors and
argument errors, which are raised before anything is sent.

    python examples/timeouts.py                             # embedded server
    python examples/timeouts.py --host gw1 --port 9090
"""
from __future__ import annotations

import sys
from typing import Any

from twisted.internet import defer, protocol, task

import txhbase
from _gateway import Gateway, fresh_table, parser


async def timeouts_and_cancellation(reactor: Any, port: int) -> None:
    # Every call takes timeout= in milliseconds; the connection's is the default.
    conn = txhbase.Connection("127.0.0.1", port, timeout=200)
    try:
        try:
            await conn.tables()
        except txhbase.TimeoutError as e:  # also a twisted.internet.defer.TimeoutError
            print("default timeout:", type(e).__name__)
        try:
            await conn.tables(timeout=50)
        except txhbase.TimeoutError as e:
            print("per-call timeout:", type(e).__name__)

        # Cancelling a call fails it with CancelledError; its late reply is dropped.
        d = conn.tables(timeout=10000)
        reactor.callLater(0.01, d.cancel)
        try:
            await d
        except defer.CancelledError:
            print("cancelled:", "CancelledError")
    finally:
        await conn.close()


async def errors(host: str, port: int, options: dict[str, str]) -> None:
    async with txhbase.Connection(host, port, timeout=5000, **options) as conn:
        try:
            await conn.table("no_such_table").row(b"r")
        except txhbase.TxHBaseError as e:  # every failure derives from it
            print("missing table:", type(e).__name__)
        await fresh_table(conn, "example_errors", {"cf": {}})
        try:
            await conn.create_table("example_errors", {"cf": {}})
        except txhbase.AlreadyExists as e:
            print("table exists:", type(e).__name__)
        # Malformed arguments raise at once, naming the argument; nothing is sent.
        try:
            conn.table("t").put(b"row", {b"no-family": b"value"})
        except ValueError as e:
            print("argument check:", "ValueError:", e)
        try:
            conn.table("t").put(b"row", {b"cf:q": "text, not bytes"})
        except TypeError as e:
            print("argument check:", "TypeError:", e)


async def run(reactor: Any, argv: list[str]) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    gateway = Gateway(args, reactor)
    silent = reactor.listenTCP(0, protocol.Factory.forProtocol(protocol.Protocol),
                               interface="127.0.0.1")
    try:
        await timeouts_and_cancellation(reactor, silent.getHost().port)
        await errors(gateway.host, gateway.port, gateway.options)
    finally:
        await silent.stopListening()
        await gateway.stop()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, sys.argv[1:])))
