"""Client and server joined in memory by txhbase.testing.MemoryGateway
(twisted.test.iosim underneath): no network, no sleeping, a task.Clock
drives handler delays and timeouts."""
from __future__ import annotations

import pytest
from twisted.internet import task

from tests.protocol.wire import WIRES, row
from txhbase.errors import ConnectionLost, HBaseIOError, TimeoutError
from txhbase.protocol.idl import hbase
from txhbase.testing import MemoryGateway


class SlowHandler:
    """Answers getRow after ``int(row) / 1000`` seconds of the clock."""

    def __init__(self, clock):
        self.clock = clock

    def getRow(self, table, key, attributes):
        if key == b"boom":
            raise hbase.IOError(message="boom", canRetry=True)
        return task.deferLater(self.clock, int(key) / 1000.0, lambda: [row(key, 4, 200)])


def pair(transport, protocol, clock, timeout=None):
    """(client, gateway): a Connection to a MemoryGateway serving SlowHandler."""
    gateway = MemoryGateway(clock, transport=transport, protocol=protocol,
                            handler=SlowHandler(clock))
    return gateway.connection(timeout=timeout, slow_call_ms=None), gateway


@pytest.mark.parametrize("transport,protocol", WIRES)
def test_out_of_order_handlers_pipelined(transport, protocol):
    clock = task.Clock()
    client, pump = pair(transport, protocol, clock)
    delays = [30, 10, 20, 0, 5]
    ds = [client.call("getRow", b"t", b"%d" % ms, {}) for ms in delays]
    boom = client.call("getRow", b"t", b"boom", {})
    pump.flush()
    for _ in range(31):
        clock.advance(0.001)
        pump.flush()
    for ms, d in zip(delays, ds):
        got = []
        d.addCallback(got.append)
        assert got and got[0][0].row == b"%d" % ms
    errs = []
    boom.addErrback(errs.append)
    assert errs and errs[0].check(HBaseIOError) and errs[0].value.can_retry
    assert client.pending == 0


def test_timeout_then_connection_continues():
    clock = task.Clock()
    client, pump = pair("framed", "compact", clock, timeout=15)
    slow = client.call("getRow", b"t", b"50", {})
    fast = client.call("getRow", b"t", b"1", {}, timeout=1000)
    pump.flush()
    clock.advance(0.016)
    pump.flush()
    errs = []
    slow.addErrback(errs.append)
    assert errs and errs[0].check(TimeoutError)
    early = []
    fast.addBoth(lambda r: early.append(r) or r)
    assert not early  # queued behind the slow one on the server
    clock.advance(0.05)
    pump.flush()
    got = []
    fast.addCallback(got.append)
    assert got and got[0][0].row == b"1"
    assert client.connected


def test_server_side_drop_fails_pending():
    clock = task.Clock()
    client, pump = pair("buffered", "binary", clock)
    d = client.call("getRow", b"t", b"10", {})
    pump.flush()
    pump.drop_connections()
    pump.flush()
    errs = []
    d.addErrback(errs.append)
    assert errs and errs[0].check(ConnectionLost)
    assert not client.connected
