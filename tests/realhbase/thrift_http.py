"""Raw Thrift over HTTP(S), as HBase's HTTP-mode gateway takes it: no client under test.

Each call is one binary-protocol message POSTed with Python's http.client
(TLS from the ssl module), its reply one binary message. The harness probes
its HTTP gateways with this, and tests use it to prove those gateways without
depending on txhbase's own HTTP transport.
"""
# thriftpy2 has no type annotations
# mypy: disallow-untyped-calls=False
from __future__ import annotations

import http.client
import ssl
from typing import Any, Optional, Protocol

__all__ = ["HttpGateway", "HttpStatusError", "decode_reply", "encode_call", "http_call"]


class HttpGateway(Protocol):
    """Where an HTTP(S) gateway is (harness.GatewayInfo has these)."""

    name: str
    kind: str  # "http" or "https"
    host: str
    port: int
    path: str
    ca_file: Optional[str]


def encode_call(method: str, *args: Any, seqid: int = 1) -> bytes:
    """One binary-protocol CALL message of the ``Hbase`` service (args in IDL order)."""
    from thriftpy2.protocol.binary import TBinaryProtocol
    from thriftpy2.thrift import TMessageType
    from thriftpy2.transport.memory import TMemoryBuffer

    from txhbase.protocol.idl import hbase

    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf)
    proto.write_message_begin(method, TMessageType.CALL, seqid)
    proto.write_struct(getattr(hbase.Hbase, method + "_args")(*args))
    proto.write_message_end()
    data: bytes = buf.getvalue()
    return data


def decode_reply(method: str, data: bytes) -> Any:
    """The result of one binary-protocol REPLY: the value, or raise the declared
    exception or ``TApplicationException``."""
    from thriftpy2.protocol.binary import TBinaryProtocol
    from thriftpy2.thrift import TApplicationException, TMessageType
    from thriftpy2.transport.memory import TMemoryBuffer

    from txhbase.protocol.idl import hbase

    proto = TBinaryProtocol(TMemoryBuffer(data))
    name, mtype, _seqid = proto.read_message_begin()
    if mtype == TMessageType.EXCEPTION:
        exc = TApplicationException()
        proto.read_struct(exc)
        raise exc
    if name != method:
        raise ValueError(f"reply to {name!r}, expected {method!r}")
    result = getattr(hbase.Hbase, method + "_result")()
    proto.read_struct(result)
    for _fid, spec in sorted(result.thrift_spec.items()):
        value = getattr(result, spec[1])
        if spec[1] != "success" and value is not None:
            raise value
    return getattr(result, "success", None)


def http_call(gateway: HttpGateway, method: str, *args: Any,
              headers: Optional[dict[str, str]] = None,
              ssl_context: Optional[ssl.SSLContext] = None, timeout: float = 30.0) -> Any:
    """POST one binary Thrift call to an HTTP(S) gateway (as HBase's servlet
    expects) and return its decoded result; non-200 raises ``HttpStatusError``.

    HTTPS trusts ``gateway.ca_file`` unless ``ssl_context`` says otherwise.
    """
    if gateway.kind not in ("http", "https"):
        raise ValueError(f"{gateway.name} is a {gateway.kind} gateway, not http/https")
    body = encode_call(method, *args)
    if gateway.kind == "https":
        ctx = ssl_context or ssl.create_default_context(cafile=gateway.ca_file)
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            gateway.host, gateway.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=timeout)
    try:
        conn.request("POST", gateway.path, body=body, headers={
            "Content-Type": "application/x-thrift", "Accept": "application/x-thrift",
            **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise HttpStatusError(resp.status, data[:500])
        return decode_reply(method, data)
    finally:
        conn.close()


class HttpStatusError(Exception):
    """An HTTP gateway answered something other than 200."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body
