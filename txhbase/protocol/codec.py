"""Encode and decode whole Thrift messages of the Hbase service.

A codec turns (method name, message type, seqid, struct) into the bytes of one
message and back. It never sees partial messages: framing.py has already cut
the byte stream at message boundaries (and validated declared lengths), so the
decode path is a single pass of thriftpy2's fastest decoder over exact bytes:
the Cython binary protocol (``cybin``) when it is available, the pure-Python
one otherwise, and thriftpy2's ``TCompactProtocol`` for compact.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from thriftpy2.protocol.compact import TCompactProtocol as _TCompactProtocol
from thriftpy2.thrift import TApplicationException, TMessageType
from thriftpy2.transport.memory import TMemoryBuffer as _TMemoryBuffer

from txhbase.errors import ProtocolError
from txhbase.protocol.idl import hbase

_BinaryProtocol: Any
_BinaryBuffer: Any
try:  # thriftpy2's Cython extensions; absent on some platforms
    from thriftpy2.protocol import cybin as _cybin
    from thriftpy2.transport import memory as _memory
    _BinaryProtocol = getattr(_cybin, "TCyBinaryProtocol")
    _BinaryBuffer = getattr(_memory, "TCyMemoryBuffer")
    HAVE_CYTHON = True
except (ImportError, AttributeError):  # pragma: no cover - exercised only without Cython
    from thriftpy2.protocol.binary import TBinaryProtocol as _PyBinaryProtocol
    _BinaryProtocol = _PyBinaryProtocol
    _BinaryBuffer = _TMemoryBuffer
    HAVE_CYTHON = False

__all__ = [
    "call_spec",
    "CALL", "REPLY", "EXCEPTION", "ONEWAY",
    "Codec", "BinaryCodec", "CompactCodec", "make_codec", "HAVE_CYTHON",
    "METHODS", "MethodSpec", "method_table",
]

# thriftpy2's pure-Python classes are untyped
TCompactProtocol: Any = _TCompactProtocol
TMemoryBuffer: Any = _TMemoryBuffer

#: replies up to this size are decoded from the codec's reusable read buffer
_REUSE_MAX = 1 << 20

CALL = TMessageType.CALL
REPLY = TMessageType.REPLY
EXCEPTION = TMessageType.EXCEPTION
ONEWAY = TMessageType.ONEWAY

#: ``struct_for(name, mtype, seqid)`` returns the empty struct the message's
#: body is read into, ``None`` to leave the body unread (a reply nobody waits
#: for any more), or raises to reject the message before decoding it.
StructFor = Callable[[str, int, int], Any]


class Codec:
    """Common encode/decode over a thriftpy2 protocol class and memory buffer."""

    name = "?"

    def _protocol(self, trans: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_buffer(self, data: bytes) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write_buffer(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _reader(self, data: bytes) -> Any:
        """A protocol positioned at the start of ``data``."""
        return self._protocol(self._read_buffer(data))

    def encode(self, name: str, mtype: int, seqid: int, obj: Any) -> bytes:
        """The bytes of one message whose body is the struct ``obj``."""
        buf = self._write_buffer()
        proto = self._protocol(buf)
        proto.write_message_begin(name, mtype, seqid)
        proto.write_struct(obj)
        proto.write_message_end()
        return bytes(buf.getvalue())

    def decode(self, data: bytes, struct_for: StructFor) -> Tuple[str, int, int, Any]:
        """Decode one complete message: ``(name, mtype, seqid, struct)``.

        ``struct_for`` picks (and may reject by raising) the struct type from
        the header before the body is read. Malformed bytes raise
        ``ProtocolError``; whatever ``struct_for`` raises propagates as is.
        """
        proto = self._reader(data)
        try:
            name, mtype, seqid = proto.read_message_begin()
        except Exception as e:
            raise ProtocolError(f"bad message header: {e}") from e
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ProtocolError(f"method name is not UTF-8: {name[:64]!r}") from e
        obj = struct_for(name, mtype, seqid)
        if obj is None:
            return name, mtype, seqid, None
        try:
            proto.read_struct(obj)
        except Exception as e:
            raise ProtocolError(f"bad {name} message body: {e}") from e
        return name, mtype, seqid, obj


class BinaryCodec(Codec):
    """The strict Thrift binary protocol (what HBase's gateway writes)."""

    name = "binary"

    def _protocol(self, trans: Any) -> Any:
        return _BinaryProtocol(trans)

    def _read_buffer(self, data: bytes) -> Any:
        return _BinaryBuffer(data)

    def _write_buffer(self) -> Any:
        return _BinaryBuffer()

    def __init__(self) -> None:
        # One reusable write buffer and protocol per codec (per connection):
        # an encode runs to completion without yielding, so none overlap.
        self._wbuf = _BinaryBuffer()
        self._wproto = _BinaryProtocol(self._wbuf)
        # ... and one reusable read buffer for replies up to _REUSE_MAX bytes
        # (a larger one gets a buffer of its own, freed with it).
        self._rbuf = _BinaryBuffer()
        self._rproto = _BinaryProtocol(self._rbuf)

    def _reader(self, data: bytes) -> Any:
        if HAVE_CYTHON and len(data) <= _REUSE_MAX:
            self._rbuf.setvalue(data)
            return self._rproto
        return _BinaryProtocol(_BinaryBuffer(data))

    def encode(self, name: str, mtype: int, seqid: int, obj: Any) -> bytes:
        """The bytes of one message whose body is the struct ``obj``."""
        if not HAVE_CYTHON:  # pragma: no cover
            return Codec.encode(self, name, mtype, seqid, obj)
        buf = self._wbuf
        proto = self._wproto
        try:
            proto.write_message_begin(name, mtype, seqid)
            proto.write_struct(obj)
            return bytes(buf.getvalue())
        finally:
            buf.clean()


class CompactCodec(Codec):
    """The Thrift compact protocol (HBase gateway started with ``-c``)."""

    name = "compact"

    def _protocol(self, trans: Any) -> Any:
        return TCompactProtocol(trans)

    def _read_buffer(self, data: bytes) -> Any:
        return TMemoryBuffer(data)

    def _write_buffer(self) -> Any:
        return TMemoryBuffer()


_CODECS = {"binary": BinaryCodec, "compact": CompactCodec}


def make_codec(protocol: str) -> Codec:
    """A codec for ``protocol``: 'binary' or 'compact'.

    Each connection gets its own: the binary codec reuses a write buffer, so
    one instance must not be shared between threads.
    """
    try:
        return _CODECS[protocol]()
    except (KeyError, TypeError):
        raise ValueError(f"protocol must be 'binary' or 'compact', not {protocol!r}") from None


def application_exception(type_: int, message: Optional[str]) -> TApplicationException:
    """A ``TApplicationException`` ready to be sent as an EXCEPTION message."""
    return TApplicationException(type_, message)


class MethodSpec:
    """What the protocol layer needs to know about one service method: its
    argument and result structs, argument names in field-id order, whether
    it returns a value, and its declared exceptions."""

    __slots__ = ("name", "args_cls", "result_cls", "arg_names", "has_success",
                 "exceptions")

    def __init__(self, service: Any, name: str) -> None:
        self.name = name
        self.args_cls = getattr(service, name + "_args")
        self.result_cls = getattr(service, name + "_result")
        spec = self.args_cls.thrift_spec
        self.arg_names = tuple(spec[fid][1] for fid in sorted(spec))
        rspec = self.result_cls.thrift_spec
        self.has_success = 0 in rspec
        #: (result field name, exception class) for each declared exception
        self.exceptions = tuple(
            (rspec[fid][1], rspec[fid][2]) for fid in sorted(rspec) if fid != 0)


def method_table(service: Any) -> Dict[str, MethodSpec]:
    """``{name: MethodSpec}`` for every method of a thriftpy2 service."""
    return {name: MethodSpec(service, name) for name in service.thrift_services}


#: Every method of the Hbase service, by name: the one table the client and
#: the server protocols look methods up in.
METHODS: Dict[str, MethodSpec] = method_table(hbase.Hbase)


def call_spec(name: Any, nargs: int) -> MethodSpec:
    """The ``MethodSpec`` of a client's call to ``name`` with ``nargs``
    arguments; TypeError / ValueError before anything is encoded."""
    spec = METHODS.get(name)
    if spec is None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        raise ValueError(f"name: no Hbase method called {name!r}")
    if nargs > len(spec.arg_names):
        raise TypeError(f"{name}() takes {len(spec.arg_names)} arguments "
                        f"({', '.join(spec.arg_names)}), {nargs} given")
    return spec
