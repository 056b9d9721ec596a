"""The resumable skippers find exact message boundaries, however bytes arrive."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from thriftpy2.thrift import TPayload, TType, gen_init

from tests.protocol.wire import CALL, REPLY, message
from txhbase.errors import MessageTooLarge, ProtocolError
from txhbase.protocol.idl import hbase
from txhbase.protocol.skipper import (
    HAVE_ACCELERATOR, MAX_DEPTH, BinarySkipper, CompactSkipper, make_skipper,
)

PROTOCOLS = ["binary", "compact"]


class Everything(TPayload):
    """A struct using every Thrift type, nested containers included."""

    thrift_spec = {
        1: (TType.BOOL, "b", False),
        2: (TType.BYTE, "y", False),
        3: (TType.I16, "s", False),
        4: (TType.I32, "i", False),
        5: (TType.I64, "l", False),
        6: (TType.DOUBLE, "d", False),
        7: (TType.BINARY, "bin", False),
        8: (TType.LIST, "bools", TType.BOOL, False),
        9: (TType.LIST, "ints", TType.I32, False),
        10: (TType.MAP, "m", (TType.BINARY, (TType.LIST, TType.I64)), False),
        11: (TType.SET, "st", TType.BINARY, False),
        12: (TType.MAP, "fixed", (TType.I32, TType.DOUBLE), False),
        13: (TType.LIST, "cells", (TType.STRUCT, hbase.TCell), False),
        300: (TType.I16, "far", False),  # long-form field id in compact
        14: (TType.MAP, "rows", (TType.BINARY, (TType.STRUCT, hbase.TCell)), False),
    }


gen_init(Everything, Everything.thrift_spec,
         [(v[1], None) for _, v in sorted(Everything.thrift_spec.items())])

i64 = st.integers(-(2 ** 63), 2 ** 63 - 1)
binaries = st.binary(max_size=300)
cells = st.builds(hbase.TCell, value=st.none() | binaries, timestamp=st.none() | i64)
everything = st.builds(
    Everything,
    b=st.none() | st.booleans(), y=st.none() | st.integers(-128, 127),
    s=st.none() | st.integers(-32768, 32767), i=st.none() | st.integers(-(2 ** 31), 2 ** 31 - 1),
    l=st.none() | i64, d=st.none() | st.floats(allow_nan=False),
    bin=st.none() | binaries,
    bools=st.none() | st.lists(st.booleans(), max_size=20),
    ints=st.none() | st.lists(st.integers(-(2 ** 31), 2 ** 31 - 1), max_size=20),
    m=st.none() | st.dictionaries(binaries, st.lists(i64, max_size=5), max_size=5),
    st=st.none() | st.lists(binaries, max_size=5, unique=True),
    fixed=st.none() | st.dictionaries(st.integers(-5, 5), st.floats(allow_nan=False), max_size=5),
    cells=st.none() | st.lists(cells, max_size=5),
    far=st.none() | st.integers(-32768, 32767),
    rows=st.none() | st.dictionaries(binaries, cells, max_size=5),
)


class EverythingArgs(TPayload):
    thrift_spec = {1: (TType.STRUCT, "x", Everything, False),
                   2: (TType.LIST, "xs", (TType.STRUCT, Everything), False)}


gen_init(EverythingArgs, EverythingArgs.thrift_spec, [("x", None), ("xs", None)])


def encode(protocol, objs):
    out = []
    for k, o in enumerate(objs):
        args = EverythingArgs(x=o, xs=[o, Everything()])
        out.append(message("m%d" % k, CALL if k % 2 else REPLY, k, args, "buffered", protocol))
    return out


def feed_all(skipper, data, sizes):
    """Feed data in chunks; return the message lengths found."""
    buf = bytearray()
    found = []
    pos = k = 0
    while pos < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        buf += data[pos:pos + n]
        pos += n
        while buf:
            end = skipper.scan(buf)
            if end is None:
                break
            found.append(end)
            del buf[:end]
            skipper.reset()
    assert not buf
    return found


# Every test but the Hypothesis ones (which draw the implementation themselves)
# runs with both walks: see conftest.py.
use_both = pytest.mark.usefixtures("skipper_impl")
ACCELERATE = [False] + ([True] if HAVE_ACCELERATOR else [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PROTOCOLS), st.lists(everything, min_size=1, max_size=3),
       st.lists(st.integers(1, 200), min_size=1, max_size=10), st.sampled_from(ACCELERATE))
def test_boundaries_any_chunking(protocol, objs, sizes, accelerate):
    msgs = encode(protocol, objs)
    from txhbase.protocol.codec import make_codec
    for m in msgs:  # the bytes really carry the generated values
        obj = make_codec(protocol).decode(m, lambda n, t, s: EverythingArgs())[3]
        assert obj.x == objs[msgs.index(m)]
    found = feed_all(make_skipper(protocol, 1 << 30, accelerate), b"".join(msgs), sizes)
    assert found == [len(m) for m in msgs]


@use_both
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_complete_as_soon_as_last_byte_arrives(protocol):
    obj = Everything(bin=b"x" * 100, rows={b"k": hbase.TCell(value=b"v", timestamp=1)},
                     bools=[True, False], far=7)
    data = encode(protocol, [obj])[0]
    sk = make_skipper(protocol, 1 << 20)
    buf = bytearray()
    for i, byte in enumerate(data):
        buf.append(byte)
        end = sk.scan(buf)
        if i < len(data) - 1:
            assert end is None
    assert end == len(data)


@use_both
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_work_is_linear(protocol, monkeypatch):
    """Feeding a large message byte by byte does not re-walk what was walked:
    the skipper's position only moves forward and its stack stays small."""
    rows = [hbase.TRowResult(row=b"r%d" % i, columns={b"cf:%d" % c: hbase.TCell(b"v" * 20, c)
                                                      for c in range(5)}) for i in range(200)]
    data = message("scannerGetList", REPLY, 1, hbase.Hbase.scannerGetList_result(success=rows),
                   "buffered", protocol)
    sk = make_skipper(protocol, 1 << 20)
    buf = bytearray()
    last = 0
    for i in range(0, len(data), 3):
        buf += data[i:i + 3]
        end = sk.scan(buf)
        assert sk.pos >= last and sk.pos <= len(buf)
        assert len(buf) - sk.pos <= 40  # never far behind what has arrived
        last = sk.pos
        assert len(sk.stack) <= 5
    assert end == len(data)


@use_both
def test_limits_and_errors_binary():
    sk = BinarySkipper(100)
    with pytest.raises(ProtocolError, match="version"):
        sk.scan(bytearray(b"\x00\x00\x00\x01x\x01\x00\x00\x00\x01"))
    sk.reset()
    with pytest.raises(MessageTooLarge, match="method name"):
        sk.scan(bytearray(b"\x80\x01\x00\x02\x00\x00\x10\x00"))
    hdr = b"\x80\x01\x00\x02\x00\x00\x00\x01m\x00\x00\x00\x01"
    for body, exc in [
        (b"\x0b\x00\x01\x00\x00\x01\x00", MessageTooLarge),  # string of 256 bytes
        (b"\x0b\x00\x01\xff\xff\xff\xff", ProtocolError),  # negative length
        (b"\x0f\x00\x01\x08\x00\x00\x00\x20", MessageTooLarge),  # 32 i32 = 128 bytes
        (b"\x0f\x00\x01\x0c\x00\x00\x01\x00", MessageTooLarge),  # 256 structs
        (b"\x0d\x00\x01\x0b\x0b\x00\x00\x01\x00", MessageTooLarge),
        (b"\x0d\x00\x01\x0b\x09\x00\x00\x00\x01", ProtocolError),  # bad value type
        (b"\x10\x00\x01", ProtocolError),  # bad field type
        (b"\x0f\x00\x01\x08\xff\xff\xff\xff", ProtocolError),
    ]:
        sk.reset()
        with pytest.raises(exc):
            sk.scan(bytearray(hdr + body))
    sk.reset()
    assert sk.scan(bytearray(hdr + b"\x0b\x00\x01\x00\x00\x00\x10")) is None
    with pytest.raises(MessageTooLarge, match="incomplete"):
        sk.scan(bytearray(hdr + b"\x0b\x00\x01\x00\x00\x00\x5f" + b"x" * 90))


@use_both
def test_limits_and_errors_compact():
    sk = CompactSkipper(100)
    with pytest.raises(ProtocolError, match="protocol id"):
        sk.scan(bytearray(b"\x80\x01"))
    sk.reset()
    with pytest.raises(ProtocolError, match="version"):
        sk.scan(bytearray(b"\x82\x22"))
    hdr = b"\x82\x41\x01\x01m"
    for body, exc in [
        (b"\x18\x80\x02", MessageTooLarge),  # binary of 256 bytes
        (b"\x19\xf8\x80\x02", MessageTooLarge),  # list of 256
        (b"\x1b\x80\x02\x88", MessageTooLarge),  # map of 256
        (b"\x1b\x01\xf8", ProtocolError),  # bad map key type
        (b"\x1d", ProtocolError),  # field type 13
        (b"\x16" + b"\xff" * 11, ProtocolError),  # varint too long
    ]:
        sk.reset()
        with pytest.raises(exc):
            sk.scan(bytearray(hdr + body))


@use_both
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_depth_limit(protocol):
    """Structs nested past MAX_DEPTH are refused rather than walked."""
    sk = make_skipper(protocol, 1 << 20)
    if protocol == "binary":
        data = b"\x80\x01\x00\x02\x00\x00\x00\x01m\x00\x00\x00\x01" + b"\x0c\x00\x01" * (MAX_DEPTH + 1)
    else:
        data = b"\x82\x41\x01\x01m" + b"\x1c" * (MAX_DEPTH + 1)
    with pytest.raises(ProtocolError, match="deep"):
        sk.scan(bytearray(data))


@use_both
def test_make_skipper_validates():
    with pytest.raises(ValueError, match="protocol"):
        make_skipper("json", 10)
    with pytest.raises(ValueError, match="max_message_size"):
        make_skipper("binary", 0)



def _outcome(accelerate, data, sizes, limit):
    """What a binary skipper makes of ``data`` fed in chunks: the message ends
    found, then the error raised (type and text) or None."""
    sk = BinarySkipper(limit, accelerate)
    buf = bytearray()
    found = []
    pos = k = 0
    try:
        while pos < len(data):
            n = sizes[k % len(sizes)]
            k += 1
            buf += data[pos:pos + n]
            pos += n
            while buf:
                end = sk.scan(buf)
                if end is None:
                    break
                found.append(end)
                del buf[:end]
                sk.reset()
    except ProtocolError as e:
        return found, (type(e), str(e)), None  # (the state after an error is unused)
    return found, None, (sk.pos, sk.pending, sk.stack)


@pytest.mark.skipif(not HAVE_ACCELERATOR, reason="the compiled walk is not built")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(everything, min_size=1, max_size=2),
       st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=4),
       st.lists(st.integers(1, 300), min_size=1, max_size=5),
       st.sampled_from([60, 1000, 1 << 30]))
def test_compiled_walk_identical_on_damaged_input(objs, damage, sizes, limit):
    """Valid messages with random bytes overwritten, truncated or not, in any
    chunking and under any limit: the compiled walk and the pure-Python one
    find the same ends, keep the same state, raise the same errors."""
    data = bytearray(b"".join(encode("binary", objs)))
    for where, byte in damage:
        data[where % len(data)] = byte
    data = bytes(data[:len(data) - damage[0][0] % 7]) if damage else bytes(data)
    assert _outcome(True, data, sizes, limit) == _outcome(False, data, sizes, limit)
