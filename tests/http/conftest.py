"""Fixtures of the HTTP transport tests.

``http_gateway`` is the root conftest's ``gateway`` (tests/conftest.py:
``Gateway``, reached with ``Connection(gw.host, gw.port, **gw.wire)``) on
its HTTP wires only: the embedded server in HTTP and HTTPS mode (the
session's throwaway CA, ``pki``), and real HBase's HTTP and HTTPS gateways
(the harness's, tests/realhbase/harness.py) when the hbase backend is
selected. ``pki`` (the trusted CA) lives in the root conftest; ``other_pki``
is a second CA that no client trusts.
"""
from __future__ import annotations

import pytest

from tests.conftest import HTTP_WIRES, Gateway, selected_backends, session_gateway
from tests.http.certs import TLSFiles, make_pki


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory) -> TLSFiles:
    """A second CA that the client does not trust."""
    return make_pki(str(tmp_path_factory.mktemp("pki-other")), "other")


def pytest_generate_tests(metafunc):
    if "http_gateway" in metafunc.fixturenames:
        params = [(b, t, p) for b in selected_backends(metafunc.config) for t, p in HTTP_WIRES]
        metafunc.parametrize("http_gateway", params, ids=[f"{b}-{t}" for b, t, _ in params],
                             indirect=True, scope="session")


@pytest.fixture(scope="session")
def http_gateway(request, embedded_servers) -> Gateway:
    """The session's ``gateway`` for one (backend, http|https) pair."""
    return session_gateway(request, embedded_servers, *request.param)
