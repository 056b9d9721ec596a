"""HBaseClientProtocol over StringTransport and task.Clock: no network, no sleeping."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st
from thriftpy2.thrift import TApplicationException
from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from tests.protocol.wire import WIRES, app_exception_bytes, call_bytes, reply_bytes, row
from txhbase.errors import (
    AlreadyExists,
    ConnectionLost,
    HBaseIOError,
    IllegalArgument,
    MessageTooLarge,
    ProtocolError,
    ServerError,
    TimeoutError,
)
from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.idl import hbase

# Every test but the Hypothesis ones runs with both skipper walks (conftest.py).
use_both = pytest.mark.usefixtures("skipper_impl")

wires = pytest.mark.parametrize("transport,protocol", WIRES)


def make(transport="buffered", protocol="binary", **kw):
    clock = task.Clock()
    p = HBaseClientProtocol(transport, protocol, clock=clock, **kw)
    tr = StringTransport()
    p.makeConnection(tr)
    return p, tr, clock


def result_of(d):
    """The value or Failure a Deferred has already fired with."""
    out = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    return out[0]


def failure_of(d, exc_type):
    r = result_of(d)
    assert isinstance(r, Failure), f"expected failure, got {r!r}"
    assert r.check(exc_type), r
    return r.value


# -- requests -------------------------------------------------------------------


@wires
@pytest.mark.parametrize("name,args", [
    ("getTableNames", ()),
    ("getRow", (b"t", b"row\x00\xff", {b"k": b"v"})),
    ("mutateRow", (b"t", b"r", [hbase.Mutation(isDelete=False, column=b"cf:a", value=b"x",
                                               writeToWAL=True)], {})),
    ("scannerGetList", (7, 100)),
    ("atomicIncrement", (b"t", b"r", b"cf:c", -5)),
    ("scannerOpenWithScan", (b"t", hbase.TScan(startRow=b"a", columns=[b"cf"], caching=10,
                                               filterString=b"KeyOnlyFilter()",
                                               reversed=True), None)),
])
@use_both
def test_request_bytes_exact(transport, protocol, name, args):
    p, tr, _ = make(transport, protocol)
    p.call(name, *args)
    p.call(name, *args)
    assert tr.value() == (call_bytes(name, 1, args, transport, protocol)
                          + call_bytes(name, 2, args, transport, protocol))
    assert p.pending == 2


@use_both
def test_bad_arguments_rejected_before_sending():
    p, tr, _ = make()
    with pytest.raises(ValueError, match="name"):
        p.call("noSuchMethod")
    with pytest.raises(TypeError, match="name"):
        p.call(42)
    with pytest.raises(TypeError, match="getTableNames"):
        p.call("getTableNames", 1)
    with pytest.raises(TypeError, match="getRow"):
        p.call("getRow", "not bytes", 5, {})
    with pytest.raises(TypeError, match="timeout"):
        p.call("getTableNames", timeout="1")
    with pytest.raises(ValueError, match="timeout"):
        p.call("getTableNames", timeout=-1)
    assert tr.value() == b""
    assert p.pending == 0
    # A failed encode leaves nothing behind in the codec's reused buffer.
    p.call("getRow", b"t", b"r", {})
    assert tr.value() == call_bytes("getRow", p._seqid, (b"t", b"r", {}), "buffered", "binary")


# -- replies --------------------------------------------------------------------


@use_both
@wires
def test_reply_delivered(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d = p.call("getTableNames")
    p.dataReceived(reply_bytes("getTableNames", 1, transport, protocol, success=[b"a", b"b"]))
    assert result_of(d) == [b"a", b"b"]
    assert p.pending == 0


@use_both
@wires
def test_void_reply(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d = p.call("enableTable", b"t")
    p.dataReceived(reply_bytes("enableTable", 1, transport, protocol))
    assert result_of(d) is None


def _pipeline(transport, protocol, n=6):
    p, tr, clock = make(transport, protocol)
    ds = [p.call("getRow", b"t", b"r%d" % i, {}) for i in range(n)]
    data = b"".join(reply_bytes("getRow", i + 1, transport, protocol,
                                success=[row(b"r%d" % i, ncols=i + 1, size=300 * i)])
                    for i in range(n))
    return p, ds, data


def _check_pipeline(ds):
    for i, d in enumerate(ds):
        rows = result_of(d)
        assert [r.row for r in rows] == [b"r%d" % i]
        assert len(rows[0].columns) == i + 1


@use_both
@wires
def test_several_replies_in_one_chunk(transport, protocol):
    p, ds, data = _pipeline(transport, protocol)
    p.dataReceived(data)
    _check_pipeline(ds)


@use_both
@wires
def test_replies_one_byte_at_a_time(transport, protocol):
    p, ds, data = _pipeline(transport, protocol)
    for i in range(len(data)):
        p.dataReceived(data[i:i + 1])
    _check_pipeline(ds)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(WIRES), st.lists(st.integers(1, 1500), min_size=1, max_size=30))
def test_replies_in_random_chunks(wire, sizes):
    p, ds, data = _pipeline(*wire)
    i = 0
    k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        p.dataReceived(data[i:i + n])
        i += n
    _check_pipeline(ds)


@use_both
@wires
def test_reply_is_delivered_as_soon_as_complete(transport, protocol):
    """No waiting for more bytes than the message needs."""
    p, tr, _ = make(transport, protocol)
    d = p.call("getTableNames")
    data = reply_bytes("getTableNames", 1, transport, protocol, success=[b"x" * 50])
    p.dataReceived(data[:-1])
    assert not d.called
    p.dataReceived(data[-1:])
    assert result_of(d) == [b"x" * 50]


@use_both
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_split_points_inside_fields(protocol):
    """A buffered reply split at every position: inside varints, length
    prefixes, strings and map headers (the map of columns is in each row)."""
    name = "getRowWithColumnsTs"
    big = hbase.TRowResult(row=b"r" * 200, columns={
        b"cf:" + bytes([i]) * 150: hbase.TCell(value=b"v" * 300, timestamp=-(1 << 40) + i)
        for i in range(3)})
    data = reply_bytes(name, 1, "buffered", protocol, success=[big])
    for cut in range(1, len(data)):
        p, tr, _ = make("buffered", protocol)
        d = p.call(name, b"t", b"r", [], 0, {})
        p.dataReceived(data[:cut])
        assert not d.called
        p.dataReceived(data[cut:])
        assert result_of(d) == [big]


# -- exceptions -----------------------------------------------------------------


@use_both
@wires
def test_exception_replies_mapped(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d1 = p.call("createTable", b"t", [])
    d2 = p.call("createTable", b"t", [])
    d3 = p.call("createTable", b"t", [])
    d4 = p.call("getTableNames")
    d5 = p.call("getRow", b"t", b"r", {})
    p.dataReceived(
        reply_bytes("createTable", 1, transport, protocol,
                    io=hbase.IOError(message="region offline", canRetry=True))
        + reply_bytes("createTable", 2, transport, protocol,
                      ia=hbase.IllegalArgument(message="bad family"))
        + reply_bytes("createTable", 3, transport, protocol,
                      exist=hbase.AlreadyExists(message="t exists"))
        + app_exception_bytes("getTableNames", 4, TApplicationException.INTERNAL_ERROR,
                              "bad filter", transport, protocol)
        + reply_bytes("getRow", 5, transport, protocol))  # no success: missing result
    e = failure_of(d1, HBaseIOError)
    assert (e.message, e.can_retry) == ("region offline", True)
    assert failure_of(d2, IllegalArgument).message == "bad family"
    assert failure_of(d3, AlreadyExists).message == "t exists"
    e = failure_of(d4, ServerError)
    assert (e.message, e.type) == ("bad filter", ServerError.INTERNAL_ERROR)
    assert failure_of(d5, ServerError).type == ServerError.MISSING_RESULT
    assert p.connected  # exceptions are replies, not protocol errors


@use_both
def test_exception_message_not_utf8():
    """HBase messages are Java strings, but a broken one must not crash the mapping."""
    p, tr, _ = make()
    d = p.call("enableTable", b"t")
    data = bytearray(reply_bytes("enableTable", 1, "buffered", "binary",
                                 io=hbase.IOError(message="caf\xe9!", canRetry=None)))
    i = data.index("caf\xe9!".encode())
    data[i:i + 6] = b"caf\xff\xfe!"
    p.dataReceived(bytes(data))
    e = failure_of(d, HBaseIOError)
    assert e.message == "caf\ufffd\ufffd!" and e.can_retry is None


# -- timeouts and cancellation ----------------------------------------------------


@use_both
def test_timeout_and_late_reply_discarded():
    p, tr, clock = make(default_timeout=500)
    d1 = p.call("getTableNames")
    d2 = p.call("getTableNames", timeout=2000)
    clock.advance(0.499)
    assert not d1.called
    clock.advance(0.001)
    e = failure_of(d1, TimeoutError)
    assert "getTableNames" in str(e)
    import twisted.internet.defer as tdefer
    assert isinstance(e, tdefer.TimeoutError)
    assert p.pending == 1
    p.dataReceived(reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"late"])
                   + reply_bytes("getTableNames", 2, "buffered", "binary", success=[b"ok"]))
    assert result_of(d2) == [b"ok"]
    assert p.connected
    # the connection's one timer may still be set; it finds nothing and stops
    clock.advance(2)
    assert clock.getDelayedCalls() == []


@use_both
def test_no_timeout_by_default():
    p, tr, clock = make()
    d = p.call("getTableNames")
    clock.advance(10 ** 6)
    assert not d.called
    assert clock.getDelayedCalls() == []


@use_both
@wires
def test_cancel_then_late_reply(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d1 = p.call("getRow", b"t", b"a", {})
    d2 = p.call("getRow", b"t", b"b", {})
    d1.cancel()
    failure_of(d1, defer.CancelledError)
    assert p.pending == 1
    p.dataReceived(reply_bytes("getRow", 1, transport, protocol, success=[row(b"a")])
                   + reply_bytes("getRow", 2, transport, protocol, success=[row(b"b")]))
    assert [r.row for r in result_of(d2)] == [b"b"]
    assert p.connected
    # the cancelled seqid was released once its reply came: a reply for it now is an error
    p.dataReceived(reply_bytes("getRow", 1, transport, protocol, success=[]))
    assert not p.connected


@use_both
def test_cancelled_reply_with_wrong_name_is_protocol_error():
    p, tr, _ = make()
    d1 = p.call("getRow", b"t", b"a", {})
    d2 = p.call("getTableNames")
    d1.cancel()
    p.dataReceived(reply_bytes("getTableNames", 1, "buffered", "binary", success=[]))
    failure_of(d2, ProtocolError)


# -- protocol errors --------------------------------------------------------------


@use_both
@wires
def test_unknown_seqid_drops_connection(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d1 = p.call("getTableNames")
    d2 = p.call("getTableNames")
    lost = p.notify_lost()
    p.dataReceived(reply_bytes("getTableNames", 99, transport, protocol, success=[]))
    assert "seqid 99" in str(failure_of(d1, ProtocolError))
    failure_of(d2, ProtocolError)
    assert isinstance(result_of(lost), ConnectionLost)
    assert not p.connected and p.pending == 0
    assert tr.disconnecting or getattr(tr, "disconnected", False)
    later = p.call("getTableNames")
    assert failure_of(later, ConnectionLost).sent is False


@use_both
@wires
def test_wrong_method_name_drops_connection(transport, protocol):
    p, tr, _ = make(transport, protocol)
    d1 = p.call("getTableNames")
    p.dataReceived(reply_bytes("isTableEnabled", 1, transport, protocol, success=True))
    assert "isTableEnabled" in str(failure_of(d1, ProtocolError))
    assert not p.connected


@pytest.mark.parametrize("transport,protocol,garbage", [
    ("buffered", "binary", b"\x00\x00\x00\x05hello\x07"),  # unversioned header
    ("buffered", "binary", b"\x80\x02\x00\x02" + b"\x00" * 20),  # bad version
    ("buffered", "compact", b"\x99garbage"),
    ("buffered", "compact", b"\x82\x21\x01\x01x\x0f"),  # field type 15 does not exist
    ("framed", "binary", b"\x00\x00\x00\x04abcd"),
    ("framed", "compact", b"\x00\x00\x00\x03\x82\x41\x01"),  # truncated inside frame
    ("framed", "binary", b"\xff\xff\xff\xf0"),  # negative frame length
])
@use_both
def test_garbage_drops_connection(transport, protocol, garbage):
    p, tr, _ = make(transport, protocol)
    d = p.call("getTableNames")
    p.dataReceived(garbage)
    failure_of(d, ProtocolError)
    assert not p.connected
    failure_of(p.call("getTableNames"), ConnectionLost)


@use_both
def test_framed_trailing_bytes_in_frame():
    p, tr, _ = make("framed", "binary")
    d = p.call("getTableNames")
    body = reply_bytes("getTableNames", 1, "buffered", "binary", success=[])
    p.dataReceived(len(body + b"xx").to_bytes(4, "big") + body + b"xx")
    failure_of(d, ProtocolError)


@use_both
@wires
def test_oversized_frame_or_declared_length(transport, protocol):
    p, tr, _ = make(transport, protocol, max_message_size=1000)
    d = p.call("getTableNames")
    big = reply_bytes("getTableNames", 1, transport, protocol, success=[b"x" * 2000])
    # Only the first 40 bytes are delivered: the length alone must be enough
    # to refuse it, without waiting for (or allocating) the rest.
    p.dataReceived(big[:40])
    failure_of(d, MessageTooLarge)
    assert not p.connected


@use_both
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_huge_declared_length_inside_small_frame(protocol):
    """A frame within the limit whose string claims 2 GiB: refused, not allocated."""
    p, tr, _ = make("framed", protocol)
    d = p.call("getTableNames")
    body = bytearray(reply_bytes("getTableNames", 1, "buffered", protocol, success=[b"abc"]))
    if protocol == "binary":
        i = body.index(b"\x00\x00\x00\x03abc")
        body[i:i + 4] = (0x7FFFFFF0).to_bytes(4, "big")
    else:
        i = body.index(b"\x03abc")
        body[i:i + 1] = b"\xf0\xff\xff\xff\x07"
    p.dataReceived(len(body).to_bytes(4, "big") + bytes(body))
    failure_of(d, MessageTooLarge)
    assert not p.connected


@use_both
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_declared_list_longer_than_frame(protocol):
    """Within the limit but past the frame's end: truncated, refused at once."""
    p, tr, _ = make("framed", protocol)
    d = p.call("getTableNames")
    body = bytearray(reply_bytes("getTableNames", 1, "buffered", protocol, success=[b"abc"]))
    if protocol == "binary":
        i = body.index(b"\x0b\x00\x00\x00\x01")
        body[i + 1:i + 5] = (10 ** 7).to_bytes(4, "big")
    else:
        i = body.index(b"\x18\x03abc")
        body[i:i + 1] = b"\xf8\x80\xad\xe2\x04"  # size 10**7
    p.dataReceived(len(body).to_bytes(4, "big") + bytes(body))
    assert "truncated" in str(failure_of(d, ProtocolError))
    assert not p.connected


@use_both
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_huge_declared_list_buffered(protocol):
    p, tr, _ = make("buffered", protocol, max_message_size=10000)
    d = p.call("getTableNames")
    body = bytearray(reply_bytes("getTableNames", 1, "buffered", protocol, success=[b"abc"]))
    if protocol == "binary":
        i = body.index(b"\x0b\x00\x00\x00\x01")
        body[i + 1:i + 5] = (10 ** 9).to_bytes(4, "big")
    else:
        i = body.index(b"\x18\x03abc")
        body[i:i + 1] = b"\xf8\x80\x94\xeb\xdc\x03"  # size 10**9
    p.dataReceived(bytes(body[:i + 8]))
    failure_of(d, MessageTooLarge)


# -- connection loss --------------------------------------------------------------


@use_both
def test_connection_loss_fails_pending_and_later_calls():
    p, tr, _ = make()
    hook_calls = []
    p.on_connection_lost.append(lambda e: hook_calls.append((e, p.pending)))
    lost = p.notify_lost()
    ds = [p.call("getTableNames") for _ in range(3)]
    reason = Failure(RuntimeError("peer reset"))
    p.connectionLost(reason)
    for d in ds:
        e = failure_of(d, ConnectionLost)
        assert e.reason is reason and e.sent is True
        assert "peer reset" in str(e)
    assert len(hook_calls) == 1 and hook_calls[0][1] == 0  # hooks run after the swap
    assert isinstance(result_of(lost), ConnectionLost)
    assert isinstance(result_of(p.notify_lost()), ConnectionLost)
    e = failure_of(p.call("getTableNames"), ConnectionLost)
    assert e.sent is False and e.reason is reason
    assert not p.connected
    p.connectionLost(reason)  # idempotent
    assert len(hook_calls) == 1


@use_both
def test_timeout_after_connection_loss_is_harmless():
    p, tr, clock = make(default_timeout=100)
    d = p.call("getTableNames")
    p.connectionLost(Failure(RuntimeError("x")))
    failure_of(d, ConnectionLost)
    clock.advance(1)
    assert clock.getDelayedCalls() == []


@use_both
def test_close():
    p, tr, _ = make()
    d = p.call("getTableNames")
    closed = p.close()
    assert tr.disconnecting
    assert not closed.called
    assert not p.connected
    failure_of(p.call("getTableNames"), ConnectionLost)  # no new calls once closing
    assert p.pending == 1
    p.connectionLost(Failure(RuntimeError("closed")))
    assert result_of(closed) is None
    failure_of(d, ConnectionLost)
    assert result_of(p.close()) is None


@use_both
def test_call_before_connection_fails():
    p = HBaseClientProtocol(clock=task.Clock())
    failure_of(p.call("getTableNames"), ConnectionLost)


@use_both
def test_callback_that_closes_connection_stops_delivery():
    """A caller reacting to one reply by dropping the connection: the replies
    already received for other calls are not delivered after that."""
    p, tr, _ = make()
    d1 = p.call("getTableNames")
    d2 = p.call("getTableNames")
    d1.addCallback(lambda _: p.connectionLost(Failure(RuntimeError("bye"))))
    p.dataReceived(reply_bytes("getTableNames", 1, "buffered", "binary", success=[])
                   + reply_bytes("getTableNames", 2, "buffered", "binary", success=[]))
    failure_of(d2, ConnectionLost)


@use_both
def test_seqid_wraps_and_skips_busy_ids():
    p, tr, _ = make()
    p._seqid = 0x7FFFFFFE
    d1 = p.call("getTableNames")
    d2 = p.call("getTableNames")
    p._seqid = 0
    d3 = p.call("getTableNames")
    data = tr.value()
    assert data == (call_bytes("getTableNames", 0x7FFFFFFF, (), "buffered", "binary")
                    + call_bytes("getTableNames", 1, (), "buffered", "binary")
                    + call_bytes("getTableNames", 2, (), "buffered", "binary"))
    assert p.pending == 3
    assert not (d1.called or d2.called or d3.called)


@use_both
def test_random_interleavings_of_cancel_and_replies():
    rnd = random.Random(7)
    for _ in range(30):
        p, tr, _ = make()
        n = rnd.randint(1, 12)
        ds = [p.call("isTableEnabled", b"t%d" % i) for i in range(n)]
        cancelled = set(rnd.sample(range(n), rnd.randint(0, n)))
        for i in cancelled:
            ds[i].cancel()
        data = b"".join(reply_bytes("isTableEnabled", i + 1, "buffered", "binary",
                                    success=bool(i % 2)) for i in range(n))
        pos = 0
        while pos < len(data):
            k = rnd.randint(1, 40)
            p.dataReceived(data[pos:pos + k])
            pos += k
        for i, d in enumerate(ds):
            if i in cancelled:
                failure_of(d, defer.CancelledError)
            else:
                assert result_of(d) is bool(i % 2)
        assert p.connected and p.pending == 0 and not p._abandoned


# -- a timeout or cancel mid-message drops the connection (issue 12, item 1) --------


class _RecordingTransport(StringTransport):
    """Counts writes and aborts."""

    def __init__(self):
        super().__init__()
        self.writes = 0
        self.aborted = False

    def write(self, data):
        self.writes += 1
        super().write(data)

    def abortConnection(self):
        self.aborted = True
        super().abortConnection()


def make_recording(transport="buffered", protocol="binary", **kw):
    clock = task.Clock()
    p = HBaseClientProtocol(transport, protocol, clock=clock, **kw)
    tr = _RecordingTransport()
    p.makeConnection(tr)
    return p, tr, clock


def _half_reply(transport, protocol):
    m = reply_bytes("getRow", 1, transport, protocol, success=[row(b"a", 10, 100)])
    return m[:len(m) // 2]


def _declares_100mb(transport):
    """A binary getRow reply header whose first string declares 100 MB, then nothing."""
    body = (b"\x80\x01\x00\x02\x00\x00\x00\x06getRow\x00\x00\x00\x01"
            b"\x0f\x00\x00\x0c\x00\x00\x00\x01"       # success: list<TRowResult> of 1
            b"\x0b\x00\x01\x06\x40\x00\x00" + b"x" * 50)  # row: string of 100 MB, 50 bytes of it
    if transport == "framed":
        return frame_prefix(len(body) + 10 ** 8) + body
    return body


def frame_prefix(n):
    return n.to_bytes(4, "big")


@use_both
@pytest.mark.parametrize("transport", ["buffered", "framed"])
@pytest.mark.parametrize("partial", ["half-reply", "declares-100mb"])
def test_timeout_mid_message_drops_connection(transport, partial):
    p, tr, clock = make_recording(transport, default_timeout=500)
    lost = []
    p.on_connection_lost.append(lost.append)
    d1 = p.call("getRow", b"t", b"a", {})
    d2 = p.call("getRow", b"t", b"b", {}, timeout=5000)
    p.dataReceived(_half_reply(transport, "binary") if partial == "half-reply"
                   else _declares_100mb(transport))
    assert not d1.called and p.connected
    clock.advance(0.5)
    failure_of(d1, TimeoutError)
    e = failure_of(d2, ConnectionLost)
    assert e.sent is True
    assert tr.aborted and not p.connected and len(lost) == 1
    assert clock.getDelayedCalls() == []
    assert failure_of(p.call("getTableNames"), ConnectionLost).sent is False


@use_both
def test_cancel_mid_message_drops_connection():
    p, tr, clock = make_recording()
    d1 = p.call("getRow", b"t", b"a", {})
    d2 = p.call("getRow", b"t", b"b", {})
    p.dataReceived(_half_reply("buffered", "binary"))
    d2.cancel()
    failure_of(d2, defer.CancelledError)
    assert failure_of(d1, ConnectionLost).sent is True
    assert tr.aborted and not p.connected


@use_both
@wires
def test_timeout_before_reply_started_keeps_connection(transport, protocol):
    p, tr, clock = make_recording(transport, protocol, default_timeout=500)
    d1 = p.call("getRow", b"t", b"a", {})
    clock.advance(0.5)
    failure_of(d1, TimeoutError)
    d2 = p.call("getRow", b"t", b"b", {})
    p.dataReceived(reply_bytes("getRow", 1, transport, protocol, success=[row(b"a")]))
    assert p.connected and not tr.aborted and not d2.called
    p.dataReceived(reply_bytes("getRow", 2, transport, protocol, success=[row(b"b")]))
    assert [r.row for r in result_of(d2)] == [b"b"]


@use_both
def test_one_timer_for_many_calls():
    p, tr, clock = make_recording(default_timeout=1000)
    ds = [p.call("isTableEnabled", b"t%d" % i) for i in range(50)]
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(0.3)
    d_short = p.call("isTableEnabled", b"x", timeout=100)   # earlier than every other
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(0.1)
    failure_of(d_short, TimeoutError)
    assert not any(d.called for d in ds)
    p.dataReceived(b"".join(reply_bytes("isTableEnabled", i + 1, "buffered", "binary",
                                        success=True) for i in range(25)))
    clock.advance(0.6)  # 1.0 s after the first 50 calls: the 25 unanswered ones time out
    assert all(result_of(d) is True for d in ds[:25])
    for d in ds[25:]:
        failure_of(d, TimeoutError)
    assert p.connected and clock.getDelayedCalls() == []


@use_both
def test_timer_rearmed_by_a_call_made_from_a_timeout_errback():
    p, tr, clock = make_recording(default_timeout=100)
    later = []
    d1 = p.call("getTableNames")
    d1.addErrback(lambda f: (later.append(p.call("getTableNames")), f)[1])
    d2 = p.call("getTableNames", timeout=150)
    clock.advance(0.1)
    failure_of(d1, TimeoutError)
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(0.05)
    failure_of(d2, TimeoutError)
    clock.advance(0.05)
    failure_of(later[0], TimeoutError)
    assert clock.getDelayedCalls() == []


@use_both
def test_calls_made_while_replies_are_delivered_go_out_in_one_write():
    p, tr, clock = make_recording()
    ds = [p.call("isTableEnabled", b"t") for _ in range(10)]
    assert tr.writes == 10
    follow = []
    for d in ds:
        d.addCallback(lambda _: follow.append(p.call("isTableEnabled", b"u")))
    tr.clear()
    p.dataReceived(b"".join(reply_bytes("isTableEnabled", i + 1, "buffered", "binary",
                                        success=True) for i in range(10)))
    assert len(follow) == 10 and tr.writes == 11
    assert tr.value() == b"".join(call_bytes("isTableEnabled", i + 11, (b"u",), "buffered",
                                             "binary") for i in range(10))



@use_both
def test_sequential_calls_share_one_timer_and_stale_deadlines_are_bounded():
    """Sequential callers do not pay a new timer per call, and the deadlines
    of answered calls do not pile up."""
    p, tr, clock = make_recording(default_timeout=30000)
    first = None
    for i in range(5000):
        d = p.call("isTableEnabled", b"t")
        timers = clock.getDelayedCalls()
        assert len(timers) == 1
        first = first or timers[0]
        assert timers[0] is first
        p.dataReceived(reply_bytes("isTableEnabled", i + 1, "buffered", "binary", success=True))
        assert result_of(d) is True
        clock.advance(0.001)
    assert len(p._deadlines) <= 1024 + 2
    d = p.call("isTableEnabled", b"t")
    clock.advance(30)
    failure_of(d, TimeoutError)
    clock.advance(30)
    assert clock.getDelayedCalls() == [] and p.connected
    p.close()


@use_both
def test_reentrant_delivery_keeps_one_write_in_call_order():
    """A callback that feeds the protocol more bytes (an in-memory transport
    delivering synchronously) does not split or reorder the batched write."""
    p, tr, clock = make_recording()
    d1 = p.call("isTableEnabled", b"a")
    d2 = p.call("isTableEnabled", b"b")
    tr.clear()
    tr.writes = 0
    made = []

    def on_first(_):
        made.append(p.call("isTableEnabled", b"x"))
        p.dataReceived(reply_bytes("isTableEnabled", 2, "buffered", "binary", success=False))
        made.append(p.call("isTableEnabled", b"y"))

    d1.addCallback(on_first)
    d2.addCallback(lambda _: made.append(p.call("isTableEnabled", b"z")))
    p.dataReceived(reply_bytes("isTableEnabled", 1, "buffered", "binary", success=True))
    assert result_of(d1) is None and result_of(d2) is None
    assert tr.writes == 1
    assert tr.value() == b"".join(call_bytes("isTableEnabled", s, (k,), "buffered", "binary")
                                  for s, k in ((3, b"x"), (4, b"z"), (5, b"y")))
