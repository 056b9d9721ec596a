#!/usr/bin/env python
"""A tour of txhbase, Pegasus style: ``reactor.callWhenRunning`` + ``@inlineCallbacks``.

With no arguments it starts the embedded HBase-compatible Thrift server in
this process and runs the tour against it; ``--host``/``--port``/
``--transport``/``--protocol`` point it at a real gateway instead.  Each step
is printed.  Exit status 0 on success, 1 with a clear message on failure.
Logging is configured from ``logger.conf`` (``--log-config`` to change it).
"""
from __future__ import annotations

import argparse
import sys
import time

from typing import Any, Generator

from twisted.internet import defer
from twisted.internet import reactor as _reactor

import txhbase
from txhbase.logconfig import configure_logging

reactor: Any = _reactor
TABLE = "txhbase_sample"


def step(text: str) -> None:
    print(f"-- {text}", flush=True)


def show(label: str, value: object) -> None:
    print(f"   {label}: {value!r}", flush=True)


@defer.inlineCallbacks
def tour(conn: txhbase.Connection, server: Any = None) -> Generator[Any, Any, None]:
    yield conn.open()
    step(f"connected to {conn.address} ({conn.transport}/{conn.protocol})")

    if TABLE.encode() in (yield conn.tables()):
        step(f"dropping leftover table {TABLE}")
        yield conn.delete_table(TABLE, disable=True)
    if server is not None:
        # Embedded server: pre-split the table so unordered scanners have regions.
        server.split_table(TABLE, [b"row-3", b"row-6"])
    step(f"create_table {TABLE} with families cf (3 versions) and counters")
    table = yield conn.create_table(TABLE, {"cf": {"max_versions": 3}, "counters": {}})
    show("families", sorted((yield table.families())))

    step("put row-1")
    yield table.put(b"row-1", {b"cf:name": b"Alice", b"cf:city": b"Paris"})
    step("row row-1")
    show("row-1", (yield table.row(b"row-1")))
    show("row-1 cf:name with timestamp", (yield table.row(b"row-1", columns=[b"cf:name"],
                                                           include_timestamp=True)))

    step("cells with versions: three puts of cf:name on row-2 at timestamps 1, 2, 3")
    for ts, name in ((1, b"Bob"), (2, b"Bobby"), (3, b"Robert")):
        yield table.put(b"row-2", {b"cf:name": name}, timestamp=ts)
    show("cells(row-2, cf:name)", (yield table.cells(b"row-2", b"cf:name",
                                                      include_timestamp=True)))
    show("cells(row-2, cf:name, versions=2)", (yield table.cells(b"row-2", b"cf:name", versions=2)))

    step("batch: put row-3 .. row-9 and delete cf:city of row-1, sent together")

    def fill(batch: txhbase.Batch) -> None:
        for i in range(3, 10):
            batch.put(f"row-{i}", {b"cf:name": f"user {i}".encode(), b"cf:n": str(i).encode()})
        batch.delete(b"row-1", [b"cf:city"])

    yield table.run_batch(fill)
    step("rows row-1, row-3, missing, row-5")
    for key, data in (yield table.rows([b"row-1", b"row-3", b"missing", b"row-5"])):
        show(key.decode(), data)

    step("counters")
    show("counter_inc(hits) by 1", (yield table.counter_inc(b"row-1", b"counters:hits")))
    show("counter_inc(hits) by 10", (yield table.counter_inc(b"row-1", b"counters:hits", 10)))
    show("counter_dec(hits) by 2", (yield table.counter_dec(b"row-1", b"counters:hits", 2)))
    yield table.counter_set(b"row-1", b"counters:visits", 42)
    show("counter_get(visits) after counter_set 42",
         (yield table.counter_get(b"row-1", b"counters:visits")))

    step("scan row-3 .. row-7 with get_next() until None")
    scanner = table.scan(row_start=b"row-3", row_stop=b"row-7", columns=[b"cf:name"],
                         batch_size=2)
    while True:
        item = yield scanner.get_next()
        if item is None:
            break
        show(item[0].decode(), item[1])
    show("get_next() after the end", (yield scanner.get_next()))

    step("unordered scanners (max 3), scanned in parallel")
    scanners = yield table.unordered_scanners(3, row_prefix=b"row-")
    show("scanners", len(scanners))

    @defer.inlineCallbacks
    def drain(s: txhbase.Scanner) -> Generator[Any, Any, list]:
        keys: list = []
        while True:
            item = yield s.get_next()
            if item is None:
                return keys
            keys.append(item[0])

    parts = yield defer.gatherResults([drain(s) for s in scanners], consumeErrors=True)
    for i, keys in enumerate(parts):
        show(f"scanner {i}", [k.decode() for k in keys])
    every = [k for p in parts for k in p]
    show("rows in all scanners / distinct", (len(every), len(set(every))))

    step("exists")
    show("exists(row-1)", (yield table.exists(b"row-1")))
    show("exists(nope)", (yield table.exists(b"nope")))

    step("check_and_put")
    show("put cf:email on row-1 if absent", (yield table.check_and_put(
        b"row-1", b"cf:email", None, {b"cf:email": b"alice@example.com"})))
    show("again (now present)", (yield table.check_and_put(
        b"row-1", b"cf:email", None, {b"cf:email": b"other@example.com"})))
    show("replace if it equals alice@example.com", (yield table.check_and_put(
        b"row-1", b"cf:email", b"alice@example.com", {b"cf:email": b"a@example.org"})))

    step("count (server-side, key-only)")
    show("count()", (yield table.count()))
    show("count(row_prefix=row-)", (yield table.count(row_prefix=b"row-")))

    step("delete cf:name of row-3, then the whole row-4")
    yield table.delete(b"row-3", columns=[b"cf:name"])
    yield table.delete(b"row-4")
    show("row-3", (yield table.row(b"row-3")))
    show("row-4", (yield table.row(b"row-4")))
    show("count()", (yield table.count()))

    step(f"drop table {TABLE}")
    yield conn.delete_table(TABLE, disable=True)
    show("tables", (yield conn.tables()))
    yield conn.close()
    step("done")


def parse_args(argv: list) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", help="a gateway to use instead of the embedded server")
    p.add_argument("--port", type=int, default=9090)
    p.add_argument("--transport", choices=["buffered", "framed", "http", "https"],
                   default="buffered", help="http/https: a gateway in HTTP mode")
    p.add_argument("--tls-ca", help="https: PEM file of the CA to trust (default: system roots)")
    p.add_argument("--proxy-user", help="http/https: run as this user (HBase's doAs)")
    p.add_argument("--protocol", choices=["binary", "compact"], default="binary")
    p.add_argument("--timeout", type=float, default=30000.0, help="per-call timeout (ms)")
    p.add_argument("--log-config", help="logging.config.fileConfig file (default logger.conf)")
    args = p.parse_args(argv)
    if args.transport == "https" and args.host is None:
        p.error("--transport https needs --host (the embedded server needs a certificate)")
    return args


def main(argv: list) -> int:
    args = parse_args(argv)
    configure_logging(args.log_config)
    outcome = {"rc": 1}

    @defer.inlineCallbacks
    def run() -> Generator[Any, Any, None]:
        server = None
        started = time.monotonic()
        try:
            host, port = args.host, args.port
            if host is None:
                from txhbase import server as embedded

                server = embedded.listen(0, transport=args.transport, protocol=args.protocol)
                host, port = "127.0.0.1", server.port
                step(f"started the embedded server on {host}:{port}")
            http = {k: v for k, v in (("tls_ca", args.tls_ca),
                                       ("proxy_user", args.proxy_user)) if v is not None}
            conn = txhbase.Connection(host, port, transport=args.transport,
                                      protocol=args.protocol, timeout=args.timeout, **http)
            yield tour(conn, server)
            outcome["rc"] = 0
            print(f"sample.py: success in {time.monotonic() - started:.2f} s", flush=True)
        except Exception as exc:
            print(f"sample.py: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            if server is not None:
                yield server.stop()
            reactor.stop()

    reactor.callWhenRunning(run)
    reactor.run()
    return outcome["rc"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
