"""A SASL gateway for tests without a KDC: the server side of the fake GSS exchange
(tests/kerberos/fakegss.py) in front of an embedded txhbase server.

It checks each negotiation message the way HBase's ``TSaslServerTransport``
orders them, answers with ``ERROR`` when told to refuse, then unwraps frames
into the embedded server's protocol and frames (and wraps) its replies.
"""
from __future__ import annotations

from typing import Any, List, Optional

from twisted.internet import protocol

from tests.kerberos.fakegss import CLIENT_TOKEN, SERVER_TOKEN, FakeContext
from txhbase.protocol.sasl import COMPLETE, ERROR, OK, START, sasl_message


class _Adapter:
    def __init__(self, outer: "FakeSaslServerProtocol") -> None:
        self._outer = outer

    def write(self, data: bytes) -> None:
        self._outer.send_frame(data)

    def writeSequence(self, seq: List[bytes]) -> None:
        self._outer.send_frame(b"".join(seq))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer.transport, name)


class FakeSaslServerProtocol(protocol.Protocol):
    def __init__(self, inner: Any, offer: int, refuse: Optional[str]) -> None:
        self.inner = inner
        self.offer = offer
        self.refuse = refuse
        self.ctx = FakeContext()
        self.buf = b""
        self.stage = 0
        self.layer = 0

    def _msg(self) -> Optional[tuple]:
        if len(self.buf) < 5:
            return None
        n = int.from_bytes(self.buf[1:5], "big")
        if len(self.buf) < 5 + n:
            return None
        status, payload, self.buf = self.buf[0], self.buf[5:5 + n], self.buf[5 + n:]
        return status, payload

    def _error(self, text: str) -> None:
        self.transport.write(sasl_message(ERROR, text.encode()))
        self.transport.loseConnection()
        self.stage = -1

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while self.stage >= 0 and self.stage < 4:
            msg = self._msg()
            if msg is None:
                return
            status, payload = msg
            if self.stage == 0:
                if (status, payload) != (START, b"GSSAPI"):
                    return self._error(f"Invalid status {status - 256 if status > 127 else status}")
            elif self.stage == 1:
                if self.refuse:
                    return self._error(self.refuse)
                assert (status, payload) == (OK, CLIENT_TOKEN), (status, payload)
                self.transport.write(sasl_message(OK, SERVER_TOKEN))
            elif self.stage == 2:
                assert (status, payload) == (OK, b""), (status, payload)
                offer = self.ctx.wrap(bytes([self.offer]) + b"\x00\x01\x00", False)
                self.transport.write(sasl_message(OK, offer))
            elif self.stage == 3:
                assert status == COMPLETE, status
                answer, _ = self.ctx.unwrap(payload)
                if not answer[0] & self.offer:
                    return self._error("No common protection layer between client and server")
                self.layer = answer[0]
                self.transport.write(sasl_message(COMPLETE, b""))
                self.inner.makeConnection(_Adapter(self))
            self.stage += 1
        if self.stage == 4:
            while len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "big")
                if len(self.buf) < 4 + n:
                    return
                payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                if self.layer != 1:
                    payload, _ = self.ctx.unwrap(payload)
                self.inner.dataReceived(payload)

    def send_frame(self, data: bytes) -> None:
        if self.layer != 1:
            data = self.ctx.wrap(data, self.layer == 4)
        self.transport.write(len(data).to_bytes(4, "big") + data)

    def connectionLost(self, reason: Any = None) -> None:
        if self.stage == 4:
            self.inner.connectionLost(reason)


class FakeSaslGatewayFactory(protocol.Factory):
    """Wraps each protocol of an embedded server's factory in the fake SASL server."""

    def __init__(self, running: Any, offer: int = 4, refuse: Optional[str] = None) -> None:
        self.running = running
        self.offer = offer
        self.refuse = refuse
        self.connections = 0
        self.protocols: List[FakeSaslServerProtocol] = []

    def buildProtocol(self, addr: Any) -> FakeSaslServerProtocol:
        self.connections += 1
        inner = self.running._factory.buildProtocol(addr)
        p = FakeSaslServerProtocol(inner, self.offer, self.refuse)
        self.protocols.append(p)
        return p

    def drop_all(self) -> None:
        """Close every connection (as a gateway restart does)."""
        for p in self.protocols:
            if p.transport is not None:
                p.transport.loseConnection()
