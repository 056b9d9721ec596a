"""Backend fixtures shared by every test directory.

``gateway`` is parametrised over the selected backends and, for each, the
wire combinations HBase's gateways offer: buffered/binary (the default
``-threadpool`` server), framed/compact (``-hsha -c``), and HTTP mode over
http and https (binary; the embedded HTTPS server has a throwaway CA, real
HBase's the harness's ``keytool`` CA). Tests reach it with
``Connection(gw.host, gw.port, **gw.wire)``. A test that cannot hold over
HTTP says so with ``@pytest.mark.socket_only("why")``; tests/protocol (the
socket protocol layer itself) and ``sync_gateway`` (blocking clients:
happybase, thriftpy2) have the socket wires only.

Backends: ``embedded`` (txhbase.server, in-process) always; ``hbase`` (a real
HBase from Maven Central, see tests/realhbase/) when selected with
``--backend hbase|all`` or TXHBASE_BACKEND, or by default when ``java`` and
``mvn`` are on PATH.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pytest

SOCKET_WIRES = [("buffered", "binary"), ("framed", "compact")]
HTTP_WIRES = [("http", "binary"), ("https", "binary")]
WIRES = SOCKET_WIRES + HTTP_WIRES
SHARED_TABLE = b"txhbase_test"
SHARED_FAMILIES = {
    "cf1": {"max_versions": 3},
    "cf2": {"max_versions": 1},
}


@dataclass
class Gateway:
    """Where a test reaches an HBase Thrift1 gateway."""

    backend: str  # "embedded" or "hbase"
    host: str
    port: int
    transport: str
    protocol: str
    server: Optional[Any] = field(default=None, repr=False)  # RunningServer for embedded
    # HTTP(S) gateways (transport "http"/"https"): the POST path and the CA PEM to trust
    http_path: str = "/"
    tls_ca: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.transport}-{self.protocol}"

    @property
    def wire(self) -> dict[str, Any]:
        """The Connection/ConnectionPool keyword arguments reaching this gateway's
        wire: transport and protocol, plus the path and CA of HTTP(S) gateways."""
        kw: dict[str, Any] = {"transport": self.transport, "protocol": self.protocol}
        if self.transport in ("http", "https"):
            kw["http_path"] = self.http_path
        if self.tls_ca is not None:
            kw["tls_ca"] = self.tls_ca
        return kw


def pytest_addoption(parser):
    group = parser.getgroup("txhbase")
    group.addoption(
        "--backend",
        default=os.environ.get("TXHBASE_BACKEND", "auto"),
        choices=["auto", "embedded", "hbase", "all"],
        help="which gateways backend tests run against (auto: embedded, plus "
        "real HBase when java and mvn are on PATH)",
    )
    group.addoption("--hbase-host", default=os.environ.get("TXHBASE_HBASE_HOST"),
                    help="use this running HBase Thrift1 gateway instead of starting one")
    group.addoption("--hbase-port", type=int,
                    default=int(os.environ.get("TXHBASE_HBASE_PORT", "0")) or None)
    group.addoption("--hbase-transport", default=os.environ.get("TXHBASE_HBASE_TRANSPORT", "buffered"))
    group.addoption("--hbase-protocol", default=os.environ.get("TXHBASE_HBASE_PROTOCOL", "binary"))


def selected_backends(config) -> list[str]:
    choice = config.getoption("--backend")
    if choice == "auto":
        have_java = shutil.which("java") and shutil.which("mvn")
        return ["embedded", "hbase"] if (have_java or config.getoption("--hbase-host")) else ["embedded"]
    if choice == "all":
        return ["embedded", "hbase"]
    return [choice]


def pytest_configure(config):
    config.addinivalue_line("markers", "backend: test runs against every selected gateway backend")
    config.addinivalue_line("markers", "hbase_only: needs the real HBase backend")
    config.addinivalue_line("markers", "socket_only(reason, wires=('http', 'https')): skipped "
                            "on those wires of ``gateway``, for the reason given")


def _gateway_transport(item) -> Optional[str]:
    callspec = getattr(item, "callspec", None)
    if callspec is None or "gateway" not in callspec.params:
        return None
    transport: str = callspec.params["gateway"][1]
    return transport


def pytest_runtest_setup(item):
    """``socket_only``: skip the HTTP(S) wires (or the ``wires`` given), saying why."""
    mark = item.get_closest_marker("socket_only")
    transport = _gateway_transport(item)
    if mark is None or transport is None:
        return
    if transport in mark.kwargs.get("wires", ("http", "https")):
        reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "socket wires only")
        pytest.skip(f"not over HTTP: {reason}")


#: Test directories whose ``gateway`` tests exercise the socket protocol layer
#: itself (txhbase.protocol.connect's HBaseClientProtocol): socket wires only.
SOCKET_LEVEL_DIRS = ("protocol",)


def _gateway_wires(metafunc) -> list[tuple[str, str]]:
    here = os.path.dirname(os.path.abspath(__file__))
    rel = os.path.relpath(str(metafunc.definition.path), here)
    return SOCKET_WIRES if rel.split(os.sep)[0] in SOCKET_LEVEL_DIRS else WIRES


def pytest_generate_tests(metafunc):
    backends = selected_backends(metafunc.config)
    for name in ("gateway", "sync_gateway"):
        if name in metafunc.fixturenames:
            wires = _gateway_wires(metafunc) if name == "gateway" else SOCKET_WIRES
            params = [(b, t, p) for b in backends for (t, p) in wires]
            metafunc.parametrize(name, params, ids=[f"{b}-{t}-{p}" for b, t, p in params],
                                 indirect=True, scope="session")


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A throwaway CA (tests.http.certs.TLSFiles) and a server certificate for
    localhost/127.0.0.1 signed by it: what embedded HTTPS servers serve."""
    from tests.http.certs import make_pki

    return make_pki(str(tmp_path_factory.mktemp("pki")), "trusted")


def start_embedded(transport: str, protocol: str = "binary", tls=None) -> Any:
    """An embedded server (RunningServer) on a free port for one wire; HTTPS
    serves ``tls``'s (a TLSFiles) server certificate."""
    from txhbase import server as embedded

    certs = {"tls_cert": tls.server_cert, "tls_key": tls.server_key} if tls else {}
    return embedded.listen(0, transport=transport, protocol=protocol, **certs)


@pytest.fixture(scope="session")
def embedded_servers():
    """One embedded server per wire combination for the whole session."""
    servers = {}
    yield servers
    import pytest_twisted

    for srv in servers.values():
        pytest_twisted.blockon(srv.stop())


@pytest.fixture(scope="session")
def real_hbase(request):
    """The real HBase cluster (started once), from tests/realhbase/harness.py:
    a ``Cluster`` (two region servers; gateways by name; ``create_table`` with
    split keys, ``regions``, ``move_region``, ``split_region``), or an
    ``ExternalGateway`` with ``--hbase-host``."""
    from tests.realhbase import harness

    cluster = harness.session_cluster(request.config)
    yield cluster


def _hbase_gateway(request, name: str):
    """A gateway of the harness's cluster by name, when the hbase backend is selected."""
    if "hbase" not in selected_backends(request.config):
        pytest.skip("the hbase backend is not selected")
    return request.getfixturevalue("real_hbase").gateway(name)


@pytest.fixture(scope="session")
def hbase_http_gateway(request):
    """Real HBase's HTTP-mode Thrift1 gateway (tests.realhbase.harness.GatewayInfo:
    ``host``, ``port``, ``path``, ``kind='http'``; binary protocol, one POST per call)."""
    return _hbase_gateway(request, "http")


@pytest.fixture(scope="session")
def hbase_https_gateway(request):
    """Real HBase's HTTPS Thrift1 gateway (GatewayInfo with ``kind='https'`` and
    ``ca_file``, the PEM of the CA that signed its ``localhost``/127.0.0.1
    certificate); it honours HBase's ``doAs`` header (proxyuser support on)."""
    return _hbase_gateway(request, "https")


@pytest.fixture(scope="session")
def gateway(request, embedded_servers) -> Gateway:
    return session_gateway(request, embedded_servers, *request.param)


def session_gateway(request, embedded_servers, backend: str, transport: str,
                    protocol: str) -> Gateway:
    """The session's gateway of ``backend`` for one wire: an embedded server
    started on first use, or the real cluster's gateway for it."""
    if backend == "embedded":
        key = (transport, protocol)
        tls = request.getfixturevalue("pki") if transport == "https" else None
        if key not in embedded_servers:
            embedded_servers[key] = start_embedded(transport, protocol, tls)
        srv = embedded_servers[key]
        return Gateway("embedded", "127.0.0.1", srv.port, transport, protocol, srv,
                       tls_ca=tls.ca if tls else None)
    cluster = request.getfixturevalue("real_hbase")
    if transport in ("http", "https"):  # the harness's HTTP-mode gateways
        info = cluster.gateway(transport)
        return Gateway("hbase", info.host, info.port, transport, protocol,
                       http_path=info.path, tls_ca=info.ca_file)
    host, port = cluster.address(transport, protocol)
    return Gateway("hbase", host, port, transport, protocol)


@pytest.fixture
def row_prefix(request) -> bytes:
    """A row-key prefix unique to this test, so tests can share one table."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    return f"t{digest}-".encode()


@dataclass
class SyncGateway:
    """A gateway for blocking clients (happybase, thriftpy2's sync client).

    Blocking clients cannot talk to a server running on the test's own reactor
    thread, so the embedded backend runs here as a subprocess
    (``python -m txhbase.server``); the real backend is the same cluster.
    """

    backend: str
    host: str
    port: int
    transport: str
    protocol: str

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.transport}-{self.protocol}"


def start_embedded_subprocess(transport: str = "buffered", protocol: str = "binary",
                              data_dir: Optional[str] = None, timeout: float = 30.0,
                              extra_args: Sequence[str] = ()):
    """Start ``python -m txhbase.server --port 0 [extra_args]``; return (Popen, port).

    The server prints one line ``txhbase.server listening on HOST:PORT ...``
    when ready; the port is read from it.
    """
    import re
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "txhbase.server", "--port", "0", "--host", "127.0.0.1",
           "--transport", transport, "--protocol", protocol]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    cmd += list(extra_args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"listening on [^:\s]+:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("embedded server did not start: " + "".join(seen))


@pytest.fixture(scope="session")
def embedded_subprocesses():
    procs = {}
    yield procs
    for proc, _port in procs.values():
        proc.terminate()
        try:
            proc.wait(10)
        except Exception:
            proc.kill()


@pytest.fixture(scope="session")
def sync_gateway(request, embedded_subprocesses) -> SyncGateway:
    backend, transport, protocol = request.param
    if backend == "embedded":
        key = (transport, protocol)
        if key not in embedded_subprocesses:
            embedded_subprocesses[key] = start_embedded_subprocess(transport, protocol)
        return SyncGateway("embedded", "127.0.0.1", embedded_subprocesses[key][1], transport, protocol)
    cluster = request.getfixturevalue("real_hbase")
    host, port = cluster.address(transport, protocol)
    return SyncGateway("hbase", host, port, transport, protocol)


@pytest.fixture(scope="session")
def kerberos(request):
    """A KDC and Kerberized socket gateways in front of the real HBase (tests/realhbase/kerberos.py).

    Needs the real backend and MIT's GSSAPI library (libgssapi_krb5.so.2);
    skipped otherwise (failed under TXHBASE_REQUIRE_HBASE=1 when the library
    is missing). Sets the client's Kerberos environment
    (KRB5_CONFIG, KRB5_CLIENT_KTNAME, KRB5CCNAME) for the session.
    ``kerberos.gateway(qop)`` starts one gateway per qop on first use.
    """
    if "hbase" not in selected_backends(request.config):
        pytest.skip("Kerberos tests need the real HBase backend (--backend hbase|all)")
    if request.config.getoption("--hbase-host"):
        pytest.skip("Kerberos tests start their own gateways: not with --hbase-host")
    try:
        from txhbase._gss import require_gssapi
        require_gssapi()
    except ImportError as e:
        if os.environ.get("TXHBASE_REQUIRE_HBASE", "") not in ("", "0"):
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))
    from tests.realhbase import harness
    from tests.realhbase.kerberos import KerberosSetup

    cluster = request.getfixturevalue("real_hbase")
    setup = KerberosSetup(cluster)
    try:
        setup.start()
    except (harness.HarnessError, OSError) as e:
        setup.stop()
        harness._skip_or_fail(str(e))
    yield setup
    setup.stop()
