"""Benchmark of the embedded server: gets/s, scanned rows/s, bytes per stored cell.

    python bench/server_bench.py [--seconds 5] [--inflight 64] [--rows 20000]
                                 [--cells 1000000] [--only gets,scan,memory]

The server runs as a subprocess (``python -m txhbase.server``) so that client
and server each get a core; the client is txhbase.protocol.connect keeping
``--inflight`` calls pipelined on one connection.

- gets: ``getRowWithColumns`` of a random row (10 columns of 100-byte
  values, all 10 named) per call, for ``--seconds``.
- scan: full-table scans with ``scannerGetList(id, 1000)``, by one scanner
  and by ``--scanners`` concurrent range scanners (so client decoding and
  server work overlap), for 10-column rows and for 1-column rows.
- server: the same gets and 10-column scans with no client at all (encoded
  requests fed to a server protocol in this process, replies encoded and
  dropped): the server's own capacity, apart from the client's CPU.
- memory: ``--cells`` 100-byte cells (10 per row) put straight into a
  ``Store`` in this process, measured with tracemalloc: bytes per cell and
  overhead per cell (total minus the 100 value bytes).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, task  # noqa: E402

from txhbase.protocol.connect import connect  # noqa: E402
from txhbase.protocol.idl import hbase  # noqa: E402
from txhbase.server.store import FamilySpec, Store  # noqa: E402

COLS = [b"cf:c%d" % i for i in range(10)]
VALUE = b"v" * 100


def start_server(*options: str) -> tuple:
    """``python -m txhbase.server --port 0 *options``; (process, port) once it listens."""
    cmd = [sys.executable, "-m", "txhbase.server", "--port", "0", *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on [^:\s]+:(\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(m.group(1))


@defer.inlineCallbacks
def load(client, table: bytes, rows: int, columns: list) -> defer.Deferred:
    yield client.call("createTable", table, [hbase.ColumnDescriptor(name=b"cf", maxVersions=1)])
    batch = []
    pending = []
    for i in range(rows):
        batch.append(hbase.BatchMutation(row=b"row%08d" % i, mutations=[
            hbase.Mutation(column=c, value=VALUE) for c in columns]))
        if len(batch) == 200:
            pending.append(client.call("mutateRows", table, batch, {}))
            batch = []
        if len(pending) >= 16:
            yield defer.gatherResults(pending)
            pending = []
    if batch:
        pending.append(client.call("mutateRows", table, batch, {}))
    yield defer.gatherResults(pending)


@defer.inlineCallbacks
def bench_gets(reactor, client, table: bytes, rows: int, seconds: float,
               inflight: int) -> defer.Deferred:
    done = [0]
    errors = []
    end = time.perf_counter() + seconds
    rng = random.Random(1)

    def one() -> defer.Deferred:
        d = client.call("getRowWithColumns", table, b"row%08d" % rng.randrange(rows), COLS, {})

        def ok(res):
            assert len(res) == 1 and len(res[0].columns) == 10
            done[0] += 1

        return d.addCallbacks(ok, errors.append)

    @defer.inlineCallbacks
    def worker():
        while time.perf_counter() < end and not errors:
            yield one()

    start = time.perf_counter()
    yield defer.gatherResults([worker() for _ in range(inflight)])
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0].value
    return done[0] / elapsed


@defer.inlineCallbacks
def bench_scan(client, table: bytes, rows: int, seconds: float, scanners: int = 1,
               batch: int = 1000) -> defer.Deferred:
    """Rows/s of full scans split into ``scanners`` key ranges scanned concurrently."""
    total = [0]
    start = time.perf_counter()
    bounds = [b"row%08d" % (rows * i // scanners) for i in range(scanners)] + [b""]

    @defer.inlineCallbacks
    def scan_range(lo: bytes, hi: bytes):
        sid = yield client.call("scannerOpenWithStop", table, lo, hi, [], {})
        while True:
            got = yield client.call("scannerGetList", sid, batch)
            if not got:
                break
            total[0] += len(got)
        yield client.call("scannerClose", sid)

    while time.perf_counter() - start < seconds:
        yield defer.gatherResults([scan_range(bounds[i], bounds[i + 1])
                                   for i in range(scanners)])
    return total[0] / (time.perf_counter() - start)


def bench_server_only(rows: int, seconds: float, protocol: str = "binary",
                      transport: str = "buffered") -> dict:
    """Server capacity without a client: encoded calls fed to one server protocol.

    Requests are pre-encoded, replies go to a StringTransport; what remains
    is decode + dispatch + handler + encode, i.e. the server's CPU per call.
    """
    from twisted.internet.testing import StringTransport

    from txhbase.protocol.client import METHODS
    from txhbase.protocol.codec import CALL, make_codec
    from txhbase.protocol.framing import frame
    from txhbase.protocol.server import HBaseServerFactory
    from txhbase.server.handler import HBaseHandler

    clock = task.Clock()
    h = HBaseHandler(clock=clock)
    h.createTable(b"t", [hbase.ColumnDescriptor(name=b"cf", maxVersions=1)])
    for i in range(rows):
        h.mutateRow(b"t", b"row%08d" % i, [hbase.Mutation(column=c, value=VALUE) for c in COLS],
                    {})
    codec = make_codec(protocol)
    wrap = frame if transport == "framed" else (lambda b: b)
    spec = METHODS["getRowWithColumns"]
    rng = random.Random(2)
    batch = b"".join(wrap(codec.encode("getRowWithColumns", CALL, i, spec.args_cls(
        b"t", b"row%08d" % rng.randrange(rows), COLS, {}))) for i in range(64))
    turns: list = []  # the protocol serves a backlog a slice per reactor turn: run them all

    class Turns:
        @staticmethod
        def callLater(delay: float, f: Any, *args: Any) -> None:
            turns.append((f, args))

    proto = HBaseServerFactory(h, transport, protocol, reactor=Turns()).buildProtocol(None)
    tr = StringTransport()
    proto.makeConnection(tr)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        proto.dataReceived(batch)
        while turns:
            f, a = turns.pop()
            f(*a)
        tr.clear()
        n += 64
    gets = n / (time.perf_counter() - start)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        sid = h.scannerOpen(b"t", b"", [], {})
        while True:
            got = h.scannerGetList(sid, 1000)
            if not got:
                break
            n += len(got)
            codec.encode("scannerGetList", 2, 1, _scan_result(got))
        h.scannerClose(sid)
    return {"server_only_gets_per_s": gets,
            "server_only_scan_rows_per_s_10col": n / (time.perf_counter() - start)}


def _scan_result(rows: list) -> object:
    from txhbase.protocol.client import METHODS

    r = METHODS["scannerGetList"].result_cls()
    r.success = rows
    return r


def bench_memory(cells: int) -> dict:
    store = Store(clock=lambda: 1_700_000_000_000)
    t = store.create_table(b"m", [FamilySpec(b"cf", max_versions=1)])
    rows = cells // 10
    quals = [c.split(b":")[1] for c in COLS]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(rows):
        # distinct value objects, as data read off the network would be
        store.put(t, b"row%08d" % i, [(b"cf", q, os.urandom(100)) for q in quals],
                  1_700_000_000_000)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per_cell = used / (rows * 10)
    return {"cells": rows * 10, "bytes_total": used, "bytes_per_cell": per_cell,
            "overhead_per_cell": per_cell - 100}


@defer.inlineCallbacks
def run_network(reactor, args) -> defer.Deferred:
    results = {}
    proc, port = start_server("--transport", args.transport, "--protocol", args.protocol)
    try:
        client = yield connect(reactor, "127.0.0.1", port, transport=args.transport,
                               protocol=args.protocol)
        if "gets" in args.only or "scan" in args.only:
            t0 = time.perf_counter()
            yield load(client, b"bench10", args.rows, COLS)
            results["load_rows_per_s"] = args.rows / (time.perf_counter() - t0)
        if "gets" in args.only:
            results["gets_per_s"] = yield bench_gets(reactor, client, b"bench10", args.rows,
                                                     args.seconds, args.inflight)
        if "scan" in args.only:
            yield load(client, b"bench1", args.rows, COLS[:1])
            for name, table in (("10col", b"bench10"), ("1col", b"bench1")):
                for n in (1, args.scanners):
                    results[f"scan_rows_per_s_{name}_{n}scanners"] = yield bench_scan(
                        client, table, args.rows, args.seconds, n)
        yield client.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--inflight", type=int, default=64)
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--cells", type=int, default=1_000_000)
    p.add_argument("--scanners", type=int, default=4,
                   help="concurrent range scanners for the pipelined scan figure")
    p.add_argument("--transport", default="buffered")
    p.add_argument("--protocol", default="binary")
    p.add_argument("--only", default="gets,scan,server,memory")
    args = p.parse_args(argv)
    args.only = set(args.only.split(","))
    results = {}
    if args.only & {"gets", "scan"}:
        out: dict = {}

        def go(reactor):
            return run_network(reactor, args).addCallback(out.update)

        try:
            task.react(go)
        except SystemExit as e:
            if e.code:
                raise
        results.update(out)
    if "server" in args.only:
        results.update(bench_server_only(args.rows, args.seconds, args.protocol, args.transport))
    if "memory" in args.only:
        results.update(bench_memory(args.cells))
    for k, v in results.items():
        print(f"{k:28s} {v:,.1f}" if isinstance(v, float) else f"{k:28s} {v:,}")


if __name__ == "__main__":
    main()
