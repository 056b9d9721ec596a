"""SPNEGO against a real Kerberized HTTP-mode gateway: what the HTTP transport will need.

Only the token side exists yet (``txhbase._gss.spnego_token``); these tests
pin down HBase's behaviour with a plain blocking HTTP client so the HTTP
transport can rely on it: every request must carry its own fresh token.
"""
from __future__ import annotations

import pytest

from tests.realhbase.kerberos import spnego_post
from txhbase._gss import spnego_token
from txhbase.errors import AuthenticationError

pytestmark = pytest.mark.hbase_only


@pytest.fixture(scope="module")
def http_gateway(kerberos):
    return kerberos.gateway(None)


def test_no_token_is_401_with_negotiate_challenge(http_gateway):
    status, headers, _ = spnego_post(http_gateway.host, http_gateway.port, b"")
    assert status == 401 and headers.get("www-authenticate") == "Negotiate"


def test_fresh_token_per_request_is_answered(http_gateway):
    for _ in range(3):
        token = spnego_token("HTTP", http_gateway.host)
        status, headers, tables = spnego_post(http_gateway.host, http_gateway.port, token)
        assert status == 200 and isinstance(tables, list)
        assert headers.get("www-authenticate", "").startswith("Negotiate ")  # mutual auth


def test_replayed_token_is_refused(http_gateway):
    token = spnego_token("HTTP", http_gateway.host)
    assert spnego_post(http_gateway.host, http_gateway.port, token)[0] == 200
    assert spnego_post(http_gateway.host, http_gateway.port, token)[0] == 401


def test_garbage_token_is_401(http_gateway):
    assert spnego_post(http_gateway.host, http_gateway.port, b"not a token")[0] == 401


def test_unknown_client_principal(http_gateway, kerberos):
    with pytest.raises(AuthenticationError, match="nobody@"):
        spnego_token("HTTP", http_gateway.host, principal=f"nobody@{kerberos.kdc.realm}")
