"""The harness's HTTP and HTTPS gateways serve Thrift over HTTP as HBase does.

No txhbase client speaks HTTP here: each call is one binary-protocol message
POSTed with Python's http.client (the CA file from the harness for HTTPS), so
these tests prove the gateways the HTTP transport will be tested against.
"""
from __future__ import annotations

import http.client
import ssl

import pytest

from tests.realhbase import harness
from tests.realhbase.thrift_http import HttpStatusError, encode_call, http_call
from txhbase.protocol.idl import hbase


def test_http_gateway_answers_one_posted_call(hbase_http_gateway):
    g = hbase_http_gateway
    assert (g.kind, g.transport, g.protocol, g.path) == ("http", "http", "binary", "/")
    assert g.ca_file is None
    names = http_call(g, "getTableNames")
    assert isinstance(names, list) and all(isinstance(n, bytes) for n in names)


def test_https_gateway_answers_with_the_harness_ca(hbase_https_gateway):
    g = hbase_https_gateway
    assert (g.kind, g.transport, g.protocol) == ("https", "https", "binary")
    assert g.ca_file and open(g.ca_file).read().startswith("-----BEGIN CERTIFICATE-----")
    assert isinstance(http_call(g, "getTableNames"), list)
    # the certificate names both localhost and 127.0.0.1 (SAN), so either verifies
    by_name = harness.GatewayInfo(g.name, g.kind, "localhost", g.port, g.transport,
                                  ca_file=g.ca_file)
    assert isinstance(http_call(by_name, "getTableNames"), list)


def test_https_gateway_refuses_a_client_that_does_not_trust_its_ca(hbase_https_gateway):
    untrusting = ssl.create_default_context()  # the system's roots only
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        http_call(hbase_https_gateway, "getTableNames", ssl_context=untrusting)


def test_https_is_tls_only(hbase_https_gateway):
    """A plaintext HTTP request to the HTTPS port gets no Thrift answer."""
    g = hbase_https_gateway
    conn = http.client.HTTPConnection(g.host, g.port, timeout=30)
    try:
        conn.request("POST", "/", body=encode_call("getTableNames"),
                     headers={"Content-Type": "application/x-thrift"})
        resp = conn.getresponse()
        assert resp.status != 200
    except (ConnectionError, http.client.HTTPException):
        pass  # Jetty may simply drop a non-TLS connection
    finally:
        conn.close()


def test_declared_errors_come_back_decoded(hbase_http_gateway):
    with pytest.raises(hbase.IOError, match="TableNotFoundException"):
        http_call(hbase_http_gateway, "getRow", b"txhbase_no_such_table", b"r", {})


def test_doas_needs_proxyuser_support(hbase_http_gateway, hbase_https_gateway):
    """HBase honours ``doAs`` only where ``hbase.thrift.support.proxyuser`` is on:
    the HTTPS gateway has it, the HTTP one refuses the header (servlet error)."""
    assert hbase_https_gateway.settings["hbase.thrift.support.proxyuser"] == "true"
    names = http_call(hbase_https_gateway, "getTableNames", headers={"doAs": "alice"})
    assert isinstance(names, list)
    with pytest.raises(HttpStatusError) as info:
        http_call(hbase_http_gateway, "getTableNames", headers={"doAs": "alice"})
    assert info.value.status == 500
