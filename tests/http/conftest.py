"""Fixtures of the HTTP transport tests: embedded gateways in HTTP and HTTPS
mode (with a throwaway CA), and the real HBase HTTP/HTTPS gateways when the
harness provides them.

Real HBase: the lead wires the harness; these tests ask the session cluster
for ``cluster.http_gateway(scheme)`` -> ``(host, port, ca_pem_path_or_None)``
(scheme 'http' or 'https'; the HTTPS gateway with
``hbase.thrift.support.proxyuser=true``) and skip when it has none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
import pytest_twisted

from tests.conftest import selected_backends
from tests.http.certs import TLSFiles, make_pki


@dataclass
class HTTPGateway:
    backend: str  # "embedded" or "hbase"
    scheme: str  # "http" or "https"
    host: str
    port: int
    ca: Optional[str] = None
    server: Optional[Any] = field(default=None, repr=False)

    def kwargs(self, **extra: Any) -> dict:
        """Connection keyword arguments reaching this gateway."""
        kw: dict = {"transport": self.scheme, "timeout": 30000}
        if self.ca is not None:
            kw["tls_ca"] = self.ca
        kw.update(extra)
        return kw


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TLSFiles:
    """The trusted throwaway CA, with a server cert for localhost/127.0.0.1."""
    return make_pki(str(tmp_path_factory.mktemp("pki")), "trusted")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory) -> TLSFiles:
    """A second CA that the client does not trust."""
    return make_pki(str(tmp_path_factory.mktemp("pki-other")), "other")


def pytest_generate_tests(metafunc):
    if "http_gateway" in metafunc.fixturenames:
        params = [("embedded", "http"), ("embedded", "https")]
        if "hbase" in selected_backends(metafunc.config):
            params += [("hbase", "http"), ("hbase", "https")]
        metafunc.parametrize("http_gateway", params, ids=[f"{b}-{s}" for b, s in params],
                             indirect=True, scope="session")


@pytest.fixture(scope="session")
def http_gateway(request, pki) -> Any:
    backend, scheme = request.param
    if backend == "embedded":
        from txhbase import server as embedded

        tls = {"tls_cert": pki.server_cert, "tls_key": pki.server_key} if scheme == "https" else {}
        srv = embedded.listen(0, transport=scheme, **tls)
        yield HTTPGateway("embedded", scheme, "localhost" if tls else "127.0.0.1", srv.port,
                          pki.ca if tls else None, srv)
        pytest_twisted.blockon(srv.stop())
        return
    cluster = request.getfixturevalue("real_hbase")
    provide = getattr(cluster, "http_gateway", None)
    if provide is None:
        pytest.skip("the real-HBase harness provides no HTTP gateways yet")
    host, port, ca = provide(scheme)
    yield HTTPGateway("hbase", scheme, host, port, ca)
