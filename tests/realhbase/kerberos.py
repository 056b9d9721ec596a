"""A loopback KDC and Kerberized Thrift1 gateways for the Kerberos tests.

* ``Kdc`` runs ``Kdc.java`` (Kerby's SimpleKdcServer, from the same Maven
  classpath as HBase) on a free loopback port, with a service principal
  ``hbase/localhost`` for the gateways and client principals, one keytab each,
  and the ``krb5.conf`` it writes (MIT libkrb5 reads it).
* ``KerberizedGateway`` runs a socket ThriftServer (``-threadpool``, buffered:
  HBase's SASL server refuses framed) with SASL GSSAPI at one qop, in front of
  the cluster the harness (``harness.py``) started: its own conf dir (the
  cluster's ``hbase-site.xml`` plus the Kerberos settings, and a
  ``core-site.xml`` with ``hadoop.security.authentication=kerberos``, which
  hbase-site alone does not satisfy). It is ready when a real SASL handshake
  and ``getTableNames()`` succeed.

The gateway alone is Kerberized; the cluster stays insecure
(``hbase.ipc.client.fallback-to-simple-auth-allowed``).

An HTTP-mode gateway (``qop=None``) authenticates each request with SPNEGO
(principal ``HTTP/localhost``); with ``tls`` (the CA and keystore of
``tls.py``) it serves HTTPS: SPNEGO + TLS, what a secured cluster runs.

``python -m tests.realhbase.kerberos [auth auth-int auth-conf http https]``
starts cluster, KDC and those gateways (default: all), prints the realm, the
krb5.conf, the client keytab and the gateways, and stops on Ctrl-C
(``python -m tests.realhbase.harness --kerberos``: ``auth-conf https``).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from typing import Any, Optional

from tests.realhbase import harness
from tests.realhbase.harness import (
    JDK17_FLAGS,
    PIDFILE_ENV,
    HarnessError,
    _site_xml,
    _tail,
    free_port,
    resolve_classpath,
)
from tests.realhbase.tls import TlsFiles, make_tls

HERE = os.path.dirname(os.path.abspath(__file__))
KDC_JAVA = os.path.join(HERE, "Kdc.java")

REALM = "TXHBASE.TEST"
SERVICE_PRINCIPAL = "hbase/localhost"
#: the SPNEGO principal of HTTP-mode gateways
HTTP_PRINCIPAL = "HTTP/localhost"
CLIENT_PRINCIPAL = "client"
#: a second client, for "wrong principal" cases
OTHER_PRINCIPAL = "other"
QOPS = ("auth", "auth-int", "auth-conf")
#: gateway names: a qop (socket, SASL), or HTTP mode with SPNEGO without / with TLS
KINDS = (*QOPS, "http", "https")


def _spawn(cmd: list[str], out: str, cwd: str) -> subprocess.Popen:
    with open(out, "wb") as outf:
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=outf,
                                 stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    pidfile = os.environ.get(PIDFILE_ENV)
    if pidfile:  # .ci/run kills these process groups if pytest itself dies
        with open(pidfile, "a") as f:
            f.write(f"{popen.pid}\n")
    return popen


def _stop(popen: Optional[subprocess.Popen], timeout: float = 10.0) -> None:
    if popen is None or popen.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            popen.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Kdc:
    """Kerby's SimpleKdcServer on 127.0.0.1 with keytabs for each principal."""

    def __init__(self, realm: str = REALM,
                 principals: tuple[str, ...] = (SERVICE_PRINCIPAL, HTTP_PRINCIPAL,
                                                CLIENT_PRINCIPAL, OTHER_PRINCIPAL)) -> None:
        self.realm = realm
        self.principals = principals
        self.dir = ""
        self.port = 0
        self.popen: Optional[subprocess.Popen] = None
        self.startup_seconds = 0.0

    @property
    def krb5_conf(self) -> str:
        return os.path.join(self.dir, "krb5.conf")

    def keytab(self, principal: str) -> str:
        """The keytab file holding ``principal`` (without realm) only."""
        return os.path.join(self.dir, principal.replace("/", "_") + ".keytab")

    def principal(self, name: str) -> str:
        return f"{name}@{self.realm}"

    def client_env(self, principal: str = CLIENT_PRINCIPAL) -> dict[str, str]:
        """The environment a client needs: krb5.conf, a client keytab, a private ticket cache."""
        return {"KRB5_CONFIG": self.krb5_conf,
                "KRB5_CLIENT_KTNAME": self.keytab(principal),
                "KRB5CCNAME": "FILE:" + os.path.join(self.dir, f"ccache-{principal}")}

    def start(self, jars: Optional[list[str]] = None, deadline: float = 90.0) -> "Kdc":
        java = shutil.which("java")
        if not java:
            raise HarnessError("java is not on PATH")
        jars = jars or resolve_classpath()
        self.dir = tempfile.mkdtemp(prefix="txhbase-kdc-")
        self.port = free_port()
        out = os.path.join(self.dir, "kdc.out")
        started = time.monotonic()
        self.popen = _spawn([java, "-Xmx128m", "-cp", os.pathsep.join(jars), KDC_JAVA,
                             self.dir, self.realm, str(self.port), *self.principals],
                            out, self.dir)
        while True:
            with open(out, errors="replace") as f:
                if "KDC READY" in f.read():
                    break
            if self.popen.poll() is not None or time.monotonic() - started > deadline:
                self.stop()
                raise HarnessError(f"the KDC did not start; read {out}\n" + _tail(out))
            time.sleep(0.2)
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        _stop(self.popen)
        self.popen = None

    def cleanup(self) -> None:
        """Stop, and remove the keytabs, krb5.conf and ticket caches."""
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _read_site(path: str) -> dict[str, str]:
    props = {}
    for prop in ET.parse(path).getroot().iter("property"):
        props[prop.findtext("name") or ""] = prop.findtext("value") or ""
    return props


class KerberizedGateway:
    """One Kerberized Thrift1 gateway in front of ``cluster``.

    ``qop`` set: socket mode, SASL GSSAPI at that qop. ``qop=None``: HTTP mode
    with SPNEGO (``Authorization: Negotiate``) on every request; HTTPS with
    ``tls`` (clients trust ``tls.ca_pem``).
    """

    def __init__(self, cluster: Any, kdc: Kdc, qop: Optional[str] = "auth-conf",
                 host: str = "localhost", tls: Optional[TlsFiles] = None) -> None:
        if qop is not None and qop not in QOPS:
            raise ValueError(f"qop must be None or one of {QOPS}, not {qop!r}")
        if qop is not None and tls is not None:
            raise ValueError("HBase serves TLS only in HTTP mode: tls needs qop=None")
        self.cluster = cluster
        self.kdc = kdc
        self.qop = qop
        self.tls = tls
        self.kind = qop or ("https" if tls else "http")
        self.host = host
        self.port = 0
        self.popen: Optional[subprocess.Popen] = None
        self.dir = ""
        self.startup_seconds = 0.0

    @property
    def log(self) -> str:
        return os.path.join(self.dir, "thrift.log")

    def _write_conf(self) -> str:
        conf = os.path.join(self.dir, "conf")
        os.makedirs(conf, exist_ok=True)
        cluster_conf = os.path.join(self.cluster.tmp, "conf")
        props = _read_site(os.path.join(cluster_conf, "hbase-site.xml"))
        props.update({
            "hbase.security.authentication": "kerberos",
            "hbase.thrift.kerberos.principal": self.kdc.principal(SERVICE_PRINCIPAL),
            "hbase.thrift.keytab.file": self.kdc.keytab(SERVICE_PRINCIPAL),
            "hbase.ipc.client.fallback-to-simple-auth-allowed": "true",
            # The gateway's own HBase client now speaks Kerberos first and needs
            # the cluster's principals (else a NullPointerException in
            # RpcConnection.getServerPrincipals); the insecure cluster then
            # tells it to fall back to simple authentication.
            "hbase.master.kerberos.principal": self.kdc.principal(SERVICE_PRINCIPAL),
            "hbase.regionserver.kerberos.principal": self.kdc.principal(SERVICE_PRINCIPAL),
        })
        if self.qop is not None:
            props["hbase.thrift.security.qop"] = self.qop
        else:
            props.update({
                "hbase.regionserver.thrift.http": "true",
                "hbase.thrift.spnego.principal": self.kdc.principal(HTTP_PRINCIPAL),
                "hbase.thrift.spnego.keytab.file": self.kdc.keytab(HTTP_PRINCIPAL),
            })
            if self.tls is not None:
                props.update(self.tls.gateway_settings())
        with open(os.path.join(conf, "hbase-site.xml"), "w") as f:
            f.write(_site_xml(props))
        with open(os.path.join(conf, "core-site.xml"), "w") as f:
            f.write(_site_xml({"hadoop.security.authentication": "kerberos"}))
        shutil.copy(os.path.join(cluster_conf, "log4j2.properties"), conf)
        return conf

    def start(self, jars: Optional[list[str]] = None, deadline: float = 120.0,
              port: Optional[int] = None) -> "KerberizedGateway":
        """Start (or restart on the same port); return once an authenticated call answers."""
        java = shutil.which("java")
        if not java:
            raise HarnessError("java is not on PATH")
        jars = jars or resolve_classpath()
        if not self.dir:
            self.dir = tempfile.mkdtemp(prefix=f"txhbase-krbgw-{self.kind}-")
        conf = self._write_conf()
        self.port = port or self.port or free_port()
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        started = time.monotonic()
        cmd = [java, "-Xmx384m", *JDK17_FLAGS,
               f"-Djava.security.krb5.conf={self.kdc.krb5_conf}",
               f"-Djava.io.tmpdir={tmp}",
               f"-Dlog4j2.configurationFile={os.path.join(conf, 'log4j2.properties')}",
               f"-Dtxhbase.log.file={self.log}",
               "-cp", os.pathsep.join([conf] + jars),
               "org.apache.hadoop.hbase.thrift.ThriftServer", "-b", "127.0.0.1",
               "-p", str(self.port), "--infoport", "-1",
               *(["-threadpool"] if self.qop is not None else []), "start"]
        out = os.path.join(self.dir, "thrift.out")
        self.popen = _spawn(cmd, out, self.dir)
        last = ""
        while True:
            if self.popen.poll() is not None:
                raise HarnessError(f"the Kerberized gateway exited with code "
                                   f"{self.popen.returncode}; read {self.log} and {out}\n"
                                   + _tail(self.log) + _tail(out))
            try:
                if self.qop is None:
                    spnego_post(self.host, self.port, ca=self.tls and self.tls.ca_pem)
                else:
                    sasl_ping(self.host, self.port, self.qop)
                break
            except (OSError, RuntimeError) as e:
                last = f"{type(e).__name__}: {e}"
            if time.monotonic() - started > deadline:
                self.stop()
                raise HarnessError(f"the Kerberized gateway did not answer in {deadline:.0f} s "
                                   f"(last error: {last}); read {self.log}\n" + _tail(self.log))
            time.sleep(0.5)
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        _stop(self.popen)
        self.popen = None

    def cleanup(self) -> None:
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def sasl_ping(host: str, port: int, qop: str, timeout: float = 5.0) -> list:
    """A blocking SASL handshake and ``getTableNames()`` (the readiness check).

    Uses txhbase's own mechanism (``GSSAPIMechanism``) and the ambient
    Kerberos environment. Raises OSError (not reachable yet) or RuntimeError.
    """
    from thriftpy2.protocol.binary import TBinaryProtocol
    from thriftpy2.transport.memory import TMemoryBuffer

    from tests.protocol.wire import call_bytes
    from txhbase._gss import kerberos_context
    from txhbase.protocol.idl import hbase
    from txhbase.protocol.sasl import COMPLETE, OK, START, GSSAPIMechanism, sasl_message

    mech = GSSAPIMechanism(kerberos_context("hbase", host), qop)
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")

        def read_exact(n: int) -> bytes:
            data = f.read(n)
            if len(data) != n:
                raise RuntimeError("the gateway closed the connection")
            return data

        s.sendall(sasl_message(START, b"GSSAPI") + sasl_message(OK, mech.initial()))
        while True:
            status = read_exact(1)[0]
            payload = read_exact(int.from_bytes(read_exact(4), "big"))
            if status == COMPLETE and mech.complete:
                break
            if status != OK:
                raise RuntimeError(f"SASL status {status}: {payload[:200]!r}")
            token = mech.respond(payload)
            s.sendall(sasl_message(COMPLETE if mech.complete else OK, token))
        out = mech.wrap(call_bytes("getTableNames", 1, (), "buffered", "binary"))
        s.sendall(len(out).to_bytes(4, "big") + out)
        reply = mech.unwrap(read_exact(int.from_bytes(read_exact(4), "big")))
    proto = TBinaryProtocol(TMemoryBuffer(reply))
    proto.read_message_begin()
    result = hbase.Hbase.getTableNames_result()
    proto.read_struct(result)
    return list(result.success or [])


class KerberosSetup:
    """The KDC, the client environment and a Kerberized gateway per qop, started on
    demand; only the one last asked for keeps running."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.kdc = Kdc()
        self.gateways: dict[str, KerberizedGateway] = {}
        self._saved_env: dict[str, Optional[str]] = {}

    def start(self) -> "KerberosSetup":
        self.kdc.start()
        env = self.kdc.client_env()
        self._saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        return self

    def tls(self) -> TlsFiles:
        """The CA and keystore for HTTPS: the cluster's, else one made for the KDC."""
        tls = getattr(self.cluster, "tls", None)
        if tls is None:
            tls = self.cluster.tls = make_tls(os.path.join(self.kdc.dir, "tls"))
        return tls

    def gateway(self, qop: Optional[str] = "auth-conf") -> KerberizedGateway:
        """The running gateway at ``qop`` (None or ``'http'``: HTTP mode with SPNEGO,
        ``'https'``: the same over TLS), started on first use."""
        key = qop or "http"
        if key not in KINDS:
            raise ValueError(f"no Kerberized gateway {key!r}; have {KINDS}")
        for other, running in self.gateways.items():
            if other != key:  # one gateway JVM at a time: the box has 2 cores and a cluster
                running.stop()
        gw = self.gateways.get(key)
        if gw is None:
            gw = self.gateways[key] = KerberizedGateway(
                self.cluster, self.kdc, key if key in QOPS else None,
                tls=self.tls() if key == "https" else None)
        if gw.popen is None or gw.popen.poll() is not None:
            gw.start()
        return gw

    def stop(self) -> None:
        for gw in self.gateways.values():
            gw.cleanup()
        self.gateways = {}
        self.kdc.cleanup()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = {}


def spnego_post(host: str, port: int, token: Optional[bytes] = None,
                timeout: float = 5.0, ca: Optional[str] = None) -> tuple[int, dict[str, str], list]:
    """POST ``getTableNames()`` to an HTTP-mode gateway with ``Authorization: Negotiate``.

    ``token``: the SPNEGO token to send (None: a fresh one; ``b''``: no
    header). ``ca``: HTTPS, trusting that PEM file. Returns (status, headers, table names or []). Raises RuntimeError
    for a non-200 answer when ``token`` is None (the readiness check), OSError
    when not reachable.
    """
    import base64
    import http.client

    from thriftpy2.protocol.binary import TBinaryProtocol
    from thriftpy2.transport.memory import TMemoryBuffer

    from tests.protocol.wire import call_bytes
    from txhbase._gss import spnego_token
    from txhbase.protocol.idl import hbase

    fresh = token is None
    if token is None:
        token = spnego_token("HTTP", host)
    headers = {"Content-Type": "application/x-thrift"}
    if token:
        headers["Authorization"] = "Negotiate " + base64.b64encode(token).decode()
    conn: http.client.HTTPConnection
    if ca is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        import ssl

        conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=ssl.create_default_context(cafile=ca))
    try:
        conn.request("POST", "/", call_bytes("getTableNames", 1, (), "buffered", "binary"),
                     headers)
        resp = conn.getresponse()
        body = resp.read()
        got = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    if resp.status != 200:
        if fresh:
            raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
        return resp.status, got, []
    proto = TBinaryProtocol(TMemoryBuffer(body))
    proto.read_message_begin()
    result = hbase.Hbase.getTableNames_result()
    proto.read_struct(result)
    return resp.status, got, list(result.success or [])


def main(argv: Optional[list[str]] = None, cluster: Optional[Any] = None) -> int:
    """Start cluster, KDC and one Kerberized gateway per kind given (default: all)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(KINDS)
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        print(f"unknown gateway {unknown[0]!r}; choose from {' '.join(KINDS)}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    jars = resolve_classpath()
    cluster = cluster or harness.Cluster()
    kdc = Kdc()
    gateways: list[KerberizedGateway] = []
    try:
        cluster.start(classpath=jars)
        kdc.start(jars)
        os.environ.update(kdc.client_env())
        for name in names:
            tls = None
            if name == "https":
                tls = cluster.tls or make_tls(os.path.join(kdc.dir, "tls"))
            gateways.append(KerberizedGateway(cluster, kdc, name if name in QOPS else None,
                                              tls=tls).start(jars))
        print(f"realm {kdc.realm}, KDC 127.0.0.1:{kdc.port} "
              f"(up in {kdc.startup_seconds:.1f} s)")
        for k, v in kdc.client_env().items():
            print(f"  export {k}={v}")
        for (transport, protocol), port in cluster.ports.items():
            print(f"  plain {transport}/{protocol}: {cluster.host}:{port}")
        print(f"  krb5.conf: {kdc.krb5_conf}")
        print(f"  client keytab: {kdc.keytab(CLIENT_PRINCIPAL)} "
              f"(principal {kdc.principal(CLIENT_PRINCIPAL)})")
        for gw in gateways:
            if gw.qop:
                what = f"SASL qop={gw.qop}: {gw.host}:{gw.port}"
            else:
                what = (f"SPNEGO {gw.kind}://{gw.host}:{gw.port}/"
                        + (f" (CA {gw.tls.ca_pem})" if gw.tls else ""))
            print(f"  {what} (up in {gw.startup_seconds:.1f} s)")
        print("Ctrl-C to stop", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    except HarnessError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        for gw in gateways:
            gw.cleanup()
        kdc.cleanup()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
