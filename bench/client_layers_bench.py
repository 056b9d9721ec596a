"""CPU of the layers above the protocol (``Table`` + ``Connection``), alone.

A ``Connection`` on a channel that answers every call at once (an
already-fired Deferred, no socket, no reactor turn), so what is timed is
``Table.row`` -> ``Connection.call`` -> the result conversion and nothing
else. Best of 5 rounds, process CPU per call. Usage::

    PYTHONPATH=$PWD python bench/client_layers_bench.py [--calls N]
"""
from __future__ import annotations

import argparse
import time
from typing import Any, List, cast

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime

from txhbase.connection import Connection
from txhbase.protocol.idl import hbase


class InstantChannel:
    """A live channel answering every call at once with ``reply``."""

    connected = True
    pending = 0

    def __init__(self, reply: Any) -> None:
        self.on_connection_lost: List[Any] = []
        self.clock = task.Clock()
        self.reply = reply

    def call(self, name: str, *args: Any, timeout: Any = None) -> "defer.Deferred[Any]":
        return defer.succeed(self.reply)

    def close(self) -> "defer.Deferred[None]":
        return defer.succeed(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    opts = parser.parse_args()
    cells = {b"cf:c%d" % i: hbase.TCell(value=b"x" * 100, timestamp=1) for i in range(10)}
    reply = [hbase.TRowResult(row=b"r", columns=cells)]

    def factory(reactor: Any, address: Any, **kwargs: Any) -> "defer.Deferred[Any]":
        return defer.succeed(InstantChannel(reply))

    conn = Connection("h", 1, reactor=cast(IReactorTime, task.Clock()), channel_factory=factory)
    conn.open()
    table = conn.table(b"t")
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(opts.calls):
            table.row(b"r")
        best = min(best, time.process_time() - t0)
    print(f"Table.row over an instant channel: {best / opts.calls * 1e6:.2f} us per call "
          f"(best of 5 x {opts.calls:,})")


if __name__ == "__main__":
    main()
