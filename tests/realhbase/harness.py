"""Run a real, loopback-only HBase with two Thrift1 gateways for the tests.

What it does, and why:

* resolves the Java classpath of ``pom.xml`` beside this file with Maven (the
  jars are cached in ``~/.m2``; the classpath string is cached in a file keyed
  by the pom's hash, so later runs start without calling Maven at all);
* writes ``hbase-site.xml`` and a log4j2 config into a temp directory (free
  loopback ports, info servers off, local filesystem);
* starts ``HMaster start`` (standalone: master, regionserver and ZooKeeper in
  one JVM) and two ``ThriftServer``\\ s: ``-threadpool`` (buffered/binary) and
  ``-hsha -c`` (framed/compact);
* waits until ``getTableNames()`` answers on both gateways (the port opens
  long before HBase can serve), with a deadline and an error naming the log
  file to read;
* stops every JVM by process group, and keeps the logs when something failed.

Used by ``tests/conftest.py`` through :func:`session_cluster`, and standalone:
``python -m tests.realhbase.harness`` starts a cluster and prints its
addresses until Ctrl-C.
"""
from __future__ import annotations

import atexit
import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Optional
from xml.sax.saxutils import escape

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
        return s.getsockname()[1]


def _hostname_resolves() -> bool:
    try:
        socket.gethostbyname(socket.gethostname())
        return True
    except OSError:
        return False


def hbase_site(tmp: str, zk_port: int) -> dict[str, str]:
    """The properties of a standalone, loopback-only HBase rooted in ``tmp``."""
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
# the cluster


def sync_client(host: str, port: int, transport: str = "buffered", protocol: str = "binary",
                timeout_ms: int = 30000) -> Any:
    """thriftpy2's blocking ``Hbase`` client for one wire combination (close() it)."""
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


def _ping(host: str, port: int, transport: str, protocol: str, timeout_ms: int = 5000) -> list:
    """Call getTableNames() once with thriftpy2's blocking client."""
    client = sync_client(host, port, transport, protocol, timeout_ms)
    try:
        return client.getTableNames()
    finally:
        client.close()


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen
    log: str  # the log4j file
    out: str  # stdout/stderr of the JVM


@dataclass
class Cluster:
    """A standalone HBase and its Thrift1 gateways, all on 127.0.0.1."""

    master_heap: str = "-Xmx768m"
    thrift_heap: str = "-Xmx384m"
    host: str = "127.0.0.1"
    tmp: Optional[str] = None
    ports: dict[tuple[str, str], int] = field(default_factory=dict)
    procs: list[_Proc] = field(default_factory=list)
    version: str = ""
    startup_seconds: float = 0.0
    stopped: bool = False

    @property
    def logs_dir(self) -> str:
        assert self.tmp
        return os.path.join(self.tmp, "logs")

    def address(self, transport: str, protocol: str) -> tuple[str, int]:
        """(host, port) of the gateway speaking that wire combination."""
        key = (transport, protocol)
        if key not in self.ports:
            raise ValueError(f"no gateway for transport={transport!r} protocol={protocol!r}")
        return self.host, self.ports[key]

    # -- start ---------------------------------------------------------

    def start(self, deadline: float = 240.0, classpath: Optional[list[str]] = None) -> "Cluster":
        """Start master and gateways; return once every gateway answers getTableNames()."""
        java = shutil.which("java")
        if not java:
            raise HarnessError("java is not on PATH")
        jars = classpath or resolve_classpath()
        self.version = hbase_version(jars)
        self.tmp = tempfile.mkdtemp(prefix="txhbase-realhbase-")
        conf = os.path.join(self.tmp, "conf")
        os.makedirs(conf)
        os.makedirs(self.logs_dir)
        zk_port = free_port()
        with open(os.path.join(conf, "hbase-site.xml"), "w") as f:
            f.write(_site_xml(hbase_site(self.tmp, zk_port)))
        log4j = os.path.join(conf, "log4j2.properties")
        with open(log4j, "w") as f:
            f.write(LOG4J2_PROPERTIES)
        cp = os.pathsep.join([conf] + jars)
        started = time.monotonic()
        try:
            self._spawn(java, "master", self.master_heap, cp, log4j,
                        ["org.apache.hadoop.hbase.master.HMaster", "start"])
            for (transport, protocol), flags in GATEWAY_FLAGS.items():
                port = free_port()
                self.ports[(transport, protocol)] = port
                self._spawn(java, f"thrift-{transport}-{protocol}", self.thrift_heap, cp, log4j,
                            ["org.apache.hadoop.hbase.thrift.ThriftServer", "-b", self.host,
                             "-p", str(port), "--infoport", "-1", *flags, "start"])
            self._wait_ready(started + deadline)
        except BaseException:
            self.stop(keep_logs=True)
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _spawn(self, java: str, name: str, heap: str, cp: str, log4j: str, main: list[str]) -> None:
        log = os.path.join(self.logs_dir, f"{name}.log")
        out = os.path.join(self.logs_dir, f"{name}.out")
        cmd = [java, heap, *JDK17_FLAGS,
               f"-Djava.io.tmpdir={os.path.join(self.tmp, 'tmp')}",
               f"-Dlog4j2.configurationFile={log4j}", f"-Dtxhbase.log.file={log}",
               "-Dhbase.log.dir=" + self.logs_dir,
               "-cp", cp, *main]
        os.makedirs(os.path.join(self.tmp, "tmp"), exist_ok=True)
        with open(out, "wb") as outf:
            popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=outf,
                                     stderr=subprocess.STDOUT, cwd=self.tmp,
                                     start_new_session=True)
        self.procs.append(_Proc(name, popen, log, out))
        pidfile = os.environ.get(PIDFILE_ENV)
        if pidfile:  # .ci/run kills these process groups if pytest itself dies
            with open(pidfile, "a") as f:
                f.write(f"{popen.pid}\n")

    def _wait_ready(self, deadline_at: float) -> None:
        pending = dict(self.ports)
        last_error: dict[tuple[str, str], str] = {}
        while pending:
            for proc in self.procs:
                if proc.popen.poll() is not None:
                    raise HarnessError(
                        f"HBase {proc.name} JVM exited with code {proc.popen.returncode} "
                        f"during start-up; read {proc.log} and {proc.out}\n"
                        + _tail(proc.log) + _tail(proc.out))
            for key, port in list(pending.items()):
                try:
                    _ping(self.host, port, *key, timeout_ms=5000)
                except Exception as e:  # not ready yet: refused, reset, IOError, timeout
                    last_error[key] = f"{type(e).__name__}: {e}"[:300]
                else:
                    del pending[key]
            if not pending:
                return
            if time.monotonic() > deadline_at:
                master = self.procs[0]
                raise HarnessError(
                    f"HBase gateways {sorted(pending)} did not answer getTableNames() in time "
                    f"(last errors: {last_error}); read {master.log} and the thrift-*.log files "
                    f"in {self.logs_dir}\n" + _tail(master.log))
            time.sleep(1.0)

    # -- stop ----------------------------------------------------------

    def stop(self, keep_logs: bool = False, timeout: float = 15.0) -> None:
        """Stop every JVM (SIGTERM to its process group, SIGKILL after ``timeout``).

        Data is always removed; the logs stay (and their path is printed) when
        ``keep_logs`` is true.
        """
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


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
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


class _FailureWatcher:
    """pytest plugin noting whether any test failed, so cluster logs are kept then."""

    def __init__(self) -> None:
        self.failed = False

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.failed = True


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
    cluster = Cluster()
    watcher = _FailureWatcher()
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


def main() -> int:
    """``python -m tests.realhbase.harness``: start, print addresses, stop on Ctrl-C."""
    print("resolving classpath...", flush=True)
    jars = resolve_classpath()
    cluster = Cluster()
    try:
        cluster.start(classpath=jars)
    except HarnessError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"HBase {cluster.version} up in {cluster.startup_seconds:.1f} s; "
          f"logs in {cluster.logs_dir}")
    for (transport, protocol), port in cluster.ports.items():
        print(f"  {transport}/{protocol}: {cluster.host}:{port}")
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
