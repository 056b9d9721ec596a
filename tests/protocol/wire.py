"""Independent reference encodings for protocol tests.

Bytes are produced with thriftpy2's *pure-Python* protocols and transports,
not with the codec under test, so a byte-exact comparison means something.
"""
from __future__ import annotations

from typing import Any

from thriftpy2.protocol.binary import TBinaryProtocol
from thriftpy2.protocol.compact import TCompactProtocol
from thriftpy2.thrift import TMessageType
from thriftpy2.transport.framed import TFramedTransport
from thriftpy2.transport.memory import TMemoryBuffer

from txhbase.protocol.idl import hbase

WIRES = [(t, p) for t in ("buffered", "framed") for p in ("binary", "compact")]
CALL, REPLY, EXCEPTION = TMessageType.CALL, TMessageType.REPLY, TMessageType.EXCEPTION


def message(name: str, mtype: int, seqid: int, obj: Any, transport: str, protocol: str) -> bytes:
    """One message as an independent Thrift implementation writes it."""
    mem = TMemoryBuffer()
    trans = TFramedTransport(mem) if transport == "framed" else mem
    proto = TBinaryProtocol(trans) if protocol == "binary" else TCompactProtocol(trans)
    proto.write_message_begin(name, mtype, seqid)
    proto.write_struct(obj)
    proto.write_message_end()
    trans.flush()
    return mem.getvalue()


def call_bytes(name: str, seqid: int, args: tuple, transport: str, protocol: str) -> bytes:
    return message(name, CALL, seqid, getattr(hbase.Hbase, name + "_args")(*args),
                   transport, protocol)


def reply_bytes(name: str, seqid: int, transport: str, protocol: str, **fields: Any) -> bytes:
    result = getattr(hbase.Hbase, name + "_result")(**fields)
    return message(name, REPLY, seqid, result, transport, protocol)


def app_exception_bytes(name: str, seqid: int, type_: int, msg: str,
                        transport: str, protocol: str) -> bytes:
    from thriftpy2.thrift import TApplicationException
    return message(name, EXCEPTION, seqid, TApplicationException(type_, msg),
                   transport, protocol)


def row(key: bytes, ncols: int = 3, size: int = 10) -> Any:
    """A TRowResult with ``ncols`` cells of ``size``-byte values."""
    return hbase.TRowResult(
        row=key,
        columns={b"cf:q%d" % i: hbase.TCell(value=bytes([65 + i % 26]) * size, timestamp=1000 + i)
                 for i in range(ncols)})
