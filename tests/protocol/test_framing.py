"""FramedDecoder / BufferedDecoder: bytes in, whole messages out."""
from __future__ import annotations

import pytest

from tests.protocol.wire import REPLY, message, reply_bytes, row
from txhbase.errors import MessageTooLarge, ProtocolError
from txhbase.protocol.framing import (
    DEFAULT_MAX_MESSAGE_SIZE, BufferedDecoder, FramedDecoder, frame, make_decoder,
)
from txhbase.protocol.idl import hbase

PROTOCOLS = ["binary", "compact"]


def msgs(protocol, n=4):
    return [reply_bytes("getRow", i, "buffered", protocol, success=[row(b"r%d" % i, i + 1, 40 * i)])
            for i in range(n)]


def test_frame():
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert frame(b"") == b"\x00\x00\x00\x00"


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


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_framed_length_split_then_body(protocol):
    m = msgs(protocol, 1)[0]
    dec = FramedDecoder(protocol=protocol)
    assert dec.feed(frame(m)[:2]) == []
    assert dec.feed(frame(m)[2:4]) == []
    assert dec.buffered == 4
    assert dec.feed(frame(m)[4:]) == [m]


def test_framed_without_validation_passes_opaque_payloads():
    dec = FramedDecoder(100, protocol=None)
    assert dec.feed(frame(b"xyz") + frame(b"")) == [b"xyz", b""]


def test_framed_limit_checked_on_length_alone():
    dec = FramedDecoder(1000)
    with pytest.raises(MessageTooLarge, match="1001"):
        dec.feed(b"\x00\x00\x03\xe9")
    with pytest.raises(ProtocolError, match="already failed"):
        dec.feed(b"more")


def test_buffered_limit():
    m = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x" * 500])
    dec = BufferedDecoder(400)
    assert dec.feed(m[:30]) == []
    with pytest.raises(MessageTooLarge, match="declared string of 500"):
        dec.feed(m[30:40])


def test_message_at_exact_limit_accepted():
    m = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x" * 500])
    assert BufferedDecoder(len(m)).feed(m) == [m]
    assert FramedDecoder(len(m)).feed(frame(m)) == [m]
    with pytest.raises(MessageTooLarge):
        BufferedDecoder(len(m) - 1).feed(m)
    with pytest.raises(MessageTooLarge):
        FramedDecoder(len(m) - 1).feed(frame(m))


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
