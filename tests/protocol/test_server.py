"""HBaseServerProtocol over StringTransport: dispatch, ordering, errors."""
from __future__ import annotations

import pytest
from thriftpy2.protocol.binary import TBinaryProtocol
from thriftpy2.protocol.compact import TCompactProtocol
from thriftpy2.thrift import TApplicationException
from thriftpy2.transport.memory import TMemoryBuffer
from twisted.internet import defer
from twisted.internet.testing import StringTransport

from tests.protocol.wire import (
    EXCEPTION, REPLY, WIRES, app_exception_bytes, call_bytes, message, reply_bytes, row,
)
from txhbase.protocol.idl import hbase
from txhbase.protocol.server import HBaseServerFactory

wires = pytest.mark.parametrize("transport,protocol", WIRES)


class Handler:
    def __init__(self):
        self.calls = []
        self.waiting = {}

    def getTableNames(self):
        self.calls.append(("getTableNames",))
        return [b"a", b"b"]

    def getRow(self, table, row_, attributes):
        self.calls.append(("getRow", table, row_, attributes))
        return [row(row_)]

    def isTableEnabled(self, name):
        self.calls.append(("isTableEnabled", name))
        d = defer.Deferred()
        self.waiting[name] = d
        return d

    def enableTable(self, name):
        raise hbase.IOError(message="cannot enable " + name.decode(), canRetry=False)

    def createTable(self, name, families):
        if name == b"ia":
            raise hbase.IllegalArgument(message="no families")
        raise hbase.AlreadyExists(message="exists")

    def disableTable(self, name):
        raise TApplicationException(TApplicationException.PROTOCOL_ERROR, "custom")

    def deleteTable(self, name):
        raise KeyError("boom")

    def majorCompact(self, name):
        return defer.fail(ValueError("async boom"))

    def compact(self, name):
        return 123  # wrong type for a void method's result: ignored (void)

    def getColumnDescriptors(self, name):
        return "not a map"  # cannot be encoded


def serve(transport, protocol, handler=None, **kw):
    handler = handler or Handler()
    f = HBaseServerFactory(handler, transport, protocol, **kw)
    p = f.buildProtocol(None)
    tr = StringTransport()
    p.makeConnection(tr)
    return p, tr, handler


def decode_replies(data, transport, protocol):
    """Read every reply message in data with pure-python thriftpy2."""
    out = []
    mem = TMemoryBuffer(data)
    while mem._pos < len(data):
        trans = mem
        if transport == "framed":
            n = int.from_bytes(mem.read(4), "big")
            trans = TMemoryBuffer(mem.read(n))
        proto = TBinaryProtocol(trans) if protocol == "binary" else TCompactProtocol(trans)
        name, mtype, seqid = proto.read_message_begin()
        if mtype == EXCEPTION:
            obj = TApplicationException()
        else:
            obj = getattr(hbase.Hbase, name + "_result")()
        proto.read_struct(obj)
        out.append((name, mtype, seqid, obj))
    return out


@wires
def test_dispatch_and_reply_bytes(transport, protocol):
    p, tr, h = serve(transport, protocol)
    p.dataReceived(call_bytes("getRow", 5, (b"t", b"r1", {b"a": b"b"}), transport, protocol)
                   + call_bytes("getTableNames", 6, (), transport, protocol))
    assert h.calls == [("getRow", b"t", b"r1", {b"a": b"b"}), ("getTableNames",)]
    assert tr.value() == (reply_bytes("getRow", 5, transport, protocol, success=[row(b"r1")])
                          + reply_bytes("getTableNames", 6, transport, protocol,
                                        success=[b"a", b"b"]))


@wires
def test_calls_one_byte_at_a_time(transport, protocol):
    p, tr, h = serve(transport, protocol)
    data = b"".join(call_bytes("getRow", i, (b"t", b"r%d" % i, {}), transport, protocol)
                    for i in range(3))
    for i in range(len(data)):
        p.dataReceived(data[i:i + 1])
    assert [c[2] for c in h.calls] == [b"r0", b"r1", b"r2"]
    assert [r[2] for r in decode_replies(tr.value(), transport, protocol)] == [0, 1, 2]


@wires
def test_replies_in_request_order_when_deferreds_fire_out_of_order(transport, protocol):
    p, tr, h = serve(transport, protocol)
    p.dataReceived(call_bytes("isTableEnabled", 1, (b"x",), transport, protocol)
                   + call_bytes("isTableEnabled", 2, (b"y",), transport, protocol)
                   + call_bytes("getTableNames", 3, (), transport, protocol))
    assert tr.value() == b""  # first reply not ready: nothing may overtake it
    h.waiting[b"y"].callback(False)
    assert tr.value() == b""
    h.waiting[b"x"].callback(True)
    replies = decode_replies(tr.value(), transport, protocol)
    assert [(r[2], r[3].success) for r in replies] == [(1, True), (2, False), (3, [b"a", b"b"])]


@wires
def test_exceptions(transport, protocol):
    p, tr, h = serve(transport, protocol)
    p.dataReceived(call_bytes("enableTable", 1, (b"t",), transport, protocol)
                   + call_bytes("createTable", 2, (b"ia", []), transport, protocol)
                   + call_bytes("createTable", 3, (b"t", []), transport, protocol)
                   + call_bytes("disableTable", 4, (b"t",), transport, protocol)
                   + call_bytes("deleteTable", 5, (b"t",), transport, protocol)
                   + call_bytes("majorCompact", 6, (b"t",), transport, protocol)
                   + call_bytes("getColumnDescriptors", 7, (b"t",), transport, protocol)
                   + call_bytes("compact", 8, (b"t",), transport, protocol))
    r = decode_replies(tr.value(), transport, protocol)
    assert [x[2] for x in r] == list(range(1, 9))
    assert (r[0][3].io.message, r[0][3].io.canRetry) == ("cannot enable t", False)
    assert r[1][3].ia.message == "no families" and r[1][3].io is None
    assert r[2][3].exist.message == "exists" and r[2][3].ia is None
    assert r[3][1] == EXCEPTION
    assert (r[3][3].type, r[3][3].message) == (TApplicationException.PROTOCOL_ERROR, "custom")
    assert r[4][1] == EXCEPTION
    assert (r[4][3].type, r[4][3].message) == (TApplicationException.INTERNAL_ERROR, "'boom'")
    assert (r[5][3].type, r[5][3].message) == (TApplicationException.INTERNAL_ERROR, "async boom")
    assert r[6][1] == EXCEPTION and r[6][3].type == TApplicationException.INTERNAL_ERROR
    assert r[7][1] == REPLY
    assert tr.value().endswith(reply_bytes("compact", 8, transport, protocol))


@wires
def test_unknown_method(transport, protocol):
    p, tr, h = serve(transport, protocol)
    # A method the service has but the handler lacks, and one the service lacks.
    p.dataReceived(call_bytes("getRegionInfo", 1, (b"r",), transport, protocol)
                   + message("frobnicate", 1, 2, hbase.Hbase.getRow_args(b"t", b"r", {}),
                             transport, protocol)
                   + call_bytes("getTableNames", 3, (), transport, protocol))
    r = decode_replies(tr.value(), transport, protocol)
    assert [(x[0], x[1], x[2]) for x in r] == [
        ("getRegionInfo", EXCEPTION, 1), ("frobnicate", EXCEPTION, 2), ("getTableNames", REPLY, 3)]
    assert r[0][3].type == r[1][3].type == TApplicationException.UNKNOWN_METHOD
    assert "frobnicate" in r[1][3].message
    assert tr.value().startswith(app_exception_bytes(
        "getRegionInfo", 1, TApplicationException.UNKNOWN_METHOD,
        "Invalid method name: 'getRegionInfo'", transport, protocol))


@wires
def test_garbage_drops_connection(transport, protocol):
    p, tr, h = serve(transport, protocol)
    p.dataReceived(b"\x00\x00\x00\x08garbage!garbage!")
    assert tr.disconnecting
    assert h.calls == []


def test_reply_message_instead_of_call_drops_connection():
    p, tr, h = serve("buffered", "binary")
    p.dataReceived(reply_bytes("getTableNames", 1, "buffered", "binary", success=[]))
    assert tr.disconnecting


def test_oversized_call_refused():
    p, tr, h = serve("framed", "binary", max_message_size=100)
    p.dataReceived(call_bytes("getRow", 1, (b"t", b"r" * 200, {}), "framed", "binary")[:10])
    assert tr.disconnecting


def test_reply_after_connection_lost_is_dropped():
    p, tr, h = serve("buffered", "binary")
    p.dataReceived(call_bytes("isTableEnabled", 1, (b"x",), "buffered", "binary"))
    p.connectionLost(None)
    h.waiting[b"x"].callback(True)  # must not write to a closed transport
    assert tr.value() == b""


def test_factory_validates():
    with pytest.raises(ValueError, match="transport"):
        HBaseServerFactory(Handler(), "zip")
    with pytest.raises(ValueError, match="protocol"):
        HBaseServerFactory(Handler(), "framed", "json")
    with pytest.raises(ValueError, match="max_message_size"):
        HBaseServerFactory(Handler(), max_message_size=0)


@wires
def test_a_long_pipeline_is_served_a_slice_per_reactor_turn(transport, protocol):
    """Replies to the first calls go out before later calls are served (so a
    pipelining client works on them meanwhile); the socket is paused until the
    queue is empty; order and completeness are kept."""
    from txhbase.protocol.server import CALLS_PER_TURN

    class Turns:
        """A reactor whose turns the test runs one at a time."""

        def __init__(self):
            self.calls = []

        def callLater(self, delay, f, *args):
            assert delay == 0
            self.calls.append((f, args))

        def turn(self):
            calls, self.calls = self.calls, []
            for f, args in calls:
                f(*args)

    turns = Turns()
    p, tr, h = serve(transport, protocol, reactor=turns)
    n = 2 * CALLS_PER_TURN + 5
    p.dataReceived(b"".join(call_bytes("getRow", i, (b"t", b"r%d" % i, {}), transport, protocol)
                            for i in range(n)))
    served = [len(h.calls)]
    assert tr.producerState == "paused"
    while len(h.calls) < n:
        turns.turn()
        served.append(len(h.calls))
    assert served == [CALLS_PER_TURN, 2 * CALLS_PER_TURN, n]
    assert tr.producerState == "producing"
    assert [r[2] for r in decode_replies(tr.value(), transport, protocol)] == list(range(n))
    # calls arriving while a backlog is served join the queue, in order
    p.dataReceived(b"".join(call_bytes("getRow", i, (b"t", b"r", {}), transport, protocol)
                            for i in range(n, n + CALLS_PER_TURN + 1)))
    p.dataReceived(call_bytes("getTableNames", 99, (), transport, protocol))
    turns.turn()
    replies = decode_replies(tr.value(), transport, protocol)
    assert [r[2] for r in replies] == list(range(n + CALLS_PER_TURN + 1)) + [99]
    assert not turns.calls and tr.producerState == "producing"
