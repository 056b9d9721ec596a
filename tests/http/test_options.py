"""Connection's HTTP options are checked before anything is sent:
TypeError for a wrong type, ValueError for a wrong value, naming the argument."""
from __future__ import annotations

import pytest

import txhbase
from txhbase.protocol.http_options import http_options


def conn(**kw):
    kw.setdefault("transport", "http")
    return txhbase.Connection("127.0.0.1", 1, **kw)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"protocol": "compact"}, ValueError, "protocol"),
    ({"transport": "https", "protocol": "compact"}, ValueError, "protocol"),
    ({"transport": "spdy"}, ValueError, "transport"),
    ({"http_path": "api"}, ValueError, "http_path"),
    ({"http_path": "/a b"}, ValueError, "http_path"),
    ({"http_path": 3}, TypeError, "http_path"),
    ({"headers": ["X-A: b"]}, TypeError, "headers"),
    ({"headers": {"X A": "b"}}, ValueError, "headers"),
    ({"headers": {"X-A": "b\r\nX-Evil: 1"}}, ValueError, "headers"),
    ({"headers": {"X-A": 3}}, TypeError, "headers"),
    ({"headers": {"Content-Length": "3"}}, ValueError, "headers"),
    ({"proxy_user": ""}, ValueError, "proxy_user"),
    ({"proxy_user": 7}, TypeError, "proxy_user"),
    ({"proxy_user": "bob\n"}, ValueError, "proxy_user"),
    ({"http_connections": 0}, ValueError, "http_connections"),
    ({"http_connections": "4"}, TypeError, "http_connections"),
    ({"http_connections": True}, TypeError, "http_connections"),
    ({"tls_ca": "/no/such/ca.pem", "transport": "https"}, ValueError, "tls_ca"),
    ({"tls_ca": 5, "transport": "https"}, TypeError, "tls_ca"),
    ({"tls_ca": "/etc/hostname"}, ValueError, "tls_ca"),  # https only
    ({"tls_verify": False}, ValueError, "tls_verify"),  # https only
    ({"tls_verify": "no", "transport": "https"}, TypeError, "tls_verify"),
    ({"tls_client_cert": "/x.pem", "transport": "https"}, ValueError, "tls_client"),
    ({"transport": "buffered", "headers": {"X-A": "b"}}, ValueError, "headers"),
    ({"transport": "framed", "tls_ca": "/x"}, ValueError, "tls_ca"),
    ({"transport": "buffered", "proxy_user": "bob"}, ValueError, "proxy_user"),
])
def test_bad_http_options(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        conn(**kwargs)


def test_endpoint_strings_do_not_apply_to_http():
    with pytest.raises(ValueError, match="host"):
        txhbase.Connection("tcp:host=127.0.0.1:port=9090", transport="http")


def test_a_file_that_is_not_pem_is_refused(tmp_path):
    p = tmp_path / "ca.pem"
    p.write_bytes(b"not a certificate")
    with pytest.raises(ValueError, match="tls_ca.*not a PEM"):
        conn(transport="https", tls_ca=str(p))


def test_good_options_are_kept(pki):
    opts = http_options("https", http_path="/thrift", headers={"X-A": "b", b"X-B": b"c"},
                        tls_ca=pki.ca, tls_client_cert=pki.client_cert,
                        tls_client_key=pki.client_key, proxy_user="alice",
                        http_connections=8)
    assert opts.path == b"/thrift" and opts.connections == 8
    assert opts.headers == {b"X-A": b"b", b"X-B": b"c", b"doAs": b"alice"}
    assert opts.trust is not None and opts.client_cert is not None
    assert http_options("buffered") is None


def test_pool_passes_http_options_through(pki):
    pool = txhbase.ConnectionPool(2, servers=["127.0.0.1:1", "127.0.0.1:2"],
                                  transport="https", tls_ca=pki.ca)
    assert pool is not None
    with pytest.raises(ValueError, match="protocol"):
        txhbase.ConnectionPool(2, "127.0.0.1", 1, transport="http", protocol="compact",
                               prefill=True)
