"""FramedDecoder / BufferedDecoder: bytes in, whole messages out."""
from __future__ import annotations

import pytest

from tests.protocol.wire import REPLY, message, reply_bytes, row
from txhbase.errors import MessageTooLarge, ProtocolError
from txhbase.protocol.framing import (
    DEFAULT_MAX_MESSAGE_SIZE, BufferedDecoder, FramedDecoder, frame, make_decoder,
)
from txhbase.protocol.idl import hbase

# Every test but the Hypothesis ones runs with both skipper walks (conftest.py).
use_both = pytest.mark.usefixtures("skipper_impl")

PROTOCOLS = ["binary", "compact"]


def msgs(protocol, n=4):
    return [reply_bytes("getRow", i, "buffered", protocol, success=[row(b"r%d" % i, i + 1, 40 * i)])
            for i in range(n)]


@use_both
def test_frame():
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert frame(b"") == b"\x00\x00\x00\x00"


@use_both
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("transport", ["buffered", "framed"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 10 ** 6])
def test_chunked(transport, protocol, chunk):
    ms = msgs(protocol)
    data = b"".join(frame(m) if transport == "framed" else m for m in ms)
    dec = make_decoder(transport, protocol)
    out = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i:i + chunk])
    assert out == ms
    assert dec.buffered == 0


@use_both
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_framed_length_split_then_body(protocol):
    m = msgs(protocol, 1)[0]
    dec = FramedDecoder(protocol=protocol)
    assert dec.feed(frame(m)[:2]) == []
    assert dec.feed(frame(m)[2:4]) == []
    assert dec.buffered == 4
    assert dec.feed(frame(m)[4:]) == [m]


@use_both
def test_framed_without_validation_passes_opaque_payloads():
    dec = FramedDecoder(100, protocol=None)
    assert dec.feed(frame(b"xyz") + frame(b"")) == [b"xyz", b""]


@use_both
def test_framed_limit_checked_on_length_alone():
    dec = FramedDecoder(1000)
    with pytest.raises(MessageTooLarge, match="1001"):
        dec.feed(b"\x00\x00\x03\xe9")
    with pytest.raises(ProtocolError, match="already failed"):
        dec.feed(b"more")


@use_both
def test_buffered_limit():
    m = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x" * 500])
    dec = BufferedDecoder(400)
    assert dec.feed(m[:30]) == []
    with pytest.raises(MessageTooLarge, match="declared string of 500"):
        dec.feed(m[30:40])


@use_both
def test_message_at_exact_limit_accepted():
    m = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x" * 500])
    assert BufferedDecoder(len(m)).feed(m) == [m]
    assert FramedDecoder(len(m)).feed(frame(m)) == [m]
    with pytest.raises(MessageTooLarge):
        BufferedDecoder(len(m) - 1).feed(m)
    with pytest.raises(MessageTooLarge):
        FramedDecoder(len(m) - 1).feed(frame(m))


@use_both
def test_struct_message_with_every_result_kind():
    """Messages whose body is an exception result still split correctly."""
    ms = [message("createTable", REPLY, i, hbase.Hbase.createTable_result(
        io=hbase.IOError(message="m" * i, canRetry=bool(i % 2))), "buffered", "compact")
        for i in range(5)]
    data = b"".join(ms)
    dec = BufferedDecoder(protocol="compact")
    out = []
    for b in range(len(data)):
        out += dec.feed(data[b:b + 1])
    assert out == ms


@use_both
def test_validation():
    assert DEFAULT_MAX_MESSAGE_SIZE == 256 * 1024 * 1024
    with pytest.raises(ValueError, match="transport"):
        make_decoder("zlib", "binary")
    with pytest.raises(ValueError, match="protocol"):
        make_decoder("buffered", "json")
    with pytest.raises(ValueError, match="max_message_size"):
        make_decoder("framed", "binary", 0)
    with pytest.raises(ValueError, match="max_message_size"):
        BufferedDecoder(True)


# Hostile declared lengths inside small messages. thriftpy2's Cython skip (and
# decode) would malloc and copy a declared string length and spin through a
# declared container count of a type it ignores, even on a 30-byte input, so
# the decoders must refuse these before any codec sees them.
_BIN_HDR = b"\x80\x01\x00\x02\x00\x00\x00\x06getRow\x00\x00\x00\x07"
_CMP_HDR = b"\x82\x41\x07\x06getRow"
_HOSTILE = {
    # name: (protocol, body, framed decoder raises, buffered decoder raises or
    # None when the bytes so far may still start a valid message)
    "binary-string-2G": ("binary", b"\x0b\x00\x00\x7f\xff\xff\xff" + b"x" * 10,
                         MessageTooLarge, MessageTooLarge),
    "binary-string-200M": ("binary", b"\x0b\x00\x00\x0b\xeb\xc2\x00" + b"x" * 10,
                           ProtocolError, None),
    "binary-list-2G-of-type-1": ("binary", b"\x0f\x00\x00\x01\x7f\xff\xff\xff\x00",
                                 ProtocolError, ProtocolError),
    "binary-map-2G-bad-types": ("binary", b"\x0d\x00\x00\x01\x01\x7f\xff\xff\xff\x00",
                                ProtocolError, ProtocolError),
    "binary-list-200M-structs": ("binary", b"\x0f\x00\x00\x0c\x0b\xeb\xc2\x00\x00\x00",
                                 ProtocolError, None),
    "compact-binary-2G": ("compact", b"\x18\xff\xff\xff\xff\x07" + b"x" * 10,
                          MessageTooLarge, MessageTooLarge),
    "compact-binary-200M": ("compact", b"\x18\x80\x84\xaf\x5f" + b"x" * 10,
                            ProtocolError, None),
    "compact-list-200M-structs": ("compact", b"\x19\xfc\x80\x84\xaf\x5f\x00\x00",
                                  ProtocolError, None),
}


@use_both
@pytest.mark.parametrize("case", sorted(_HOSTILE))
def test_huge_declared_length_in_small_message(case):
    """Refused (framed) or waited for within the limit (buffered), never allocated."""
    import tracemalloc

    protocol, body, framed_exc, buffered_exc = _HOSTILE[case]
    data = (_BIN_HDR if protocol == "binary" else _CMP_HDR) + body
    tracemalloc.start()
    try:
        with pytest.raises(framed_exc):
            FramedDecoder(protocol=protocol).feed(frame(data))
        buffered = BufferedDecoder(protocol=protocol)
        if buffered_exc is not None:
            with pytest.raises(buffered_exc):
                buffered.feed(data)
        else:
            # Possibly valid so far: the buffered decoder waits for more bytes,
            # byte by byte as well as whole, holding only what arrived.
            assert buffered.feed(data) == []
            assert buffered.buffered == len(data)
            chunked = BufferedDecoder(protocol=protocol)
            assert [m for b in range(len(data)) for m in chunked.feed(data[b:b + 1])] == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # a spin over a huge count would not finish at all
