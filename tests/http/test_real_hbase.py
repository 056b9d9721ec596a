"""Real HBase only: what the embedded gateway cannot show. ``proxy_user``
reaches HBase as the effective user (the master logs ``ugi=USER via REAL``
for the gateway's connections), a gateway without proxy-user support refuses
``doAs`` (HTTP 500), and the real HTTPS gateway refuses an untrusted
certificate. The gateways come from the harness (see conftest.py:
``cluster.http_gateway(scheme)``; the master's log at
``cluster.logs_dir/master.log``)."""
from __future__ import annotations

import os
import uuid

import pytest
import pytest_twisted
from twisted.internet import reactor, task

import txhbase
from txhbase import errors

from tests.conftest import selected_backends


@pytest.fixture(scope="module")
def cluster(request):
    if "hbase" not in selected_backends(request.config):
        pytest.skip("needs the real HBase backend")
    c = request.getfixturevalue("real_hbase")
    if getattr(c, "http_gateway", None) is None:
        pytest.skip("the real-HBase harness provides no HTTP gateways yet")
    return c


@pytest_twisted.ensureDeferred
async def test_proxy_user_reaches_hbase_as_the_effective_user(cluster):
    host, port, ca = cluster.http_gateway("https")
    user = "txhbase_" + uuid.uuid4().hex[:8]
    async with txhbase.Connection(host, port, transport="https", tls_ca=ca, proxy_user=user,
                                  timeout=30000) as conn:
        await conn.tables()
    log = os.path.join(cluster.logs_dir, "master.log")
    for _ in range(100):  # the log line is written asynchronously
        with open(log, errors="replace") as f:
            if f"ugi={user} (auth:SIMPLE) via " in f.read():
                return
        await task.deferLater(reactor, 0.1, lambda: None)
    raise AssertionError(f"no connection as {user} in {log}")


@pytest_twisted.ensureDeferred
async def test_doas_without_proxy_user_support_is_a_server_error(cluster):
    host, port, _ = cluster.http_gateway("http")
    async with txhbase.Connection(host, port, transport="http", proxy_user="someone",
                                  timeout=30000) as conn:
        with pytest.raises(errors.ServerError) as e:
            await conn.tables()
        assert e.value.status == 500


@pytest_twisted.ensureDeferred
async def test_real_gateway_refuses_an_untrusted_certificate(cluster, other_pki):
    host, port, _ = cluster.http_gateway("https")
    conn = txhbase.Connection(host, port, transport="https", tls_ca=other_pki.ca, timeout=30000)
    with pytest.raises(errors.TLSError, match="certificate"):
        await conn.tables()
