"""Unit tests of the harness's pure parts (no JVM is started here)."""
from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET

import pytest

from tests.realhbase import admin, harness, thrift_http


def test_hbase_site_is_loopback_only_and_rooted_in_tmp(tmp_path):
    props = harness.hbase_site(str(tmp_path), 2181)
    assert props["hbase.cluster.distributed"] == "false"
    assert props["hbase.rootdir"] == "file://" + str(tmp_path / "hbase")
    assert props["hbase.zookeeper.property.clientPort"] == "2181"
    assert props["hbase.zookeeper.quorum"] == "127.0.0.1"
    assert props["hbase.master.ipc.address"] == "127.0.0.1"
    assert props["hbase.regionserver.ipc.address"] == "127.0.0.1"
    for key in ("hbase.master.info.port", "hbase.regionserver.info.port", "hbase.thrift.info.port"):
        assert props[key] == "-1"
    # the local filesystem has no hflush: HBase refuses to start without this
    assert props["hbase.unsafe.stream.capability.enforce"] == "false"


def test_site_xml_escapes_and_parses(tmp_path):
    xml = harness._site_xml({"a": "x<&>y", "b": "2"})
    root = ET.fromstring(xml)
    got = {p.findtext("name"): p.findtext("value") for p in root.iter("property")}
    assert got == {"a": "x<&>y", "b": "2"}


def test_hostname_fallback_when_unresolvable(tmp_path, monkeypatch):
    def fail(_name):
        raise socket.gaierror("no")

    monkeypatch.setattr(socket, "gethostbyname", fail)
    props = harness.hbase_site(str(tmp_path), 1)
    assert props["hbase.master.hostname"] == "localhost"
    assert props["hbase.unsafe.regionserver.hostname"] == "localhost"


def test_free_port_is_bindable():
    port = harness.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_classpath_cache_is_keyed_by_pom_and_checks_jars(tmp_path, monkeypatch):
    monkeypatch.setenv("TXHBASE_CACHE_DIR", str(tmp_path))
    cache = harness._classpath_cache_file()
    assert harness.pom_hash() in os.path.basename(cache)
    jar = tmp_path / "hbase-thrift-9.9.9.jar"
    jar.write_bytes(b"")
    with open(cache, "w") as f:
        f.write(str(jar))
    assert harness._read_cached_classpath() == [str(jar)]
    assert harness.find_hbase_thrift_jar() == str(jar)
    assert harness.hbase_version() == "9.9.9"
    jar.unlink()  # a jar vanished from ~/.m2: the cache must not be trusted
    assert harness._read_cached_classpath() is None


def test_resolve_without_maven_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TXHBASE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(harness.shutil, "which", lambda _name: None)
    with pytest.raises(harness.HarnessError, match="mvn is not on PATH"):
        harness.resolve_classpath()


def test_external_gateway_serves_only_its_own_wire():
    ext = harness.ExternalGateway("h", 9090, "buffered", "binary")
    assert ext.address("buffered", "binary") == ("h", 9090)
    with pytest.raises(pytest.skip.Exception):
        ext.address("framed", "compact")


def _gateway(name, kind, port, transport, protocol="binary", **kw):
    return harness.GatewayInfo(name, kind, "127.0.0.1", port, transport, protocol, **kw)


def test_cluster_address_rejects_unknown_wire():
    cluster = harness.Cluster(gateways={
        "buffered-binary": _gateway("buffered-binary", "socket", 1234, "buffered"),
        "https": _gateway("https", "https", 4321, "https", ca_file="/ca.pem")})
    assert cluster.address("buffered", "binary") == ("127.0.0.1", 1234)
    assert cluster.address("https", "binary") == ("127.0.0.1", 4321)
    assert cluster.ports == {("buffered", "binary"): 1234, ("https", "binary"): 4321}
    assert cluster.gateway("https").ca_file == "/ca.pem"
    with pytest.raises(ValueError, match="transport='framed'"):
        cluster.address("framed", "binary")
    with pytest.raises(ValueError, match="no gateway named 'http'"):
        cluster.gateway("http")


def test_gateway_urls():
    assert _gateway("s", "socket", 1, "buffered").url == "thrift://127.0.0.1:1"
    assert _gateway("h", "http", 2, "http").url == "http://127.0.0.1:2/"
    # HTTPS names the host its certificate was made for
    assert _gateway("t", "https", 3, "https").url == "https://localhost:3/"


def test_two_region_servers_by_default(tmp_path):
    assert harness.Cluster().regionservers == 2
    props = harness.hbase_site(str(tmp_path), 2181, regionservers=2)
    assert props["hbase.regionservers"] == "2"
    # the master (and so every gateway) waits for both before serving
    assert props["hbase.master.wait.on.regionservers.mintostart"] == "2"


def test_start_gateway_checks_kind_and_cluster():
    cluster = harness.Cluster()
    with pytest.raises(ValueError, match="kind must be one of"):
        cluster.start_gateway("carrier-pigeon")
    with pytest.raises(harness.HarnessError, match="start the cluster"):
        cluster.start_gateway("http")


def test_parse_regions_reads_hex_keys():
    out = ("\t6d3035\t17\tabc\tlocalhost\t16020\n"
           "6d3035\t\t17\tdef\tlocalhost\t16021\nnoise\n")
    assert admin.parse_regions(out) == [
        admin.RegionLocation(b"", b"m05", 17, "abc", "localhost", 16020),
        admin.RegionLocation(b"m05", b"", 17, "def", "localhost", 16021)]


def test_http_call_messages_are_plain_binary_thrift():
    """encode_call writes, and decode_reply reads, whole binary-protocol
    messages (what HBase's servlet takes and answers), declared exceptions
    and TApplicationException raised."""
    from thriftpy2.protocol.binary import TBinaryProtocol
    from thriftpy2.thrift import TApplicationException, TMessageType
    from thriftpy2.transport.memory import TMemoryBuffer

    from txhbase.protocol.idl import hbase

    data = thrift_http.encode_call("getRow", b"t", b"r", {}, seqid=7)
    proto = TBinaryProtocol(TMemoryBuffer(data))
    assert proto.read_message_begin() == ("getRow", TMessageType.CALL, 7)
    args = hbase.Hbase.getRow_args()
    proto.read_struct(args)
    assert (args.tableName, args.row) == (b"t", b"r")

    def reply(method, mtype, result):
        buf = TMemoryBuffer()
        out = TBinaryProtocol(buf)
        out.write_message_begin(method, mtype, 7)
        out.write_struct(result)
        out.write_message_end()
        return buf.getvalue()

    ok = hbase.Hbase.getTableNames_result(success=[b"a"])
    assert thrift_http.decode_reply("getTableNames", reply("getTableNames", TMessageType.REPLY, ok)) == [b"a"]
    err = hbase.Hbase.getRow_result(io=hbase.IOError(message="boom"))
    with pytest.raises(hbase.IOError, match="boom"):
        thrift_http.decode_reply("getRow", reply("getRow", TMessageType.REPLY, err))
    app = TApplicationException(TApplicationException.UNKNOWN_METHOD, "nope")
    with pytest.raises(TApplicationException, match="nope"):
        thrift_http.decode_reply("getRow", reply("getRow", TMessageType.EXCEPTION, app))


def test_unavailable_hbase_skips_unless_required(monkeypatch):
    monkeypatch.delenv(harness.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        harness._skip_or_fail("boom")
    monkeypatch.setenv(harness.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="boom"):
        harness._skip_or_fail("boom")


def test_sync_client_rejects_unknown_wire():
    with pytest.raises(ValueError, match="transport"):
        harness.sync_client("127.0.0.1", 1, "framed", "json")


# A stand-in for `ClusterAdmin serve`: echoes commands, fails "bad", exits on "quit".
FAKE_ADMIN = r"""
import sys
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "quit":
        sys.exit(3)
    if cmd[0] == "bad":
        print("ERR java.lang.IllegalStateException: no such region")
        print("END 1", flush=True)
        continue
    if cmd[0] == "hang":
        continue
    print("\t".join(cmd))
    print("END 0", flush=True)
"""


def test_admin_session_runs_commands_and_reports_failures(tmp_path):
    import sys

    session = admin.AdminSession([sys.executable, "-c", FAKE_ADMIN], str(tmp_path / "err"),
                                 str(tmp_path))
    try:
        assert session.run(["regions", "t"], timeout=30) == "regions\tt\n"
        assert session.run(["move", "t", "6d"], timeout=30) == "move\tt\t6d\n"
        with pytest.raises(admin.AdminError, match="no such region"):
            session.run(["bad"], timeout=30)
        assert session.run(["regions", "u"], timeout=30) == "regions\tu\n"  # still usable
        with pytest.raises(admin.AdminError, match="exited during quit"):
            session.run(["quit"], timeout=30)
    finally:
        session.kill()


def test_admin_session_kills_a_command_that_never_answers(tmp_path):
    import sys

    session = admin.AdminSession([sys.executable, "-c", FAKE_ADMIN], str(tmp_path / "err"),
                                 str(tmp_path))
    try:
        with pytest.raises(admin.AdminError, match="took over"):
            session.run(["hang"], timeout=0.5)
        assert session.popen.poll() is not None  # killed: the next call starts a new one
    finally:
        session.kill()


def test_admin_rejects_arguments_that_are_not_single_words():
    cluster = harness.Cluster()
    with pytest.raises(ValueError, match="non-empty words"):
        cluster.admin("create", "my table")
    with pytest.raises(ValueError, match="non-empty words"):
        cluster.admin("regions", "")
