"""Client and server factory over real loopback sockets, with a tiny handler."""
from __future__ import annotations

import os
import tempfile

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock

from tests.protocol.wire import WIRES, row
from txhbase.errors import ConnectionLost, HBaseIOError, ServerError, TimeoutError
from txhbase.protocol import HBaseServerFactory, connect, hbase


class Handler:
    def __init__(self):
        self.tables = {b"t1": True, b"t2": False}

    def getTableNames(self):
        return sorted(self.tables)

    def isTableEnabled(self, name):
        if name not in self.tables:
            raise hbase.IOError(message=f"no table {name!r}", canRetry=False)
        d = defer.Deferred()
        # Answer later for t1 than for t2, so handler Deferreds fire out of order.
        reactor.callLater(0.02 if name == b"t1" else 0, d.callback, self.tables[name])
        return d

    def getRow(self, table, key, attributes):
        n = int(key)
        return [row(key, ncols=n, size=1000)]

    def deleteTable(self, name):
        raise RuntimeError("nope")


@pytest.fixture(params=WIRES, ids=[f"{t}-{p}" for t, p in WIRES])
def server(request):
    transport, protocol = request.param
    port = reactor.listenTCP(0, HBaseServerFactory(Handler(), transport, protocol),
                             interface="127.0.0.1")
    yield port.getHost().port, transport, protocol
    pytest_twisted.blockon(port.stopListening())


@pytest_twisted.ensureDeferred
async def test_round_trip_pipelined_and_concurrent(server):
    portno, transport, protocol = server
    clients = [await connect(reactor, "127.0.0.1", portno, transport=transport,
                             protocol=protocol, timeout=10000) for _ in range(3)]
    try:
        calls = []
        for c in clients:
            calls += [c.call("isTableEnabled", b"t1"), c.call("isTableEnabled", b"t2"),
                      c.call("getRow", b"t1", b"300", {}), c.call("getTableNames")]
        assert all(c.pending == 4 for c in clients)
        results = await defer.gatherResults(calls)
        for i in range(3):
            enabled1, enabled2, rows, names = results[4 * i:4 * i + 4]
            assert (enabled1, enabled2, names) == (True, False, [b"t1", b"t2"])
            assert len(rows[0].columns) == 300  # ~300 KB reply over several reads
        with pytest.raises(HBaseIOError, match="no table"):
            await clients[0].call("isTableEnabled", b"zz")
        with pytest.raises(ServerError, match="nope") as e:
            await clients[0].call("deleteTable", b"t1")
        assert e.value.type == ServerError.INTERNAL_ERROR
        assert clients[0].connected
    finally:
        for c in clients:
            await c.close()
    assert not clients[0].connected
    with pytest.raises(ConnectionLost):
        await clients[0].call("getTableNames")


class RecordingFactory(HBaseServerFactory):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.built = []

    def buildProtocol(self, addr):
        p = super().buildProtocol(addr)
        self.built.append(p)
        return p


@pytest_twisted.ensureDeferred
async def test_server_going_away_fails_pending_calls():
    factory = RecordingFactory(Handler())
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    try:
        c = await connect(reactor, "127.0.0.1", port.getHost().port)
        lost = c.notify_lost()
        d = c.call("isTableEnabled", b"t1")  # answered 20 ms later
        while not factory.built:
            await deferLater(reactor, 0.001)
        factory.built[0].transport.loseConnection()  # the server hangs up first
        with pytest.raises(ConnectionLost) as e:
            await d
        assert e.value.sent is True
        assert isinstance(await lost, ConnectionLost)
        with pytest.raises(ConnectionLost):
            await c.call("getTableNames")
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_endpoint_string_unix():
    path = os.path.join(tempfile.mkdtemp(), "hbase.sock")
    port = reactor.listenUNIX(path, HBaseServerFactory(Handler(), "framed", "compact"))
    try:
        c = await connect(reactor, endpoint=f"unix:path={path}", transport="framed",
                          protocol="compact")
        assert await c.call("getTableNames") == [b"t1", b"t2"]
        await c.close()
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_connection_refused():
    port = reactor.listenTCP(0, HBaseServerFactory(Handler()), interface="127.0.0.1")
    portno = port.getHost().port
    await port.stopListening()
    with pytest.raises(ConnectionLost) as e:
        await connect(reactor, "127.0.0.1", portno)
    assert e.value.sent is False


def test_connect_timeout_on_clock():
    clock = MemoryReactorClock()
    d = connect(clock, endpoint="tcp:host=10.255.255.1:port=9090", connect_timeout=250)
    assert not d.called
    clock.advance(0.3)
    failures = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(TimeoutError)
    # Nothing was written, so a pool may retry even a counter safely.
    assert failures[0].value.sent is False


def test_connect_validates_arguments():
    with pytest.raises(ValueError, match="transport"):
        connect(reactor, "h", 1, transport="spdy")
    with pytest.raises(ValueError, match="protocol"):
        connect(reactor, "h", 1, protocol="json")
    with pytest.raises(TypeError, match="port"):
        connect(reactor, "h", "9090")
    with pytest.raises(ValueError, match="port"):
        connect(reactor, "h", 0)
    with pytest.raises(TypeError, match="host"):
        connect(reactor, None, 9090)
    with pytest.raises(ValueError, match="either"):
        connect(reactor, "h", 1, endpoint="tcp:h:1")
    with pytest.raises(TypeError, match="connect_timeout"):
        connect(reactor, "h", 1, connect_timeout="5")
    with pytest.raises(ValueError, match="max_message_size"):
        connect(reactor, "h", 1, max_message_size=-1)


@pytest.mark.parametrize("transport,protocol", WIRES)
@pytest_twisted.ensureDeferred
async def test_independent_thriftpy2_client_against_our_server(transport, protocol):
    """thriftpy2's own blocking client (pure-Python protocols, run in a
    thread) talks to HBaseServerFactory on every wire combination."""
    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.rpc import make_client
    from thriftpy2.transport import TBufferedTransportFactory, TFramedTransportFactory
    from twisted.internet.threads import deferToThread

    port = reactor.listenTCP(0, HBaseServerFactory(Handler(), transport, protocol),
                             interface="127.0.0.1")

    def blocking():
        client = make_client(
            hbase.Hbase, "127.0.0.1", port.getHost().port, timeout=10000,
            proto_factory=(TBinaryProtocolFactory() if protocol == "binary"
                           else TCompactProtocolFactory()),
            trans_factory=(TFramedTransportFactory() if transport == "framed"
                           else TBufferedTransportFactory()))
        try:
            names = client.getTableNames()
            rows = client.getRow(b"t1", b"20", {})
            try:
                client.isTableEnabled(b"missing")
            except hbase.IOError as e:
                err = e.message
            return names, rows, err
        finally:
            client.close()

    try:
        names, rows, err = await deferToThread(blocking)
    finally:
        await port.stopListening()
    assert names == [b"t1", b"t2"]
    assert rows[0].row == b"20" and len(rows[0].columns) == 20
    assert "missing" in err


class BlockingHandler:
    """A handler for thriftpy2's own (threaded, blocking) server."""

    def getTableNames(self):
        return [b"x", b"y"]

    def getRow(self, table, key, attributes):
        return [row(key, ncols=int(key), size=500)]

    def enableTable(self, name):
        raise hbase.IOError(message="disabled for good", canRetry=False)

    def disableTable(self, name):
        # thriftpy2's server drops the connection on undeclared exceptions,
        # so send the application exception explicitly.
        from thriftpy2.thrift import TApplicationException
        raise TApplicationException(TApplicationException.INTERNAL_ERROR, "unexpected")


@pytest.mark.parametrize("transport,protocol", WIRES)
@pytest_twisted.ensureDeferred
async def test_our_client_against_independent_thriftpy2_server(transport, protocol):
    """HBaseClientProtocol against thriftpy2's own threaded server
    (pure-Python protocols): pipelined calls, declared and undeclared errors."""
    import socket
    import threading

    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.rpc import make_server
    from thriftpy2.transport import TBufferedTransportFactory, TFramedTransportFactory

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        portno = s.getsockname()[1]
    server = make_server(
        hbase.Hbase, BlockingHandler(), "127.0.0.1", portno, client_timeout=20000,
        proto_factory=(TBinaryProtocolFactory() if protocol == "binary"
                       else TCompactProtocolFactory()),
        trans_factory=(TFramedTransportFactory() if transport == "framed"
                       else TBufferedTransportFactory()))
    server.daemon = True
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # the thread binds the port asynchronously
            try:
                c = await connect(reactor, "127.0.0.1", portno, transport=transport,
                                  protocol=protocol, timeout=10000)
                break
            except ConnectionLost:
                await deferLater(reactor, 0.01)
        ds = [c.call("getRow", b"t", b"%d" % n, {}) for n in (50, 1, 7)]
        ds.append(c.call("getTableNames"))
        r50, r1, r7, names = await defer.gatherResults(ds)
        assert [len(r[0].columns) for r in (r50, r1, r7)] == [50, 1, 7]
        assert names == [b"x", b"y"]
        with pytest.raises(HBaseIOError) as e:
            await c.call("enableTable", b"t")
        assert (e.value.message, e.value.can_retry) == ("disabled for good", False)
        with pytest.raises(ServerError) as e:
            await c.call("disableTable", b"t")
        assert (e.value.type, e.value.message) == (ServerError.INTERNAL_ERROR, "unexpected")
        assert c.connected
        assert await c.call("getTableNames") == [b"x", b"y"]
        await c.close()
    finally:
        server.close()
        try:  # wake the accept() loop so the thread can see closed
            socket.create_connection(("127.0.0.1", portno), timeout=1).close()
        except OSError:
            pass
