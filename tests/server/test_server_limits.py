"""Issue 12 items 7 and 9 end to end: a real listen() server on 127.0.0.1."""
from __future__ import annotations

import gc
import socket
import tracemalloc

import pytest
import pytest_twisted
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from tests.protocol.wire import call_bytes
from tests.server.helpers import cd, put
from txhbase.protocol.connect import connect
from txhbase.server import listen
from txhbase.server.__main__ import build_parser


def _reactor():
    from twisted.internet import reactor

    return reactor


def _pause(reactor, seconds):
    return task.deferLater(reactor, seconds, lambda: None)


@pytest_twisted.inlineCallbacks
def test_a_client_pipelining_2000_big_gets_and_never_reading_is_bounded():
    """Before: the server served all 2,000 calls and held ~195 MB of replies
    for the connection until it closed. Now it stops reading that client once
    its unsent replies fill the transport buffer, and serves others."""
    reactor = _reactor()
    srv = listen(0)
    served = []
    real_get_row = srv.handler.getRow

    def counting_get_row(*args):
        served.append(1)
        return real_get_row(*args)

    srv.handler.getRow = counting_get_row
    hog = None
    gc.collect()
    tracemalloc.start()
    try:
        srv.handler.createTable(b"t", [cd(b"cf")])
        yield defer.maybeDeferred(srv.handler.mutateRow, b"t", b"big",
                                  [put(b"cf:q", b"x" * 100_000)], {})
        base = tracemalloc.get_traced_memory()[0]
        hog = socket.socket()
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect((srv.host, srv.port))
        hog.sendall(b"".join(call_bytes("getRow", i, (b"t", b"big", {}), "buffered", "binary")
                             for i in range(2000)))
        # let the server work until it stops making progress on the hog
        last, stable = -1, 0
        for _ in range(400):
            yield _pause(reactor, 0.02)
            stable = stable + 1 if len(served) == last else 0
            last = len(served)
            if stable >= 10 or last == 2000:
                break
        held = tracemalloc.get_traced_memory()[0] - base
        # another client is served meanwhile
        other = yield connect(reactor, srv.host, srv.port)
        rows = yield other.call("getRow", b"t", b"big", {})
        assert rows[0].columns[b"cf:q"].value == b"x" * 100_000
        yield other.close()
        assert len(served) < 2000 - 1
        assert held < 16 * 2 ** 20, f"{held / 2 ** 20:.1f} MB held for one connection"
    finally:
        tracemalloc.stop()
        if hog is not None:
            hog.close()
        yield srv.stop()


class _Dribbler(Protocol):
    def __init__(self):
        self.lost = defer.Deferred()

    def connectionLost(self, reason=None):
        self.lost.callback(None)


@pytest_twisted.inlineCallbacks
def test_listen_message_timeout_closes_a_slow_sender_only():
    reactor = _reactor()
    clock = task.Clock()
    srv = listen(0, clock=clock, message_timeout=5)
    try:
        slow = _Dribbler()
        yield connectProtocol(TCP4ClientEndpoint(reactor, srv.host, srv.port), slow)
        busy = yield connect(reactor, srv.host, srv.port)
        slow.transport.write(call_bytes("getTableNames", 1, (), "buffered", "binary")[:3])
        for _ in range(500):  # until the server holds the 3 bytes
            if any(p._decoder.buffered for p in srv._factory.connections):
                break
            yield _pause(reactor, 0.01)
        clock.advance(4)
        yield busy.call("getTableNames")
        assert not slow.lost.called
        clock.advance(2)  # 6 s after its first byte
        yield slow.lost
        yield busy.call("getTableNames")  # whole calls are never timed out
        yield busy.close()
    finally:
        yield srv.stop()
    with pytest.raises(ValueError, match="message_timeout"):
        listen(0, message_timeout=0)


def test_cli_options():
    args = build_parser().parse_args(["--message-timeout", "30", "--wal-recovery", "salvage"])
    assert args.message_timeout == 30.0 and args.wal_recovery == "salvage"
    args = build_parser().parse_args([])
    assert args.message_timeout is None and args.wal_recovery == "strict"


@pytest.mark.parametrize("how", ["stop", "idle"])
@pytest_twisted.inlineCallbacks
def test_a_client_that_never_reads_cannot_hold_its_connection(how):
    """A transport does not close while a paused producer is registered, nor
    before its unsent data is read: stop() and the idle timeout abort a
    connection whose client stopped reading (before: it stayed open, in the
    server's connections, for as long as the client kept it)."""
    reactor = _reactor()
    clock = task.Clock()
    srv = listen(0, clock=clock, idle_timeout=60)
    hog = socket.socket()
    try:
        srv.handler.createTable(b"t", [cd(b"cf")])
        yield defer.maybeDeferred(srv.handler.mutateRow, b"t", b"big",
                                  [put(b"cf:q", b"x" * 100_000)], {})
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect((srv.host, srv.port))
        for _ in range(500):
            if srv._factory.connections:
                break
            yield _pause(reactor, 0.01)
        # a small kernel send buffer, so the stalled replies cannot all leave
        for p in srv._factory.connections:
            p.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        hog.sendall(b"".join(call_bytes("getRow", i, (b"t", b"big", {}), "buffered", "binary")
                             for i in range(200)))
        for _ in range(500):
            if any(p._write_paused for p in srv._factory.connections):
                break
            yield _pause(reactor, 0.01)
        assert any(p._write_paused for p in srv._factory.connections)
        if how == "stop":
            stopped = srv.stop()
        else:
            clock.advance(61)
        for _ in range(500):
            if not srv._factory.connections:
                break
            yield _pause(reactor, 0.01)
        assert not srv._factory.connections
        if how == "stop":
            yield stopped
    finally:
        hog.close()
        yield srv.stop()


@pytest_twisted.inlineCallbacks
def test_stop_still_delivers_written_replies_to_a_reading_client():
    reactor = _reactor()
    srv = listen(0)
    try:
        client = yield connect(reactor, srv.host, srv.port)
        lost = client.notify_lost()
        assert (yield client.call("getTableNames")) == []
        yield srv.stop()
        yield lost
    finally:
        yield srv.stop()
