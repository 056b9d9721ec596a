"""The raw floor: thriftpy2's codec alone on the same requests and replies.

A client library cannot spend less CPU than encoding its request and decoding
the reply. This worker captures, once, the real reply bytes the gateway sends
for each workload's request (over a plain blocking socket), then loops in
process: encode the request struct (Cython binary protocol, or thriftpy2's
compact protocol) and decode the captured reply into the result struct. No
sockets, no event loop, no dict building: what is left is the floor.

The request structs are built once, outside the loop: turning a dict into
``Mutation`` structs and ``TRowResult`` into dicts is client work the floor
does not include (this is the "codec alone" of issue 7).
"""
from __future__ import annotations

import socket
import struct
from typing import Any, Callable, List, Tuple

from thriftpy2.protocol.compact import TCompactProtocol
from thriftpy2.thrift import TMessageType
from thriftpy2.transport.memory import TMemoryBuffer

from cmp_common import (
    COLUMNS,
    ROW_DATA,
    SCAN_BATCH,
    TABLE,
    Meter,
    Sizes,
    batch_key,
    emit,
    put_key,
    read_key,
    rows_keys,
)

try:
    from thriftpy2.protocol.cybin import TCyBinaryProtocol as BinaryProtocol
    from thriftpy2.transport.memory import TCyMemoryBuffer as BinaryBuffer
except ImportError:  # pragma: no cover - no Cython build
    from thriftpy2.protocol.binary import TBinaryProtocol as BinaryProtocol
    BinaryBuffer = TMemoryBuffer


#: fewest encode+decode calls timed per workload
MIN_CALLS = 50


def _hbase() -> Any:
    from txhbase.protocol.idl import hbase  # only the IDL's structs are used

    return hbase


class _RecordingSocket:
    """A thriftpy2 read transport over a blocking socket that keeps what it read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.seen = bytearray()

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError("gateway closed the connection")
            out += chunk
        self.seen += out
        return bytes(out)


class Wire:
    """Encode/decode with the chosen protocol; talk to the gateway to capture replies."""

    def __init__(self, host: str, port: int, transport: str, protocol: str) -> None:
        self.framed = transport == "framed"
        self.compact = protocol == "compact"
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seqid = 0

    def encoder(self) -> Callable[[str, Any], bytes]:
        if self.compact:
            def encode(name: str, args: Any) -> bytes:
                buf = TMemoryBuffer()
                p = TCompactProtocol(buf)
                p.write_message_begin(name, TMessageType.CALL, 1)
                p.write_struct(args)
                p.write_message_end()
                return buf.getvalue()
        else:
            def encode(name: str, args: Any) -> bytes:
                buf = BinaryBuffer()
                p = BinaryProtocol(buf)
                p.write_message_begin(name, TMessageType.CALL, 1)
                p.write_struct(args)
                p.write_message_end()
                return buf.getvalue()
        return encode

    def decoder(self) -> Callable[[bytes, Any], Any]:
        if self.compact:
            def decode(data: bytes, result: Any) -> Any:
                p = TCompactProtocol(TMemoryBuffer(data))
                p.read_message_begin()
                p.read_struct(result)
                return result
        else:
            def decode(data: bytes, result: Any) -> Any:
                p = BinaryProtocol(BinaryBuffer(data))
                p.read_message_begin()
                p.read_struct(result)
                return result
        return decode

    def call(self, name: str, args: Any) -> Tuple[bytes, Any]:
        """Send one call; return (the reply message's exact bytes, decoded result)."""
        hbase = _hbase()
        body = self.encoder()(name, args)
        if self.framed:
            body = struct.pack("!i", len(body)) + body
        self.sock.sendall(body)
        rec = _RecordingSocket(self.sock)
        if self.framed:
            (length,) = struct.unpack("!i", rec.read(4))
            data = rec.read(length)
            result = self.decoder()(data, getattr(hbase.Hbase, name + "_result")())
            return data, result
        if self.compact:
            p = TCompactProtocol(rec)
        else:
            from thriftpy2.protocol.binary import TBinaryProtocol

            p = TBinaryProtocol(rec)
        _name, mtype, _seq = p.read_message_begin()
        if mtype != TMessageType.REPLY:
            raise RuntimeError(f"{name}: gateway sent message type {mtype}")
        result = getattr(hbase.Hbase, name + "_result")()
        p.read_struct(result)
        return bytes(rec.seen), result

    def close(self) -> None:
        self.sock.close()


def _mutations(hbase: Any) -> List[Any]:
    return [hbase.Mutation(isDelete=False, column=c, value=v, writeToWAL=True)
            for c, v in ROW_DATA.items()]


def run_raw(cfg: dict, sizes: Sizes, workloads: List[str]) -> None:
    """Capture each workload's reply once, then time encode+decode loops."""
    hbase = _hbase()
    wire = Wire(cfg["host"], cfg["port"], cfg["transport"], cfg["protocol"])
    encode, decode = wire.encoder(), wire.decoder()
    H = hbase.Hbase
    muts = _mutations(hbase)
    name = cfg["client"]
    for w in workloads:
        n = sizes.ops(w)
        if w == "put":
            method, per_call = "mutateRow", 1
            args = H.mutateRow_args(TABLE, put_key(0), muts, {})
        elif w == "row":
            method, per_call = "getRowWithColumns", 1
            args = H.getRowWithColumns_args(TABLE, read_key(0, sizes), None, {})
        elif w == "rows":
            method, per_call = "getRowsWithColumns", 1
            args = H.getRowsWithColumns_args(TABLE, rows_keys(0, sizes), None, {})
        elif w == "batchput":
            per_call = min(SCAN_BATCH, n)
            method = "mutateRows"
            args = H.mutateRows_args(
                TABLE, [hbase.BatchMutation(batch_key(i), muts) for i in range(per_call)], {})
        elif w == "scan":
            per_call = min(SCAN_BATCH, n)
            method = "scannerGetList"
            _d, opened = wire.call("scannerOpenWithStop", H.scannerOpenWithStop_args(
                TABLE, b"scan-", b"scan.", None, {}))
            args = H.scannerGetList_args(opened.success, per_call)
        else:
            raise ValueError(f"unknown workload {w!r}")
        reply, result = wire.call(method, args)
        if w == "scan":
            wire.call("scannerClose", H.scannerClose_args(args.id))
        if getattr(result, "io", None) is not None or getattr(result, "ia", None) is not None:
            raise RuntimeError(f"{method} failed on the gateway: {result}")
        result_cls = getattr(H, method + "_result")
        calls = max(1, n // per_call)
        cells = _cells(result) if w in ("row", "rows", "scan") else per_call
        # at least MIN_CALLS calls, so one-off costs (first allocations) do not
        # dominate the small quick-mode sizes; ops scale with what was done
        calls = max(calls, MIN_CALLS)
        m = Meter()
        for _ in range(calls):
            encode(method, args)
            decode(reply, result_cls())
        emit(m.stop(name, w, calls * per_call, calls * cells))
    wire.close()


def _cells(result: Any) -> int:
    rows = result.success or []
    return sum(len(r.columns or ()) for r in rows)


__all__ = ["run_raw", "Wire", "COLUMNS"]
