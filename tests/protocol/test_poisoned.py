"""A connection whose byte stream stalls mid-reply is dropped and replaced
(issue 12, item 1), end to end through ``txhbase.Connection`` against a
hostile server on 127.0.0.1."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol

from tests.protocol.wire import reply_bytes
from txhbase import Connection
from txhbase.errors import TimeoutError
from txhbase.protocol import HBaseServerFactory
from txhbase.protocol.framing import frame


class Handler:
    def getTableNames(self):
        return [b"fresh"]


def _half_reply(transport):
    m = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x" * 1000])
    half = m[:len(m) // 2]
    return frame(m)[:4 + len(half)] if transport == "framed" else half


def _declares_100mb(transport):
    body = (b"\x80\x01\x00\x02\x00\x00\x00\x0dgetTableNames\x00\x00\x00\x01"
            b"\x0f\x00\x00\x0b\x00\x00\x00\x01"          # success: list<string> of 1
            b"\x06\x40\x00\x00" + b"x" * 100)             # a string of 100 MB: 100 bytes of it
    return (len(body) + 10 ** 8).to_bytes(4, "big") + body if transport == "framed" else body


class _Stall(Protocol):
    """Answers the first call with ``partial`` bytes of a reply, then nothing."""

    def __init__(self, partial):
        self.partial = partial
        self.answered = False

    def dataReceived(self, data):
        if not self.answered:
            self.answered = True
            self.transport.write(self.partial)


class _FirstHostile(Factory):
    """The first connection stalls mid-reply; later ones are a real server."""

    def __init__(self, partial, transport):
        self.partial = partial
        self.real = HBaseServerFactory(Handler(), transport, "binary")
        self.connections = 0

    def buildProtocol(self, addr):
        self.connections += 1
        if self.connections == 1:
            return _Stall(self.partial)
        return self.real.buildProtocol(addr)


@pytest.mark.parametrize("transport", ["buffered", "framed"])
@pytest.mark.parametrize("partial", [_half_reply, _declares_100mb],
                         ids=["half-reply", "declares-100mb"])
@pytest_twisted.ensureDeferred
async def test_next_call_succeeds_on_a_fresh_connection(transport, partial):
    factory = _FirstHostile(partial(transport), transport)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    conn = Connection("127.0.0.1", port.getHost().port, transport=transport,
                      reactor=reactor)
    try:
        with pytest.raises(TimeoutError):
            await conn.tables(timeout=200)
        assert await conn.tables() == [b"fresh"]
        assert await conn.tables() == [b"fresh"]
        assert factory.connections == 2
    finally:
        await conn.close()
        await port.stopListening()
