"""listen() and the command line: a real server on the test reactor / as a process."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet import defer

from txhbase.errors import HBaseIOError, IllegalArgument, ServerError
from txhbase.protocol.connect import connect
from txhbase.protocol.idl import hbase
from txhbase.server import scanning as scanning_mod
from txhbase.server import listen
from txhbase.server.store import FamilySpec

from tests.conftest import start_embedded_subprocess


def _reactor():
    from twisted.internet import reactor

    return reactor


@pytest.mark.parametrize("transport,protocol", [("buffered", "binary"), ("framed", "compact")])
@pytest_twisted.inlineCallbacks
def test_listen_serve_and_stop(transport, protocol):
    reactor = _reactor()
    srv = listen(0, transport=transport, protocol=protocol)
    try:
        assert srv.host == "127.0.0.1" and srv.port > 0
        c = yield connect(reactor, srv.host, srv.port, transport=transport, protocol=protocol)
        yield c.call("createTable", b"t", [hbase.ColumnDescriptor(name=b"cf")])
        # pipelined: many calls in flight on one connection, answered in order
        ds = [c.call("mutateRow", b"t", b"r%03d" % i,
                     [hbase.Mutation(column=b"cf:a", value=b"%d" % i)], {}) for i in range(50)]
        yield defer.gatherResults(ds)
        got = yield defer.gatherResults([c.call("getRow", b"t", b"r%03d" % i, {})
                                         for i in range(50)])
        assert [r[0].columns[b"cf:a"].value for r in got] == [b"%d" % i for i in range(50)]
        sid = yield c.call("scannerOpen", b"t", b"", [], {})
        assert srv.open_scanner_count() == 1
        rows = yield c.call("scannerGetList", sid, 100)
        assert len(rows) == 50
        yield c.call("scannerClose", sid)
        assert srv.open_scanner_count() == 0
        with pytest.raises(IllegalArgument):
            yield c.call("scannerGet", sid)
        with pytest.raises(HBaseIOError) as ei:
            yield c.call("getRow", b"missing", b"r", {})
        assert ei.value.can_retry is False
        with pytest.raises(ServerError) as ei:
            yield c.call("getRow", b"bad name", b"r", {})
        assert ei.value.type == ServerError.INTERNAL_ERROR
        srv.split_table("t", ["r010", b"r020"])
        regions = yield c.call("getTableRegions", b"t")
        assert [r.startKey for r in regions] == [b"", b"r010", b"r020"]
        assert all(r.port == srv.port for r in regions)
        assert (yield c.call("getThriftServerType")) == hbase.TThriftServerType.ONE
        lost = c.notify_lost()
    finally:
        yield srv.stop()
    yield lost  # stop() closed the client's connection
    assert c.connected is False


def test_listen_rejects_bad_arguments():
    with pytest.raises(ValueError, match="port"):
        listen(-1)
    with pytest.raises(ValueError, match="transport"):
        listen(0, transport="spdy")
    with pytest.raises(ValueError, match="protocol"):
        listen(0, protocol="json")
    with pytest.raises(TypeError, match="host"):
        listen(0, host=b"127.0.0.1")


@pytest_twisted.inlineCallbacks
def test_long_scan_does_not_stall_other_connections(monkeypatch):
    """A filtered scan that drops nearly every row works in steps between other calls."""
    pytest.importorskip("txhbase.server.filters")
    monkeypatch.setattr(scanning_mod, "SCAN_STEP_ROWS", 50)
    reactor = _reactor()
    srv = listen(0)
    try:
        t = srv.store.create_table(b"big", [FamilySpec(b"cf")])
        for i in range(3000):
            srv.store.put(t, b"r%05d" % i, [(b"cf", b"a", b"x")], 1)
        scanning = yield connect(reactor, srv.host, srv.port)
        other = yield connect(reactor, srv.host, srv.port)
        sid = yield scanning.call("scannerOpenWithScan", b"big", hbase.TScan(
            filterString=b"RowFilter(=, 'binary:r02999')"), {})
        order = []
        d_scan = scanning.call("scannerGetList", sid, 10)
        d_scan.addCallback(lambda r: order.append(("scan", [x.row for x in r])))
        d_get = other.call("getRow", b"big", b"r00001", {})
        d_get.addCallback(lambda r: order.append(("get", len(r))))
        yield defer.gatherResults([d_scan, d_get])
        assert order == [("get", 1), ("scan", [b"r02999"])]
        yield scanning.close()
        yield other.close()
    finally:
        yield srv.stop()


@pytest_twisted.inlineCallbacks
def test_scanner_expiry_on_injected_clock():
    from twisted.internet import task

    reactor = _reactor()
    clock = task.Clock()
    srv = listen(0, clock=clock, scanner_timeout=5)
    try:
        c = yield connect(reactor, srv.host, srv.port)
        yield c.call("createTable", b"t", [hbase.ColumnDescriptor(name=b"cf")])
        sid = yield c.call("scannerOpen", b"t", b"", [], {})
        clock.advance(6)
        assert srv.open_scanner_count() == 0
        with pytest.raises(IllegalArgument):
            yield c.call("scannerGetList", sid, 1)
        yield c.close()
    finally:
        yield srv.stop()


@pytest_twisted.inlineCallbacks
def test_idle_connections_are_closed_like_hbase_threadpool_server():
    from twisted.internet import task

    reactor = _reactor()
    clock = task.Clock()
    srv = listen(0, clock=clock, idle_timeout=60)
    try:
        busy = yield connect(reactor, srv.host, srv.port)
        idle = yield connect(reactor, srv.host, srv.port)
        lost = idle.notify_lost()
        clock.advance(40)
        yield busy.call("getTableNames")  # activity re-arms the timer
        clock.advance(40)
        yield lost  # 80 s without a request: closed by the server
        assert busy.connected and not idle.connected
        yield busy.call("getTableNames")
        yield busy.close()
    finally:
        yield srv.stop()
    with pytest.raises(ValueError, match="idle_timeout"):
        listen(0, idle_timeout=0)


def test_cli_ready_line_split_and_clean_sigint():
    import thriftpy2.rpc

    proc = subprocess.Popen(
        [sys.executable, "-m", "txhbase.server", "--port", "0", "--split", "pre:b,d",
         "--transport", "framed", "--protocol", "compact"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line
        port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
        from thriftpy2.protocol import TCompactProtocolFactory
        from thriftpy2.transport import TFramedTransportFactory

        c = thriftpy2.rpc.make_client(hbase.Hbase, "127.0.0.1", port, timeout=10000,
                                      proto_factory=TCompactProtocolFactory(),
                                      trans_factory=TFramedTransportFactory())
        c.createTable(b"pre", [hbase.ColumnDescriptor(name=b"cf")])
        assert [r.startKey for r in c.getTableRegions(b"pre")] == [b"", b"b", b"d"]
        c.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_cli_sigterm_exits_zero():
    proc, port = start_embedded_subprocess()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
