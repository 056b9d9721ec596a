"""Where a sequential call's client CPU goes, layer by layer (issue 13).

    python bench/layers_bench.py [--calls 5000]

Against the embedded server (a subprocess), one process times 10-column
``row`` reads made one at a time (``yield``), through each layer in turn:
the bare protocol (``txhbase.protocol.connect`` + ``call``), a
``Connection.call``, and ``Table.row``; and, for the floor of any
Twisted client, the same round trip with a protocol that only writes the
request bytes and counts reply bytes. Process CPU µs per call; the
differences are what each layer adds.
"""
from __future__ import annotations

import argparse
import statistics
import os
import sys
import time
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

from cmp_common import FAMILY, ROW_DATA, TABLE  # noqa: E402

KEY = b"layers-row"
ROUNDS = 5


def main(argv: List[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=5000)
    a = ap.parse_args(argv)
    from compare import start_gateway

    gw = start_gateway("embedded", "buffered", "binary")
    try:
        import happybase

        hb = happybase.Connection(gw.host, gw.port, autoconnect=True)
        if TABLE not in hb.tables():
            hb.create_table(TABLE, {FAMILY: dict(max_versions=1)})
        hb.table(TABLE).put(KEY, ROW_DATA)
        hb.close()
        run(gw.host, gw.port, a.calls)
    finally:
        gw.stop()


def run(host: str, port: int, n: int) -> None:
    from twisted.internet import defer, protocol, task

    import txhbase
    from txhbase.protocol import connect
    from txhbase.protocol.codec import CALL, METHODS, make_codec

    @defer.inlineCallbacks
    def timed(one: Any) -> Any:
        for _ in range(100):  # warm-up
            yield one()
        t0 = time.process_time()
        for _ in range(n):
            yield one()
        return (time.process_time() - t0) * 1e6 / n

    class Raw(protocol.Protocol):
        """Writes a prepared request, fires when the reply's byte count arrived."""

        def __init__(self, request: bytes, reply_len: int) -> None:
            self.request, self.reply_len = request, reply_len
            self.got = 0
            self.d: Any = None

        def one(self) -> Any:
            self.d = defer.Deferred()
            self.got = 0
            self.transport.write(self.request)
            return self.d

        def dataReceived(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= self.reply_len:
                self.d, d = None, self.d
                d.callback(None)

    @defer.inlineCallbacks
    def main(reactor: Any) -> Any:
        spec = METHODS["getRowWithColumns"]
        args = (TABLE, KEY, None, {})
        request = make_codec("binary").encode("getRowWithColumns", CALL, 1,
                                              spec.args_cls(*args))
        proto = yield connect(reactor, host, port)
        # the reply's size, to let the raw client count bytes
        sizes: List[int] = []
        orig = proto.dataReceived

        def spy(data: bytes) -> None:
            sizes.append(len(data))
            orig(data)

        proto.dataReceived = spy  # type: ignore[method-assign]
        yield proto.call("getRowWithColumns", *args)
        proto.dataReceived = orig  # type: ignore[method-assign]
        reply_len = sum(sizes)
        ep = protocol.ClientCreator(reactor, Raw, request, reply_len)
        raw = yield ep.connectTCP(host, port)
        conn = txhbase.Connection(host, port, reactor=reactor)
        yield conn.open()
        t = conn.table(TABLE)
        layers = [
            ("raw Twisted round trip (write, count bytes)", raw.one),
            ("protocol: HBaseClientProtocol.call", lambda: proto.call(
                "getRowWithColumns", *args)),
            ("protocol, with a 5 s timeout", lambda: proto.call(
                "getRowWithColumns", *args, timeout=5000)),
            ("Connection.call", lambda: conn.call("getRowWithColumns", *args)),
            ("Table.row", lambda: t.row(KEY)),
        ]
        # rounds interleave the layers so a drifting machine load hits all alike
        got: dict = {label: [] for label, _ in layers}
        for _ in range(ROUNDS):
            for label, one in layers:
                got[label].append((yield timed(one)))
        print(f"median of {ROUNDS} rounds of {n} calls, process CPU:")
        for label, _ in layers:
            print(f"  {label:<44} {statistics.median(got[label]):7.1f} us/call "
                  f"(min {min(got[label]):.1f})", flush=True)
        raw.transport.loseConnection()
        yield proto.close()
        yield conn.close()

    task.react(main)


if __name__ == "__main__":
    main(sys.argv[1:])
