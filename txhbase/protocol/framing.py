"""Cut a Thrift byte stream into whole messages, for both transports.

``framed``: each message is preceded by its 4-byte big-endian length.
``buffered``: no prefix; a resumable skipper (skipper.py) walks the encoding to
find where each message ends. In both cases the work is linear in the bytes
received, however they are chunked, and a message is delivered as soon as its
last byte arrives.

A decoder's ``feed(data)`` returns the complete messages (``bytes``) it now
holds, in order. It raises ``ProtocolError`` (or ``MessageTooLarge``) on bytes
that cannot be a valid message; the decoder is then unusable and the caller
must drop the connection.
"""
from __future__ import annotations

from struct import Struct
from typing import List, Optional

from txhbase.errors import MessageTooLarge, ProtocolError
from txhbase.protocol.skipper import make_skipper

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE", "FramedDecoder", "BufferedDecoder",
    "make_decoder", "frame", "TRANSPORTS",
]

DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024
TRANSPORTS = ("buffered", "framed")

_LEN = Struct("!i")


def frame(payload: bytes) -> bytes:
    """``payload`` with its framed-transport length prefix."""
    return _LEN.pack(len(payload)) + payload


class _Decoder:
    __slots__ = ("max_message_size", "_buf", "_failed")

    def __init__(self, max_message_size: int) -> None:
        if (not isinstance(max_message_size, int) or isinstance(max_message_size, bool)
                or max_message_size <= 0):
            raise ValueError("max_message_size must be a positive int")
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._failed: Optional[Exception] = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a delivered message."""
        return len(self._buf)

    def feed(self, data: bytes) -> List[bytes]:
        """Add received bytes; return the messages now complete."""
        if self._failed is not None:
            raise ProtocolError(f"decoder already failed: {self._failed}")
        try:
            return self._feed(data)
        except ProtocolError as e:
            self._failed = e
            self._buf = bytearray()
            raise

    def _feed(self, data: bytes) -> List[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError


class FramedDecoder(_Decoder):
    """Messages behind a 4-byte length prefix.

    The body of each frame is also walked by the protocol's skipper before it
    is handed on: a frame whose inner encoding runs past its end, declares a
    string or container larger than the frame allows, or leaves trailing bytes
    is a ``ProtocolError`` rather than a large allocation in the decoder.
    """

    __slots__ = ("_need", "_skipper")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 protocol: Optional[str] = "binary") -> None:
        super().__init__(max_message_size)
        self._need = -1  # body length of the frame being received, -1 = unknown
        self._skipper = make_skipper(protocol, max_message_size) if protocol else None

    def _feed(self, data: bytes) -> List[bytes]:
        buf = self._buf
        buf += data
        out: List[bytes] = []
        while True:
            need = self._need
            if need < 0:
                if len(buf) < 4:
                    return out
                (need,) = _LEN.unpack_from(buf, 0)
                if need < 0:
                    raise ProtocolError(f"negative frame length {need}")
                if need > self.max_message_size:
                    raise MessageTooLarge(
                        f"frame of {need} bytes exceeds max_message_size "
                        f"{self.max_message_size}")
                self._need = need
            if len(buf) < 4 + need:
                return out
            body = buf[4:4 + need]
            del buf[:4 + need]
            self._need = -1
            if self._skipper is not None:
                self._validate(body)
            out.append(bytes(body))

    def _validate(self, body: bytearray) -> None:
        sk = self._skipper
        assert sk is not None
        sk.reset()
        end = sk.scan(body)  # MessageTooLarge for a declared length over the limit
        if end is None:
            raise ProtocolError(f"frame of {len(body)} bytes holds a truncated message")
        if end != len(body):
            raise ProtocolError(
                f"frame of {len(body)} bytes has {len(body) - end} bytes after its message")


class BufferedDecoder(_Decoder):
    """Messages with no prefix: boundaries found by the protocol's skipper."""

    __slots__ = ("_skipper",)

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 protocol: str = "binary") -> None:
        super().__init__(max_message_size)
        self._skipper = make_skipper(protocol, max_message_size)

    def _feed(self, data: bytes) -> List[bytes]:
        buf = self._buf
        buf += data
        out: List[bytes] = []
        sk = self._skipper
        while buf:
            end = sk.scan(buf)
            if end is None:
                break
            if end == len(buf):  # the usual case: the chunk ends a message
                out.append(bytes(buf))
                buf.clear()
            else:
                out.append(bytes(buf[:end]))
                del buf[:end]
            sk.reset()
        return out


def make_decoder(transport: str, protocol: str,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> _Decoder:
    """A fresh decoder for one connection's incoming byte stream."""
    if transport == "framed":
        return FramedDecoder(max_message_size, protocol)
    if transport == "buffered":
        return BufferedDecoder(max_message_size, protocol)
    raise ValueError(f"transport must be 'buffered' or 'framed', not {transport!r}")
