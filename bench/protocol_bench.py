"""CPU per call of the protocol layer alone (HBaseClientProtocol), no socket.

    python bench/protocol_bench.py [--calls 20000]

Drives ``HBaseClientProtocol`` over a transport that only collects bytes and
feeds it replies captured in advance: a ``getRowWithColumns`` of 10 columns ×
100 bytes and a 1,000-row ``scannerGetList``, with and without a timeout,
one call at a time and 64 in flight, the buffered reply fed whole and in
1 KB chunks. What is left is the client's own protocol work per call:
encoding, the Deferred, deadlines, finding the message end, decoding and
delivering the result. Reports process CPU µs per call (best of 3).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from twisted.internet import task  # noqa: E402

from txhbase.protocol.client import HBaseClientProtocol  # noqa: E402
from txhbase.protocol.codec import REPLY, make_codec  # noqa: E402
from txhbase.protocol.idl import hbase  # noqa: E402
from txhbase.protocol.skipper import HAVE_ACCELERATOR  # noqa: E402


class _Sink:
    """The least a transport can be: writes are counted and dropped."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def loseConnection(self) -> None:
        pass


def _row(key: bytes) -> Any:
    return hbase.TRowResult(row=key, columns={
        b"cf:q%d" % c: hbase.TCell(value=b"v" * 100, timestamp=1) for c in range(10)})


def _reply(name: str, seqid: int, success: Any) -> bytes:
    result = getattr(hbase.Hbase, name + "_result")(success=success)
    return make_codec("binary").encode(name, REPLY, seqid, result)


def run(name: str, args: tuple, success: Any, calls: int, window: int,
        timeout: Any, chunk: int) -> float:
    """CPU µs per call for ``calls`` calls of ``name``, ``window`` in flight."""
    p = HBaseClientProtocol("buffered", "binary", clock=task.Clock(), default_timeout=timeout)
    p.makeConnection(_Sink())  # type: ignore[arg-type]
    # replies for every seqid the run will use, encoded up front
    replies = [_reply(name, s, success) for s in range(1, calls + 1)]
    done = [0]

    def count(_r: Any) -> None:
        done[0] += 1

    t0 = time.process_time()
    sent = 0
    while sent < calls:
        n = min(window, calls - sent)
        for _ in range(n):
            p.call(name, *args).addCallback(count)
        data = b"".join(replies[sent:sent + n])
        if chunk:
            for i in range(0, len(data), chunk):
                p.dataReceived(data[i:i + chunk])
        else:
            p.dataReceived(data)
        sent += n
    elapsed = time.process_time() - t0
    assert done[0] == calls, (done[0], calls)
    return elapsed * 1e6 / calls


def best(fn: Callable[[], float], n: int = 3) -> float:
    return min(fn() for _ in range(n))


def main(argv: List[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=20000)
    a = ap.parse_args(argv)
    print(f"compiled skipper walk: {'yes' if HAVE_ACCELERATOR else 'no'}")
    row_args = (b"t", b"k", None, {})
    rows = [_row(b"r%06d" % i) for i in range(1000)]
    for label, name, args, success, calls in (
            ("getRowWithColumns, 10 x 100 B", "getRowWithColumns", row_args, [_row(b"k")],
             a.calls),
            ("scannerGetList, 1000 rows", "scannerGetList", (1, 1000), rows, 60)):
        for window in (1, 64):
            if window > calls:
                continue
            for timeout in (None, 5000):
                for chunk in (0, 1024):
                    us = best(lambda: run(name, args, success, calls, window, timeout, chunk))
                    print(f"{label:<32} {window:>2} in flight, timeout {str(timeout):>4}, "
                          f"{'1 KB chunks' if chunk else 'whole      '}: {us:9.1f} us/call")


if __name__ == "__main__":
    main(sys.argv[1:])
