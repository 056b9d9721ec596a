"""A fake GSS context and a scripted SASL gateway, so the SASL layer runs without a KDC.

``FakeContext`` takes two steps (``b''`` -> ``TOKEN1``, ``SRVTOK`` -> done);
wrap prefixes ``E:`` (encrypted) or ``I:`` (integrity only), unwrap strips it.
``server_script`` gives the bytes an HBase gateway sends for a successful
negotiation offering ``offer`` (security-layer bits).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from txhbase.errors import AuthenticationError
from txhbase.protocol.sasl import COMPLETE, OK, START, sasl_message

CLIENT_TOKEN = b"TOKEN1"
SERVER_TOKEN = b"SRVTOK"


class FakeContext:
    def __init__(self, fail_with: Optional[str] = None) -> None:
        self.steps: List[bytes] = []
        self._complete = False
        self.fail_with = fail_with

    @property
    def complete(self) -> bool:
        return self._complete

    def step(self, token: bytes) -> bytes:
        self.steps.append(token)
        if self.fail_with:
            raise AuthenticationError(self.fail_with)
        if not token:
            return CLIENT_TOKEN
        assert token == SERVER_TOKEN, token
        self._complete = True
        return b""

    def wrap(self, data: bytes, encrypt: bool) -> bytes:
        return (b"E:" if encrypt else b"I:") + data

    def unwrap(self, data: bytes) -> Tuple[bytes, bool]:
        assert data[:2] in (b"E:", b"I:"), data
        return data[2:], data[:2] == b"E:"


def fake_wrap(data: bytes, encrypt: bool) -> bytes:
    return FakeContext().wrap(data, encrypt)


def client_negotiation(layer: int) -> bytes:
    """Every byte a correct client sends for a whole negotiation choosing ``layer``."""
    max_size = b"\x00\x00\x00" if layer == 1 else b"\xff\xff\xff"
    return (sasl_message(START, b"GSSAPI") + sasl_message(OK, CLIENT_TOKEN)
            + sasl_message(OK, b"")
            + sasl_message(COMPLETE, fake_wrap(bytes([layer]) + max_size, False)))


def server_script(offer: int) -> List[bytes]:
    """The gateway's messages: its token, the security-layer offer, COMPLETE."""
    return [sasl_message(OK, SERVER_TOKEN),
            sasl_message(OK, fake_wrap(bytes([offer]) + b"\x00\x01\x00", False)),
            sasl_message(COMPLETE, b"")]
