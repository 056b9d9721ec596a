"""Decode cost of a large scannerGetList reply through txhbase's protocol layer.

A ~20 MB reply (many TRowResults) is decoded

- by raw thriftpy2 (the floor: Cython binary protocol over a memory buffer, or
  the pure-Python compact protocol),
- by txhbase's codec on the same complete message bytes,
- by ``HBaseClientProtocol`` fed the whole reply in one ``dataReceived``,
- by ``HBaseClientProtocol`` fed 1 KB chunks,

and prints two ratios: chunked/whole (framing is linear: target <= 2) and
codec/raw (the codec adds nothing to thriftpy2: target <= 1.3).

Run: ``python bench/decode_bench.py [--mb 20] [--repeat 5] [--wire buffered-binary ...]``
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Callable, List

from thriftpy2.protocol.compact import TCompactProtocol
from thriftpy2.thrift import TMessageType
from thriftpy2.transport.memory import TMemoryBuffer
from twisted.internet import task
from twisted.internet.testing import StringTransport

from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.codec import HAVE_CYTHON, make_codec
from txhbase.protocol.framing import frame
from txhbase.protocol.idl import hbase

if HAVE_CYTHON:
    from thriftpy2.protocol.cybin import TCyBinaryProtocol as RawBinary
    from thriftpy2.transport.memory import TCyMemoryBuffer as RawBuffer
else:  # pragma: no cover
    from thriftpy2.protocol.binary import TBinaryProtocol as RawBinary
    RawBuffer = TMemoryBuffer

NAME = "scannerGetList"
RESULT = hbase.Hbase.scannerGetList_result


def build_rows(target_bytes: int, cols: int = 10, value_size: int = 100) -> list:
    per_row = cols * (value_size + 30) + 30
    rows = []
    for i in range((target_bytes + per_row - 1) // per_row):
        key = b"row-%010d" % i
        rows.append(hbase.TRowResult(row=key, columns={
            b"cf:col%02d" % c: hbase.TCell(value=bytes([97 + (i + c) % 26]) * value_size,
                                          timestamp=1700000000000 + c)
            for c in range(cols)}))
    return rows


def message_bytes(protocol: str, rows: list) -> bytes:
    return make_codec(protocol).encode(NAME, TMessageType.REPLY, 1, RESULT(success=rows))


def raw_decode(protocol: str, data: bytes) -> list:
    if protocol == "binary":
        proto = RawBinary(RawBuffer(data))
    else:
        proto = TCompactProtocol(TMemoryBuffer(data))
    proto.read_message_begin()
    result = RESULT()
    proto.read_struct(result)
    return result.success


def codec_decode(protocol: str, data: bytes) -> list:
    return make_codec(protocol).decode(data, lambda n, t, s: RESULT())[3].success


def protocol_decode(transport: str, protocol: str, wire: bytes, chunk: int) -> list:
    p = HBaseClientProtocol(transport, protocol, clock=task.Clock())
    p.makeConnection(StringTransport())
    d = p.call(NAME, 1, 100000)
    out: List = []
    d.addBoth(out.append)
    if chunk <= 0:
        p.dataReceived(wire)
    else:
        for i in range(0, len(wire), chunk):
            p.dataReceived(wire[i:i + chunk])
    assert out and isinstance(out[0], list), out
    return out[0]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def run(transport: str, protocol: str, mb: float, repeat: int) -> dict:
    rows = build_rows(int(mb * 1024 * 1024))
    data = message_bytes(protocol, rows)
    wire = frame(data) if transport == "framed" else data
    assert raw_decode(protocol, data) == rows
    assert codec_decode(protocol, data) == rows
    assert protocol_decode(transport, protocol, wire, 1024) == rows
    del rows
    t_raw = best_of(lambda: raw_decode(protocol, data), repeat)
    t_codec = best_of(lambda: codec_decode(protocol, data), repeat)
    t_whole = best_of(lambda: protocol_decode(transport, protocol, wire, 0), repeat)
    t_chunked = best_of(lambda: protocol_decode(transport, protocol, wire, 1024), repeat)
    return {"bytes": len(wire), "raw": t_raw, "codec": t_codec, "whole": t_whole,
            "chunked": t_chunked}


def small_reply(protocol: str, transport: str, n: int = 20000) -> dict:
    """Per-reply CPU (microseconds) for a small getRow reply (one row, 5 cells)."""
    from txhbase.protocol.codec import REPLY
    rows = [hbase.TRowResult(row=b"row-1", columns={
        b"cf:c%d" % c: hbase.TCell(value=b"v" * 50, timestamp=c) for c in range(5)})]
    codec = make_codec(protocol)
    result_cls = hbase.Hbase.getRow_result
    reply = codec.encode("getRow", REPLY, 1, result_cls(success=rows))
    wire = frame(reply) if transport == "framed" else reply

    class NullTransport:
        def write(self, data: bytes) -> None:
            pass

    p = HBaseClientProtocol(transport, protocol, clock=task.Clock())
    p.makeConnection(NullTransport())

    def raw() -> None:
        for _ in range(n):
            if protocol == "binary":
                proto = RawBinary(RawBuffer(reply))
            else:
                proto = TCompactProtocol(TMemoryBuffer(reply))
            proto.read_message_begin()
            proto.read_struct(result_cls())

    def via_codec() -> None:
        for _ in range(n):
            codec.decode(reply, lambda name, t, s: result_cls())

    def round_trip() -> None:
        for _ in range(n):
            p._seqid = 0  # the canned reply answers seqid 1
            p.call("getRow", b"t", b"row-1", {})
            p.dataReceived(wire)

    return {k: best_of(f, 3) / n * 1e6
            for k, f in (("raw", raw), ("codec", via_codec), ("call+reply", round_trip))}


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=20.0, help="reply size in MiB (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure, best kept")
    ap.add_argument("--wire", action="append",
                    help="transport-protocol, e.g. buffered-binary (repeatable; default: all)")
    args = ap.parse_args(argv)
    wires = args.wire or ["buffered-binary", "framed-binary", "buffered-compact", "framed-compact"]
    print(f"thriftpy2 Cython: {HAVE_CYTHON}; CPU seconds, best of {args.repeat}")
    print(f"{'wire':18} {'MB':>6} {'raw':>7} {'codec':>7} {'whole':>7} {'1KB':>7}"
          f" {'codec/raw':>9} {'chunked/whole':>13} {'whole/raw':>9}")
    for w in wires:
        transport, protocol = w.split("-")
        r = run(transport, protocol, args.mb, args.repeat)
        print(f"{w:18} {r['bytes'] / 2**20:6.1f} {r['raw']:7.3f} {r['codec']:7.3f}"
              f" {r['whole']:7.3f} {r['chunked']:7.3f} {r['codec'] / r['raw']:9.2f}"
              f" {r['chunked'] / r['whole']:13.2f} {r['whole'] / r['raw']:9.2f}")
    print("small getRow reply, microseconds CPU per reply:")
    for w in wires:
        transport, protocol = w.split("-")
        r = small_reply(protocol, transport)
        print(f"  {w:18} raw {r['raw']:6.2f}  codec {r['codec']:6.2f}  "
              f"call+reply via HBaseClientProtocol {r['call+reply']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
