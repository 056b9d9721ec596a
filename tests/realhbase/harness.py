"""Run a real, loopback-only HBase cluster with its Thrift1 gateways for the tests.

What it does, and why:

* resolves the Java classpath of ``pom.xml`` beside this file with Maven (the
  jars are cached in ``~/.m2``; the classpath string is cached in a file keyed
  by the pom's hash, so later runs start without calling Maven at all);
* writes ``hbase-site.xml`` and a log4j2 config into a temp directory (free
  loopback ports, info servers off, local filesystem);
* starts ``HMaster start``: master, ZooKeeper and, by default, TWO region
  servers in one JVM (HBase's LocalHBaseCluster, ``hbase.regionservers``), so
  tables can have regions on different servers;
* starts the gateways, each a ``ThriftServer`` JVM with a conf dir of its own
  (ThriftServer ignores ``-D``), all through :meth:`Cluster.start_gateway`:
  ``-threadpool`` (buffered/binary), ``-hsha -c`` (framed/compact), an HTTP
  gateway and an HTTPS one (CA and keystore made with ``keytool``, see
  tls.py; ``hbase.thrift.support.proxyuser=true``);
* waits until ``getTableNames()`` answers on every gateway (the port opens
  long before HBase can serve; the master finishes starting only once every
  region server has reported), with a deadline and an error naming the log
  file to read;
* does what Thrift1 cannot through ``ClusterAdmin.java`` (HBase's Java Admin,
  compiled once and run on the same classpath): pre-split tables with regions
  on both region servers, move and split regions, list region servers;
* stops every JVM by process group, and keeps the logs when something failed.

Used by ``tests/conftest.py`` through :func:`session_cluster`, and standalone:
``python -m tests.realhbase.harness`` starts a cluster and prints its
gateways until Ctrl-C.
"""
# thriftpy2 has no type annotations
# mypy: disallow-untyped-calls=False
from __future__ import annotations

import atexit
import getpass
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union
from xml.sax.saxutils import escape

from tests.realhbase.admin import (ADMIN_SOURCE, AdminError, AdminSession, RegionLocation,
                                   compile_admin, parse_regions)
from tests.realhbase.thrift_http import http_call
from tests.realhbase.tls import TlsFiles, make_tls

HERE = os.path.dirname(os.path.abspath(__file__))
POM = os.path.join(HERE, "pom.xml")

#: The wire combinations the harness starts, and the ThriftServer flags for each.
GATEWAY_FLAGS: dict[tuple[str, str], list[str]] = {
    ("buffered", "binary"): ["-threadpool"],
    ("framed", "compact"): ["-hsha", "-c"],
}

#: bin/hbase adds these for JDK >= 11 (HBase 2.6 runs on JDK 17 with them).
JDK17_FLAGS = [
    "-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true",
    "--add-modules", "jdk.unsupported",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-exports", "java.base/sun.net.dns=ALL-UNNAMED",
    "--add-exports", "java.base/sun.net.util=ALL-UNNAMED",
    "-XX:+UseG1GC",
    "-Djava.net.preferIPv4Stack=true",
]

REQUIRE_ENV = "TXHBASE_REQUIRE_HBASE"
#: region servers of the session's cluster (default 2)
REGIONSERVERS_ENV = "TXHBASE_HBASE_REGIONSERVERS"
PIDFILE_ENV = "TXHBASE_HBASE_PIDFILE"

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:txhbase.log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
logger.hadoop.name = org.apache.hadoop.hbase.shaded
logger.hadoop.level = WARN
"""


class HarnessError(RuntimeError):
    """Real HBase could not be resolved or started; the message says where to look."""


# --------------------------------------------------------------------------
# classpath


def cache_dir() -> str:
    """Where resolved classpaths are cached (``$TXHBASE_CACHE_DIR`` or ~/.cache)."""
    base = os.environ.get("TXHBASE_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "txhbase")
    os.makedirs(base, exist_ok=True)
    return base


def pom_hash() -> str:
    with open(POM, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def _classpath_cache_file() -> str:
    return os.path.join(cache_dir(), f"realhbase-cp-{pom_hash()}.txt")


def _read_cached_classpath() -> Optional[list[str]]:
    path = _classpath_cache_file()
    try:
        with open(path) as f:
            jars = [j for j in f.read().strip().split(os.pathsep) if j]
    except OSError:
        return None
    if jars and all(os.path.exists(j) for j in jars):
        return jars
    return None


def resolve_classpath(timeout: float = 1800.0) -> list[str]:
    """Return the jars of pom.xml's runtime classpath, resolving with Maven if needed.

    The first resolve downloads roughly 130 MB into ~/.m2; the result is cached
    in a file keyed by the pom's hash so later calls cost nothing.
    """
    cached = _read_cached_classpath()
    if cached:
        return cached
    mvn = shutil.which("mvn")
    if not mvn:
        raise HarnessError("mvn is not on PATH: cannot resolve the HBase classpath")
    out = _classpath_cache_file()
    tmp = f"{out}.{os.getpid()}.tmp"
    cmd = [mvn, "-B", "-q", "-f", POM, "dependency:build-classpath",
           f"-Dmdep.outputFile={tmp}", "-DincludeScope=runtime"]
    try:
        proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"Maven classpath resolve took longer than {timeout:.0f} s") from e
    if proc.returncode != 0 or not os.path.exists(tmp):
        raise HarnessError("Maven could not resolve tests/realhbase/pom.xml:\n"
                           + (proc.stdout + proc.stderr)[-4000:])
    os.replace(tmp, out)
    jars = _read_cached_classpath()
    if not jars:
        raise HarnessError(f"Maven wrote an empty or stale classpath to {out}")
    return jars


def _pom_hbase_version() -> str:
    with open(POM) as f:
        m = re.search(r"<hbase\.version>([^<]+)</hbase\.version>", f.read())
    if not m:
        raise HarnessError("pom.xml has no <hbase.version> property")
    return m.group(1)


def find_hbase_thrift_jar() -> Optional[str]:
    """Path of the resolved ``hbase-thrift`` jar, or None when it is not on this machine.

    Never calls Maven: looks in the cached classpath, then in ~/.m2 for the
    version pom.xml names.
    """
    for jar in _read_cached_classpath() or []:
        if re.fullmatch(r"hbase-thrift-[\d.]+(-hadoop3)?\.jar", os.path.basename(jar)):
            return jar
    version = _pom_hbase_version()
    path = os.path.join(os.path.expanduser("~"), ".m2", "repository", "org", "apache", "hbase",
                        "hbase-thrift", version, f"hbase-thrift-{version}.jar")
    return path if os.path.exists(path) else None


def hbase_version(jars: Optional[list[str]] = None) -> str:
    """The HBase version of the resolved jars (e.g. ``2.6.1``)."""
    for jar in jars or _read_cached_classpath() or []:
        m = re.fullmatch(r"hbase-thrift-([\d.]+(?:-hadoop3)?)\.jar", os.path.basename(jar))
        if m:
            return m.group(1)
    return _pom_hbase_version()


# --------------------------------------------------------------------------
# configuration files


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _hostname_resolves() -> bool:
    try:
        socket.gethostbyname(socket.gethostname())
        return True
    except OSError:
        return False


def hbase_site(tmp: str, zk_port: int, regionservers: int = 1) -> dict[str, str]:
    """The properties of a standalone, loopback-only HBase rooted in ``tmp``.

    ``regionservers`` > 1 runs that many region servers in the master's JVM
    (HBase's LocalHBaseCluster, on random ports); the master finishes its
    start-up only once all of them have reported, so a gateway answering
    ``getTableNames()`` means every region server is up.
    """
    props = {
        "hbase.cluster.distributed": "false",
        "hbase.tmp.dir": os.path.join(tmp, "tmp"),
        "hbase.rootdir": "file://" + os.path.join(tmp, "hbase"),
        "hbase.zookeeper.property.dataDir": os.path.join(tmp, "zk"),
        "hbase.unsafe.stream.capability.enforce": "false",
        "hbase.zookeeper.quorum": "127.0.0.1",
        "hbase.zookeeper.property.clientPort": str(zk_port),
        "hbase.master.info.port": "-1",
        "hbase.regionserver.info.port": "-1",
        "hbase.thrift.info.port": "-1",
        "hbase.localcluster.assign.random.ports": "true",
        "hbase.master.ipc.address": "127.0.0.1",
        "hbase.regionserver.ipc.address": "127.0.0.1",
        "hbase.regionservers": str(regionservers),
        "hbase.master.wait.on.regionservers.mintostart": str(regionservers),
        # Keep a 2-core machine shared with other work responsive.
        "hbase.regionserver.handler.count": "10",
        "hbase.master.handler.count": "10",
        "hbase.thrift.minWorkerThreads": "4",
    }
    if not _hostname_resolves():
        props["hbase.master.hostname"] = "localhost"
        props["hbase.unsafe.regionserver.hostname"] = "localhost"
    return props


def _site_xml(props: dict[str, str]) -> str:
    body = "".join(
        f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
        for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


# --------------------------------------------------------------------------
# talking to the gateways without the client under test


def sync_client(host: str, port: int, transport: str = "buffered", protocol: str = "binary",
                timeout_ms: int = 30000) -> Any:
    """thriftpy2's blocking ``Hbase`` client for one socket wire combination (close() it)."""
    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.rpc import make_client
    from thriftpy2.transport import TBufferedTransportFactory, TFramedTransportFactory

    from txhbase.protocol.idl import hbase

    if (transport, protocol) not in GATEWAY_FLAGS:
        raise ValueError(f"unknown wire transport={transport!r} protocol={protocol!r}")
    compact = protocol == "compact"
    framed = transport == "framed"
    return make_client(
        hbase.Hbase, host, port,
        proto_factory=TCompactProtocolFactory() if compact else TBinaryProtocolFactory(),
        trans_factory=TFramedTransportFactory() if framed else TBufferedTransportFactory(),
        timeout=timeout_ms)


def _ping(host: str, port: int, transport: str, protocol: str,
          timeout_ms: int = 5000) -> list[bytes]:
    """Call getTableNames() once with thriftpy2's blocking client."""
    client = sync_client(host, port, transport, protocol, timeout_ms)
    try:
        names: list[bytes] = client.getTableNames()
        return names
    finally:
        client.close()


# --------------------------------------------------------------------------
# the cluster


@dataclass
class GatewayInfo:
    """One Thrift1 gateway the harness runs: what a test needs to reach it.

    ``kind`` is ``socket`` (``transport`` buffered or framed, ``protocol``
    binary or compact), ``http`` or ``https`` (binary protocol, POST to
    ``path``; HTTPS trusts ``ca_file``). ``settings`` are the properties this
    gateway got on top of the cluster's hbase-site.xml.
    """

    name: str
    kind: str
    host: str
    port: int
    transport: str
    protocol: str = "binary"
    path: str = "/"
    ca_file: Optional[str] = None
    settings: dict[str, str] = field(default_factory=dict)
    conf_dir: str = ""
    log: str = ""

    @property
    def url(self) -> str:
        scheme = "https" if self.kind == "https" else "http"
        if self.kind == "socket":
            return f"thrift://{self.host}:{self.port}"
        return f"{scheme}://{'localhost' if self.kind == 'https' else self.host}:{self.port}{self.path}"


def compile_cluster_admin(jars: list[str]) -> Optional[str]:
    """ClusterAdmin.java compiled once per machine and pom (see admin.compile_admin)."""
    try:
        return compile_admin(jars, cache_dir(), pom_hash())
    except AdminError as e:
        raise HarnessError(str(e)) from e


@dataclass
class _Proc:
    name: str
    popen: "subprocess.Popen[bytes]"
    log: str  # the log4j file
    out: str  # stdout/stderr of the JVM


def _record_pid(pid: int) -> None:
    pidfile = os.environ.get(PIDFILE_ENV)
    if pidfile:  # .ci/run kills these process groups if pytest itself dies
        with open(pidfile, "a") as f:
            f.write(f"{pid}\n")


#: Gateway kinds start_gateway() knows, and their wire transport names.
GATEWAY_KINDS = ("socket", "http", "https")


@dataclass
class Cluster:
    """A standalone HBase (``regionservers`` region servers in the master's JVM)
    and its Thrift1 gateways, all on 127.0.0.1.

    ``start()`` runs one socket gateway per wire of ``GATEWAY_FLAGS`` and, with
    ``http_gateways``, an HTTP gateway (``http``) and an HTTPS one (``https``,
    a CA of its own, ``hbase.thrift.support.proxyuser=true``). More gateways
    (e.g. Kerberized ones) come from ``start_gateway()`` with their own settings.
    """

    regionservers: int = 2
    http_gateways: bool = True
    master_heap: str = "-Xmx1024m"
    thrift_heap: str = "-Xmx320m"
    host: str = "127.0.0.1"
    tmp: Optional[str] = None
    gateways: dict[str, GatewayInfo] = field(default_factory=dict)
    procs: list[_Proc] = field(default_factory=list)
    version: str = ""
    startup_seconds: float = 0.0
    stopped: bool = False
    tls: Optional[TlsFiles] = None
    site: dict[str, str] = field(default_factory=dict)
    jars: list[str] = field(default_factory=list)
    java: str = "java"
    _probes: dict[str, Callable[[GatewayInfo], Any]] = field(default_factory=dict, repr=False)
    _admin_cp: Optional[str] = field(default=None, repr=False)
    _admin_session: Optional[AdminSession] = field(default=None, repr=False)
    _admin_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def logs_dir(self) -> str:
        assert self.tmp
        return os.path.join(self.tmp, "logs")

    @property
    def conf_dir(self) -> str:
        assert self.tmp
        return os.path.join(self.tmp, "conf")

    @property
    def ports(self) -> dict[tuple[str, str], int]:
        """Port of every gateway by (transport, protocol)."""
        return {(g.transport, g.protocol): g.port for g in self.gateways.values()}

    def address(self, transport: str, protocol: str) -> tuple[str, int]:
        """(host, port) of the gateway speaking that wire combination
        (``http``/``https`` with ``binary`` for the HTTP gateways)."""
        for g in self.gateways.values():
            if (g.transport, g.protocol) == (transport, protocol):
                return g.host, g.port
        raise ValueError(f"no gateway for transport={transport!r} protocol={protocol!r}")

    def gateway(self, name: str) -> GatewayInfo:
        """The gateway started under ``name`` (``buffered-binary``, ``framed-compact``,
        ``http``, ``https``, or a name given to ``start_gateway``)."""
        try:
            return self.gateways[name]
        except KeyError:
            raise ValueError(f"no gateway named {name!r}; have {sorted(self.gateways)}") from None

    # -- start ---------------------------------------------------------

    def start(self, deadline: float = 300.0, classpath: Optional[list[str]] = None) -> "Cluster":
        """Start master and gateways; return once every gateway answers getTableNames()."""
        java = shutil.which("java")
        if not java:
            raise HarnessError("java is not on PATH")
        self.java = java
        self.jars = classpath or resolve_classpath()
        self.version = hbase_version(self.jars)
        self.tmp = tempfile.mkdtemp(prefix="txhbase-realhbase-")
        os.makedirs(self.conf_dir)
        os.makedirs(self.logs_dir)
        os.makedirs(os.path.join(self.tmp, "tmp"))
        self.site = hbase_site(self.tmp, free_port(), self.regionservers)
        self._write_conf(self.conf_dir, self.site)
        started = time.monotonic()
        tls_box: dict[str, Any] = {}
        tls_thread = None
        try:
            if self.http_gateways:  # six keytool JVMs: overlap them with HBase's boot
                tls_thread = threading.Thread(target=self._make_tls, args=(tls_box,), daemon=True)
                tls_thread.start()
            self._spawn("master", self.master_heap, self.conf_dir,
                        ["org.apache.hadoop.hbase.master.HMaster", "start"])
            for (transport, protocol), flags in GATEWAY_FLAGS.items():
                self.start_gateway("socket", name=f"{transport}-{protocol}", transport=transport,
                                   protocol=protocol, flags=flags, wait=False)
            if self.http_gateways:
                self.start_gateway("http", wait=False)
                assert tls_thread is not None
                tls_thread.join()
                if "error" in tls_box:
                    raise HarnessError(f"could not make the HTTPS keystore: {tls_box['error']}")
                self.start_gateway("https", settings={
                    "hbase.thrift.support.proxyuser": "true",
                    # the gateway's OS user may impersonate anyone (doAs)
                    f"hadoop.proxyuser.{getpass.getuser()}.hosts": "*",
                    f"hadoop.proxyuser.{getpass.getuser()}.groups": "*",
                }, wait=False)
            self.wait_ready(started + deadline)
        except BaseException:
            if tls_thread is not None:
                tls_thread.join()
            self.stop(keep_logs=True)
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _make_tls(self, box: dict[str, Any]) -> None:
        assert self.tmp
        try:
            self.tls = make_tls(os.path.join(self.tmp, "tls"))
        except Exception as e:  # reported by start()
            box["error"] = f"{type(e).__name__}: {e}"

    def start_gateway(self, kind: str, *, name: Optional[str] = None,
                      transport: str = "buffered", protocol: str = "binary",
                      flags: Sequence[str] = (), settings: Optional[dict[str, str]] = None,
                      files: Optional[dict[str, str]] = None, jvm_flags: Sequence[str] = (),
                      path: str = "/", probe: Optional[Callable[[GatewayInfo], Any]] = None,
                      wait: bool = True, deadline: float = 120.0) -> GatewayInfo:
        """Start one more Thrift1 gateway against this cluster's HBase.

        ``kind``: ``socket`` (``transport``/``protocol`` and ThriftServer
        ``flags`` such as ``-hsha -c``), ``http`` or ``https`` (HTTP mode;
        ``https`` serves the cluster's TLS keystore). Each gateway gets a conf
        dir of its own, first on its classpath, holding hbase-site.xml with
        ``settings`` on top of the cluster's (ThriftServer ignores ``-D``), and
        any other ``files`` (name -> text, e.g. a ``core-site.xml``);
        ``jvm_flags`` go to its JVM (e.g. ``-Djava.security.krb5.conf=...``).
        ``probe(gateway)`` must succeed once it serves (default: one
        ``getTableNames()`` over its wire); with ``wait`` this returns only
        then. Kerberized gateways are this plus settings, files and a probe.
        """
        if kind not in GATEWAY_KINDS:
            raise ValueError(f"kind must be one of {GATEWAY_KINDS}, not {kind!r}")
        if not self.tmp or self.stopped:
            raise HarnessError("start the cluster before its gateways")
        name = name or (kind if kind != "socket" else f"{transport}-{protocol}")
        if name in self.gateways:
            raise ValueError(f"a gateway named {name!r} already runs")
        port = free_port()
        props = dict(self.site)
        props["hbase.regionserver.thrift.ipaddress"] = self.host
        props["hbase.regionserver.thrift.port"] = str(port)
        ca = None
        if kind in ("http", "https"):
            transport, protocol = kind, "binary"
            props["hbase.regionserver.thrift.http"] = "true"
            props["hbase.thrift.http_threads.max"] = "20"
        if kind == "https":
            if self.tls is None:
                try:
                    self.tls = make_tls(os.path.join(self.tmp, "tls"))
                except RuntimeError as e:
                    raise HarnessError(f"could not make the HTTPS keystore: {e}") from e
            props.update(self.tls.gateway_settings())
            ca = self.tls.ca_pem
        props.update(settings or {})
        conf = os.path.join(self.tmp, f"conf-{name}")
        os.makedirs(conf, exist_ok=True)
        self._write_conf(conf, props)
        for fname, text in (files or {}).items():
            with open(os.path.join(conf, fname), "w") as f:
                f.write(text)
        proc = self._spawn(f"thrift-{name}", self.thrift_heap, conf,
                           ["org.apache.hadoop.hbase.thrift.ThriftServer", "-b", self.host,
                            "-p", str(port), "--infoport", "-1", *flags, "start"],
                           jvm_flags)
        info = GatewayInfo(name, kind, self.host, port, transport, protocol, path, ca,
                           dict(settings or {}), conf, proc.log)
        self.gateways[name] = info
        if probe is not None:
            self._probes[name] = probe
        if wait:
            self.wait_ready(time.monotonic() + deadline, [name])
        return info

    def stop_gateway(self, name: str, timeout: float = 15.0) -> None:
        """Stop one gateway's JVM (SIGTERM, SIGKILL after ``timeout``) and forget
        it; its conf dir and log stay. ``start_gateway`` can start it again
        (same name; a new port) e.g. for restart tests."""
        g = self.gateway(name)
        proc = next(p for p in self.procs if p.log == g.log)
        _signal_group(proc.popen, signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.popen, signal.SIGKILL)
            proc.popen.wait(10)
        self.procs.remove(proc)
        del self.gateways[name]
        self._probes.pop(name, None)

    def _write_conf(self, conf: str, props: dict[str, str]) -> None:
        with open(os.path.join(conf, "hbase-site.xml"), "w") as f:
            f.write(_site_xml(props))
        with open(os.path.join(conf, "log4j2.properties"), "w") as f:
            f.write(LOG4J2_PROPERTIES)

    def _spawn(self, name: str, heap: str, conf: str, main: list[str],
               jvm_flags: Sequence[str] = ()) -> _Proc:
        assert self.tmp
        log = os.path.join(self.logs_dir, f"{name}.log")
        out = os.path.join(self.logs_dir, f"{name}.out")
        cmd = [self.java, heap, *JDK17_FLAGS, *jvm_flags,
               f"-Djava.io.tmpdir={os.path.join(self.tmp, 'tmp')}",
               f"-Dlog4j2.configurationFile={os.path.join(conf, 'log4j2.properties')}",
               f"-Dtxhbase.log.file={log}", "-Dhbase.log.dir=" + self.logs_dir,
               "-cp", os.pathsep.join([conf] + self.jars), *main]
        with open(out, "ab") as outf:  # a restarted gateway appends
            popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=outf,
                                     stderr=subprocess.STDOUT, cwd=self.tmp,
                                     start_new_session=True)
        proc = _Proc(name, popen, log, out)
        self.procs.append(proc)
        _record_pid(popen.pid)
        return proc

    def _probe(self, g: GatewayInfo) -> Any:
        if g.name in self._probes:
            return self._probes[g.name](g)
        if g.kind == "socket":
            return _ping(g.host, g.port, g.transport, g.protocol, timeout_ms=5000)
        return http_call(g, "getTableNames", timeout=5.0)

    def wait_ready(self, deadline_at: float, names: Optional[Sequence[str]] = None) -> None:
        """Poll each gateway (all, or ``names``) until its probe answers."""
        pending = {n: self.gateways[n] for n in (names or list(self.gateways))}
        last_error: dict[str, str] = {}
        while pending:
            for proc in self.procs:
                if proc.popen.poll() is not None:
                    raise HarnessError(
                        f"HBase {proc.name} JVM exited with code {proc.popen.returncode} "
                        f"during start-up; read {proc.log} and {proc.out}\n"
                        + _tail(proc.log) + _tail(proc.out))
            for name, g in list(pending.items()):
                try:
                    self._probe(g)
                except Exception as e:  # not ready yet: refused, reset, IOError, timeout
                    last_error[name] = f"{type(e).__name__}: {e}"[:300]
                else:
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > deadline_at:
                master = self.procs[0]
                raise HarnessError(
                    f"HBase gateways {sorted(pending)} did not answer getTableNames() in time "
                    f"(last errors: {last_error}); read {master.log} and the thrift-*.log files "
                    f"in {self.logs_dir}\n" + _tail(master.log))
            time.sleep(1.0)

    # -- regions (HBase's Java Admin, which Thrift1 lacks) -------------

    def admin_command(self, *args: str) -> list[str]:
        """The argv running ``ClusterAdmin.java ARGS`` against this cluster
        (for callers that run it themselves, e.g. without blocking a reactor)."""
        if not self.tmp or self.stopped:
            raise HarnessError("the cluster is not running")
        if self._admin_cp is None:
            classes = compile_cluster_admin(self.jars)
            self._admin_cp = classes or ""
        main = ["ClusterAdmin"] if self._admin_cp else [ADMIN_SOURCE]
        cp = [self.conf_dir] + ([self._admin_cp] if self._admin_cp else []) + self.jars
        return [self.java, "-Xmx256m", *JDK17_FLAGS,
                f"-Dlog4j2.configurationFile={os.path.join(self.conf_dir, 'log4j2.properties')}",
                f"-Dtxhbase.log.file={os.path.join(self.logs_dir, 'admin.log')}",
                "-cp", os.pathsep.join(cp), *main, *args]

    def admin(self, *args: str, timeout: float = 240.0) -> str:
        """Run one ClusterAdmin command (blocking; thread-safe) and return its output.

        Commands go to one long-lived ``ClusterAdmin serve`` JVM (a JVM and an
        HBase connection cost seconds each on 2 cores), started on first use.
        """
        if any(not a or a.split() != [a] for a in args):
            raise ValueError(f"ClusterAdmin arguments must be non-empty words: {args!r}")
        with self._admin_lock:
            session = self._admin_session
            if session is None or session.popen.poll() is not None:
                assert self.tmp
                session = self._admin_session = AdminSession(
                    self.admin_command("serve"), os.path.join(self.logs_dir, "admin.out"),
                    self.tmp)
                _record_pid(session.popen.pid)
            try:
                return session.run(args, timeout)
            except AdminError as e:
                raise HarnessError(str(e)) from e

    def region_servers(self) -> list[tuple[str, int]]:
        """(host, port) of each live region server, once ``regionservers`` are live."""
        out = self.admin("servers", str(self.regionservers))
        return [(p[0], int(p[1])) for p in (line.split("\t") for line in out.splitlines())
                if len(p) == 3]

    def create_table(self, name: Union[str, bytes], families: dict[str, int],
                     split_keys: Sequence[bytes] = ()) -> list[RegionLocation]:
        """Create ``name`` (family -> max versions) split at ``split_keys``, its
        regions on more than one region server (HBase assigns them
        round-robin; the balancer is then turned off so they stay)."""
        table = name.decode() if isinstance(name, bytes) else name
        fams = ",".join(f"{f}={v}" for f, v in families.items())
        return parse_regions(self.admin("create", table, fams, *(k.hex() for k in split_keys)))

    def regions(self, name: Union[str, bytes]) -> list[RegionLocation]:
        """The table's regions in key order, with their servers."""
        table = name.decode() if isinstance(name, bytes) else name
        return parse_regions(self.admin("regions", table))

    def move_region(self, name: Union[str, bytes], row: bytes) -> list[RegionLocation]:
        """Move the region holding ``row`` to another region server; wait until it is there."""
        table = name.decode() if isinstance(name, bytes) else name
        return parse_regions(self.admin("move", table, row.hex()))

    def split_region(self, name: Union[str, bytes], key: bytes) -> list[RegionLocation]:
        """Split the region holding ``key`` at ``key``; wait until the daughter serves."""
        table = name.decode() if isinstance(name, bytes) else name
        return parse_regions(self.admin("split", table, key.hex()))

    # -- stop ----------------------------------------------------------

    def stop(self, keep_logs: bool = False, timeout: float = 15.0) -> None:
        """Stop every JVM (SIGTERM to its process group, SIGKILL after ``timeout``).

        Data is always removed; the logs stay (and their path is printed) when
        ``keep_logs`` is true.
        """
        if self._admin_session is not None:
            self._admin_session.kill()
            self._admin_session = None
        for proc in reversed(self.procs):  # gateways first, then the master
            _signal_group(proc.popen, signal.SIGTERM)
        end = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.popen.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                try:
                    proc.popen.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []
        if not self.tmp or not os.path.isdir(self.tmp) or self.stopped:
            return
        self.stopped = True  # the atexit backstop then does nothing
        if keep_logs:
            for sub in ("hbase", "zk", "tmp"):
                shutil.rmtree(os.path.join(self.tmp, sub), ignore_errors=True)
            sys.stderr.write(f"\n[txhbase] real-HBase logs kept in {self.logs_dir}\n")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _signal_group(popen: "subprocess.Popen[bytes]", sig: int) -> None:
    if popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, sig)  # start_new_session: the group id is the JVM's pid
    except ProcessLookupError:
        pass


def _tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, errors="replace") as f:
            data = f.readlines()[-lines:]
    except OSError:
        return ""
    return f"--- last lines of {path} ---\n" + "".join(data)


# --------------------------------------------------------------------------
# pytest integration


@dataclass
class ExternalGateway:
    """A gateway someone else runs (``--hbase-host``): only its own wire is available."""

    host: str
    port: int
    transport: str
    protocol: str
    version: str = "external"

    def address(self, transport: str, protocol: str) -> tuple[str, int]:
        if (transport, protocol) != (self.transport, self.protocol):
            import pytest

            pytest.skip(f"--hbase-host gateway speaks {self.transport}/{self.protocol}, "
                        f"not {transport}/{protocol}")
        return self.host, self.port

    def gateway(self, name: str) -> GatewayInfo:
        """Other gateways (HTTP, HTTPS, ...) exist only on a harness-run cluster: skip."""
        import pytest

        pytest.skip(f"--hbase-host gives one gateway; {name!r} needs the harness's cluster")


class _FailureWatcher:
    """pytest plugin noting whether any test failed, so cluster logs are kept
    then, and saying in the summary which cluster ran and how long it took to start."""

    def __init__(self, cluster: "Cluster") -> None:
        self.failed = False
        self.cluster = cluster

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.failed = True

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        c = self.cluster
        if c.startup_seconds:
            terminalreporter.write_line(
                f"txhbase real HBase: {c.version}, {c.regionservers} region server(s), "
                f"gateways {', '.join(c.gateways)}; started in {c.startup_seconds:.0f} s")


_session: dict[str, Any] = {}


def session_cluster(config: Any) -> Any:
    """The real HBase for this pytest session: started once, stopped at session end.

    With ``--hbase-host`` the given gateway is used instead. When HBase cannot
    be started the calling test is skipped, unless ``TXHBASE_REQUIRE_HBASE=1``
    in which case it fails (CI must not silently lose the real backend).
    """
    import pytest

    host = config.getoption("--hbase-host")
    if host:
        port = config.getoption("--hbase-port") or 9090
        return ExternalGateway(host, port, config.getoption("--hbase-transport"),
                               config.getoption("--hbase-protocol"))
    if "cluster" in _session:
        return _session["cluster"]
    if "error" in _session:
        _skip_or_fail(_session["error"])
    cluster = Cluster(regionservers=int(os.environ.get(REGIONSERVERS_ENV, "2")))
    watcher = _FailureWatcher(cluster)
    config.pluginmanager.register(watcher, "txhbase-realhbase-failures")

    def cleanup() -> None:
        _session.pop("cluster", None)
        cluster.stop(keep_logs=watcher.failed)

    try:
        cluster.start()
    except (HarnessError, OSError) as e:
        _session["error"] = str(e)
        _skip_or_fail(str(e))
    _session["cluster"] = cluster
    config.add_cleanup(cleanup)
    atexit.register(cluster.stop, keep_logs=True)  # backstop; a no-op after cleanup
    return cluster


def _skip_or_fail(message: str) -> None:
    import pytest

    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"real HBase required ({REQUIRE_ENV}) but unavailable: {message}",
                    pytrace=False)
    pytest.skip(f"real HBase unavailable: {message.splitlines()[0]}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tests.realhbase.harness``: start, print gateways, stop on Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.realhbase.harness",
                                     description="Run a loopback HBase and its Thrift1 gateways.")
    parser.add_argument("--regionservers", type=int, default=2)
    parser.add_argument("--no-http", dest="http", action="store_false",
                        help="only the socket gateways (no HTTP/HTTPS)")
    parser.add_argument("--kerberos", action="store_true",
                        help="also a KDC and Kerberized gateways (SASL qop=auth-conf, "
                             "SPNEGO over HTTPS): see tests/realhbase/kerberos.py")
    args = parser.parse_args(argv)
    print("resolving classpath...", flush=True)
    jars = resolve_classpath()
    cluster = Cluster(regionservers=args.regionservers, http_gateways=args.http)
    if args.kerberos:
        from tests.realhbase import kerberos

        return kerberos.main(["auth-conf", "https"], cluster=cluster)
    try:
        cluster.start(classpath=jars)
    except HarnessError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"HBase {cluster.version} ({cluster.regionservers} region servers) up in "
          f"{cluster.startup_seconds:.1f} s; logs in {cluster.logs_dir}")
    for g in cluster.gateways.values():
        extra = f" (CA {g.ca_file})" if g.ca_file else ""
        print(f"  {g.name}: {g.url} [{g.transport}/{g.protocol}]{extra}")
    print(f"  conf (hbase-site.xml for Java clients): {cluster.conf_dir}")
    print("Ctrl-C to stop", flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.popen.poll() is None for p in cluster.procs):
            time.sleep(1)
        print("a JVM exited; stopping", file=sys.stderr)
        cluster.stop(keep_logs=True)
        return 1
    except KeyboardInterrupt:
        pass
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
