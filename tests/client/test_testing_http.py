"""txhbase.testing.MemoryGateway(transport='http'): the real HTTPChannel
(Twisted's Agent and HTTPConnectionPool) against the embedded server's real
twisted.web site, joined in memory, on a task.Clock, with no reactor running."""
from __future__ import annotations

import pytest
from twisted.internet import reactor as global_reactor
from twisted.internet import task

from txhbase import errors
from txhbase.protocol.http import HTTPChannel
from txhbase.testing import MemoryGateway


@pytest.fixture
def no_reactor():
    """Plain synchronous tests: nothing may be scheduled on the global reactor
    (pytest-twisted keeps it running beside them) nor open a socket."""
    calls = set(global_reactor.getDelayedCalls())
    sockets = tcp_connections()
    yield
    assert set(global_reactor.getDelayedCalls()) <= calls
    assert tcp_connections() <= sockets


def tcp_connections():
    selectables = global_reactor.getReaders() + global_reactor.getWriters()
    return {s for s in selectables if hasattr(s, "getPeer")}


def table(gateway, **kwargs):
    conn = gateway.connection(**kwargs)
    made = conn.create_table("t", {"cf": {}})
    gateway.flush()
    assert made.called
    return conn, conn.table("t")


def test_put_get_and_scan_over_the_real_http_channel(no_reactor):
    gateway = MemoryGateway(transport="http")
    conn, t = table(gateway)
    assert isinstance(conn._proto, HTTPChannel)
    puts = [t.put(b"r%d" % i, {b"cf:a": b"%d" % i}) for i in range(5)]
    assert not any(p.called for p in puts)  # nothing moves before flush()
    gateway.flush()
    assert all(p.called for p in puts)
    row = t.row(b"r3")
    gateway.flush()
    assert row.result == {b"cf:a": b"3"}
    s = t.scan(batch_size=2)  # scannerOpen / scannerGetList / scannerClose as POSTs
    got = []
    while True:
        d = s.next_batch()
        gateway.flush()
        batch = d.result
        if not batch:
            break
        got.extend(k for k, _ in batch)
    assert got == [b"r0", b"r1", b"r2", b"r3", b"r4"]
    # every call was an HTTP POST the embedded site saw, over persistent connections
    assert gateway.requests[-1]["content-type"] == "application/x-thrift"
    assert 1 <= gateway.connections <= conn.http.connections


def test_a_batch_over_http(no_reactor):
    gateway = MemoryGateway(transport="http")
    _, t = table(gateway)
    b = t.batch()
    for i in range(4):
        b.put(b"k%d" % i, {b"cf:a": b"v"})
    b.delete(b"k0")
    sent = b.send()
    gateway.flush()
    assert sent.called
    rows = t.rows([b"k0", b"k1", b"k3"])
    gateway.flush()
    assert [k for k, _ in rows.result] == [b"k1", b"k3"]


def test_a_pool_of_two_http_connections(no_reactor):
    gateway = MemoryGateway(transport="http")
    table(gateway)
    pool = gateway.pool(2, timeout=1000)
    pt = pool.table("t")
    puts = [pt.put(b"p%d" % i, {b"cf:a": b"%d" % i}) for i in range(6)]
    gateway.flush()
    assert [p.result for p in puts] == [None] * 6
    rows = [pt.row(b"p%d" % i) for i in range(6)]
    gateway.flush()
    assert [r.result for r in rows] == [{b"cf:a": b"%d" % i} for i in range(6)]
    closing = pool.close()
    gateway.flush()
    assert closing.called


def test_a_call_not_flushed_times_out_on_the_gateway_clock(no_reactor):
    clock = task.Clock()
    gateway = MemoryGateway(clock, transport="http")
    _, t = table(gateway, timeout=500)
    d = t.row(b"nothing")
    clock.advance(0.499)
    assert not d.called
    clock.advance(0.001)
    assert isinstance(d.result.value, errors.TimeoutError)
    d.addErrback(lambda f: None)
    # the channel is still usable: the timed-out call's connection was aborted
    again = t.put(b"r", {b"cf:a": b"1"})
    gateway.flush()
    assert again.result is None


def test_proxy_user_and_headers_reach_the_gateway(no_reactor):
    gateway = MemoryGateway(transport="http")
    conn = gateway.connection(proxy_user="alice", headers={"X-Trace": "42"})
    d = conn.tables()
    gateway.flush()
    assert d.result == []
    seen = gateway.requests[-1]
    assert seen["x-trace"] == "42" and seen["doas"] == "alice"


def test_unsupported_http_combinations_are_refused():
    with pytest.raises(ValueError, match="transport"):
        MemoryGateway(transport="https")
    with pytest.raises(ValueError, match="protocol"):
        MemoryGateway(transport="http", protocol="compact")
    with pytest.raises(AttributeError, match="requests"):
        MemoryGateway().requests


def test_connections_the_gateway_drops_are_replaced(no_reactor):
    gateway = MemoryGateway(transport="http")
    _, t = table(gateway)
    assert gateway.connections == 1  # one persistent connection, reused
    gateway.drop_connections()  # an idle timeout on the gateway's side
    gateway.flush()
    assert gateway.connections == 0
    d = t.put(b"r", {b"cf:a": b"1"})
    gateway.flush()
    assert d.result is None and gateway.connections == 1


def test_connect_http_probes_and_calls_through_a_given_endpoint(no_reactor):
    from txhbase.protocol.http import connect_http
    from txhbase.protocol.http_options import http_options
    from txhbase.testing import _MemoryEndpoint

    gateway = MemoryGateway(transport="http")
    d = connect_http(gateway.clock, "memory", 9090, http_options("http"),
                     endpoint=_MemoryEndpoint(gateway))
    gateway.flush()  # the probe connection opens and closes in memory
    channel = d.result
    assert isinstance(channel, HTTPChannel) and gateway.connections == 0
    tables = channel.call("getTableNames")
    gateway.flush()
    assert tables.result == []
    closing = channel.close()
    gateway.flush()
    assert closing.called and gateway.connections == 0
