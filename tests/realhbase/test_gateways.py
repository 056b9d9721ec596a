"""The harness's HTTP and HTTPS gateways serve Thrift over HTTP as HBase does.

No txhbase client speaks HTTP here: each call is one binary-protocol message
POSTed with Python's http.client (the CA file from the harness for HTTPS), so
these tests prove the gateways the HTTP transport will be tested against.
"""
from __future__ import annotations

import http.client
import os
import socket
import ssl
import time

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


def test_start_gateway_runs_one_more_gateway_with_its_own_settings(request):
    """The extension point for other gateways (Kerberized ones): a gateway with
    settings of its own and a custom readiness probe, then stopped.
    The setting is one whose effect shows: this gateway drops idle
    connections after 1.5 s (the cluster's default is 60 s), so it did reach
    ThriftServer, which ignores -D."""
    from tests.conftest import selected_backends

    if "hbase" not in selected_backends(request.config):
        pytest.skip("the hbase backend is not selected")
    cluster = request.getfixturevalue("real_hbase")
    if isinstance(cluster, harness.ExternalGateway):
        pytest.skip("--hbase-host: the cluster is not the harness's")
    probed = []

    def probe(g):
        probed.append(g.port)
        return harness._ping(g.host, g.port, g.transport, g.protocol)

    g = cluster.start_gateway("socket", name="idle-timeout", flags=["-threadpool"],
                              settings={"hbase.thrift.server.socket.read.timeout": "1500"},
                              probe=probe)
    try:
        assert probed and probed[-1] == g.port
        assert cluster.gateway("idle-timeout") is g
        with open(os.path.join(g.conf_dir, "hbase-site.xml")) as f:
            assert "hbase.thrift.server.socket.read.timeout" in f.read()
        client = harness.sync_client(g.host, g.port, timeout_ms=30000)
        try:
            assert isinstance(client.getTableNames(), list)
            time.sleep(4)  # idle past this gateway's read timeout
            # thriftpy2 raises a transport or socket error, depending on
            # whether the write or the read notices the close first
            with pytest.raises(Exception):
                client.getTableNames()
        finally:
            client.close()
    finally:
        cluster.stop_gateway("idle-timeout")
    with pytest.raises(ValueError, match="no gateway named"):
        cluster.gateway("idle-timeout")
    with pytest.raises(OSError):
        socket.create_connection((g.host, g.port), timeout=5).close()
