"""HBaseServerProtocol's limits (issue 12): write back-pressure and the per-call deadline."""
from __future__ import annotations

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from tests.protocol.test_server import Handler, decode_replies
from tests.protocol.wire import WIRES, call_bytes
from txhbase.protocol.idl import hbase
from txhbase.protocol.server import HBaseServerFactory

wires = pytest.mark.parametrize("transport,protocol", WIRES)


class StalledReader(StringTransport):
    """A consumer like a TCP transport whose peer stopped reading: it pauses its
    streaming producer once more than ``limit`` bytes wait unsent, and resumes it
    when the peer reads them (``read()``)."""

    def __init__(self, limit=64 * 1024):
        super().__init__()
        self.limit = limit
        self.producer_paused = False
        self.most_unsent = 0

    def write(self, data):
        super().write(data)
        unsent = len(self.value())
        self.most_unsent = max(self.most_unsent, unsent)
        if self.producer is not None and not self.producer_paused and unsent > self.limit:
            self.producer_paused = True
            self.producer.pauseProducing()

    def read(self):
        data = self.value()
        self.clear()
        if self.producer_paused:
            self.producer_paused = False
            self.producer.resumeProducing()
        return data


class BigRowHandler(Handler):
    def getRow(self, table, row_, attributes):
        self.calls.append(("getRow", row_))
        return [hbase.TRowResult(row=row_, columns={
            b"cf:q": hbase.TCell(value=b"x" * 100_000, timestamp=1)})]


@wires
def test_a_client_that_stops_reading_stops_being_served(transport, protocol):
    """Item 7: 200 pipelined getRow calls for a 100 KB row from a client that
    never reads. Before: all 200 served at once, 20 MB of replies held for it;
    now: served only while its replies drain, the socket paused meanwhile."""
    clock = task.Clock()
    h = BigRowHandler()
    p = HBaseServerFactory(h, transport, protocol, reactor=clock).buildProtocol(None)
    tr = StalledReader()
    p.makeConnection(tr)
    n = 200
    p.dataReceived(b"".join(call_bytes("getRow", i, (b"t", b"r%d" % i, {}), transport, protocol)
                            for i in range(n)))
    for _ in range(50):
        clock.advance(0)
    assert len(h.calls) == 1  # its reply alone fills the client's window
    assert tr.producerState == "paused"  # and its later calls are not read
    assert not clock.getDelayedCalls()  # nothing spins while it waits
    # the client reads: served again, one window at a time, in order
    received = []
    for _ in range(10 * n):
        received.append(tr.read())
        clock.advance(0)
        if len(h.calls) == n and not tr.value():
            break
    replies = decode_replies(b"".join(received), transport, protocol)
    assert [r[2] for r in replies] == list(range(n))
    assert tr.most_unsent < 2 * 100_100
    assert tr.producerState == "producing"


def test_replies_that_fire_later_still_respect_back_pressure():
    """A paused connection keeps its queued calls until the client reads;
    replies already dispatched are still delivered in order."""
    clock = task.Clock()
    h = Handler()
    p = HBaseServerFactory(h, reactor=clock).buildProtocol(None)
    tr = StalledReader(limit=10)
    p.makeConnection(tr)
    p.dataReceived(call_bytes("isTableEnabled", 1, (b"a",), "buffered", "binary")
                   + call_bytes("getTableNames", 2, (), "buffered", "binary"))
    assert len(h.calls) == 2 and not tr.value()  # reply 2 waits for reply 1
    h.waiting[b"a"].callback(True)  # both replies written at once: over the limit
    assert tr.producerState == "paused"
    # calls already on their way are queued, not served, until the client reads
    p.dataReceived(b"".join(call_bytes("getTableNames", i, (), "buffered", "binary")
                            for i in range(3, 8)))
    clock.advance(0)
    assert len(h.calls) == 2
    received = tr.read()
    while tr.producerState == "paused" or clock.getDelayedCalls() or tr.value():
        clock.advance(0)
        received += tr.read()
    assert len(h.calls) == 7
    assert [r[2] for r in decode_replies(received, "buffered", "binary")] == list(range(1, 8))


@wires
def test_a_call_dribbled_slower_than_the_message_timeout_is_closed(transport, protocol):
    """Item 9: before, a client sending one byte per minute kept its connection
    forever; now the call must arrive whole within message_timeout seconds."""
    clock = task.Clock()
    h = Handler()
    p = HBaseServerFactory(h, transport, protocol, reactor=clock, clock=clock,
                           message_timeout=10).buildProtocol(None)
    tr = StringTransport()
    p.makeConnection(tr)
    data = call_bytes("getTableNames", 1, (), transport, protocol)
    # whole calls, however far apart, are fine; the clock starts at a call's first byte
    clock.advance(1000)
    p.dataReceived(data)
    clock.advance(9.9)
    for b in data[:-1]:
        p.dataReceived(bytes([b]))
        clock.advance(9.0 / len(data))
    p.dataReceived(data[-1:])  # 9 s for the whole call: in time
    clock.advance(1000)
    assert not tr.disconnecting and [c[0] for c in h.calls] == ["getTableNames"] * 2
    for b in data[:3]:  # the next call dribbles
        p.dataReceived(bytes([b]))
        clock.advance(4)
    assert tr.disconnecting  # 12 s after its first byte: closed
    assert [c[0] for c in h.calls] == ["getTableNames"] * 2
    assert not clock.getDelayedCalls()


def test_a_steady_pipeline_whose_chunks_end_mid_call_is_not_timed_out():
    """Each chunk completes a call and starts the next: every call arrives
    whole within the deadline, though some call is always partial."""
    clock = task.Clock()
    h = Handler()
    p = HBaseServerFactory(h, reactor=clock, clock=clock,
                           message_timeout=10).buildProtocol(None)
    tr = StringTransport()
    p.makeConnection(tr)
    stream = b"".join(call_bytes("getTableNames", i, (), "buffered", "binary")
                      for i in range(30))
    step = len(stream) // 30 + 3  # chunk boundaries drift through the calls
    for i in range(0, len(stream), step):
        p.dataReceived(stream[i:i + step])
        clock.advance(6)
    assert not tr.disconnecting and len(h.calls) == 30


def test_message_timeout_is_validated_and_off_by_default():
    clock = task.Clock()
    p = HBaseServerFactory(Handler(), reactor=clock).buildProtocol(None)
    tr = StringTransport()
    p.makeConnection(tr)
    p.dataReceived(call_bytes("getTableNames", 1, (), "buffered", "binary")[:5])
    clock.advance(10 ** 6)
    assert not tr.disconnecting and not clock.getDelayedCalls()
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="message_timeout"):
            HBaseServerFactory(Handler(), message_timeout=bad)
    for bad in ("10", True):
        with pytest.raises(TypeError, match="message_timeout"):
            HBaseServerFactory(Handler(), message_timeout=bad)
