"""The fault proxy itself, over loopback TCP with an echo server."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task

from tests.pool.faultproxy import FaultProxy


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Collector(protocol.Protocol):
    def __init__(self):
        self.data = b""
        self.lost = defer.Deferred()
        self.reason = None

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.reason = reason
        self.lost.callback(None)


@pytest.fixture
def echo_port():
    f = protocol.Factory.forProtocol(Echo)
    port = reactor.listenTCP(0, f, interface="127.0.0.1")
    yield port.getHost().port
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def proxy(echo_port):
    p = FaultProxy("127.0.0.1", echo_port)
    p.listen(0)
    yield p
    pytest_twisted.blockon(p.stop())


def connect(proxy):
    return protocol.ClientCreator(reactor, Collector).connectTCP("127.0.0.1", proxy.port)


async def wait_for(pred, timeout=5.0):
    waited = 0.0
    while not pred():
        await task.deferLater(reactor, 0.01)
        waited += 0.01
        assert waited < timeout, "condition not reached"


@pytest_twisted.ensureDeferred
async def test_forwards_both_ways(proxy):
    c = await connect(proxy)
    c.transport.write(b"hello")
    await wait_for(lambda: c.data == b"hello")
    assert proxy.connections == 1 and proxy.bytes_up == 5 and proxy.bytes_down == 5
    c.transport.loseConnection()
    await c.lost


@pytest_twisted.ensureDeferred
async def test_delay_holds_replies(proxy):
    proxy.delay = 0.3
    c = await connect(proxy)
    start = reactor.seconds()
    c.transport.write(b"x")
    await wait_for(lambda: c.data == b"x")
    assert reactor.seconds() - start >= 0.25
    c.transport.loseConnection()
    await c.lost


@pytest_twisted.ensureDeferred
async def test_stall_and_unstall(proxy):
    proxy.stall()
    c = await connect(proxy)
    c.transport.write(b"abc")
    await task.deferLater(reactor, 0.2)
    assert c.data == b""
    proxy.unstall()
    await wait_for(lambda: c.data == b"abc")
    c.transport.loseConnection()
    await c.lost


@pytest_twisted.ensureDeferred
async def test_drop_mid_reply(proxy):
    c = await connect(proxy)
    proxy.drop_mid_reply(3)
    c.transport.write(b"abcdef")
    await c.lost
    assert c.data == b"abc"


@pytest_twisted.ensureDeferred
async def test_truncate_closes_cleanly(proxy):
    c = await connect(proxy)
    proxy.truncate_next(2)
    c.transport.write(b"abcdef")
    await c.lost
    assert c.data == b"ab"


@pytest_twisted.ensureDeferred
async def test_corrupt_flips_one_byte(proxy):
    c = await connect(proxy)
    proxy.corrupt_next(1, 0x01)
    c.transport.write(b"aaaa")
    await wait_for(lambda: len(c.data) == 4)
    assert c.data == b"a`aa"
    c.transport.loseConnection()
    await c.lost


@pytest_twisted.ensureDeferred
async def test_refuse_and_drop_all(proxy):
    c = await connect(proxy)
    proxy.drop_all()
    await c.lost
    proxy.refuse = True
    c2 = await connect(proxy)
    await c2.lost
    assert c2.data == b"" and proxy.connections == 1
