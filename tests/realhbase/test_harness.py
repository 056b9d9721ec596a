"""Unit tests of the harness's pure parts (no JVM is started here)."""
from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET

import pytest

from tests.realhbase import harness


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


def test_cluster_address_rejects_unknown_wire():
    cluster = harness.Cluster(ports={("buffered", "binary"): 1234})
    assert cluster.address("buffered", "binary") == ("127.0.0.1", 1234)
    with pytest.raises(ValueError, match="transport='framed'"):
        cluster.address("framed", "binary")


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
