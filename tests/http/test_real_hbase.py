"""Real HBase only: what the embedded gateway cannot show. ``proxy_user``
reaches HBase as the effective user (the master logs ``ugi=USER via REAL``
for the gateway's connections), a gateway without proxy-user support refuses
``doAs`` (HTTP 500), and the real HTTPS gateway refuses an untrusted
certificate. The gateways are the harness's (tests/conftest.py:
``hbase_http_gateway``, ``hbase_https_gateway``, GatewayInfo), the master's
log is ``real_hbase.logs_dir/master.log``."""
from __future__ import annotations

import os
import uuid

import pytest
import pytest_twisted
from twisted.internet import reactor, task

import txhbase
from txhbase import errors


@pytest_twisted.ensureDeferred
async def test_proxy_user_reaches_hbase_as_the_effective_user(hbase_https_gateway, real_hbase):
    g = hbase_https_gateway
    user = "txhbase_" + uuid.uuid4().hex[:8]
    async with txhbase.Connection(g.host, g.port, transport="https", tls_ca=g.ca_file,
                                  proxy_user=user, timeout=30000) as conn:
        await conn.tables()
    log = os.path.join(real_hbase.logs_dir, "master.log")
    for _ in range(100):  # the log line is written asynchronously
        with open(log, errors="replace") as f:
            if f"ugi={user} (auth:SIMPLE) via " in f.read():
                return
        await task.deferLater(reactor, 0.1, lambda: None)
    raise AssertionError(f"no connection as {user} in {log}")


@pytest_twisted.ensureDeferred
async def test_doas_without_proxy_user_support_is_a_server_error(hbase_http_gateway):
    g = hbase_http_gateway
    async with txhbase.Connection(g.host, g.port, transport="http", proxy_user="someone",
                                  timeout=30000) as conn:
        with pytest.raises(errors.ServerError) as e:
            await conn.tables()
        assert e.value.status == 500


@pytest_twisted.ensureDeferred
async def test_real_gateway_refuses_an_untrusted_certificate(hbase_https_gateway, other_pki):
    g = hbase_https_gateway
    conn = txhbase.Connection(g.host, g.port, transport="https", tls_ca=other_pki.ca,
                              timeout=30000)
    with pytest.raises(errors.TLSError, match="certificate"):
        await conn.tables()
