"""Conformance of table administration and its errors, over TCP with thriftpy2's client.

Runs on every selected backend (embedded subprocess and real HBase), so each
expectation here is checked against HBase itself when it is available.
DDL is slow on HBase: one scratch table per session, created on first use.
"""
from __future__ import annotations

import pytest
from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.thrift import TApplicationException
from thriftpy2.transport import TBufferedTransportFactory, TFramedTransportFactory

from txhbase.protocol.idl import hbase

pytestmark = pytest.mark.backend

SCRATCH = b"txhbase_ddl_scratch"
MISSING = b"txhbase_ddl_no_such_table"
_clients: dict = {}


@pytest.fixture
def c(sync_gateway):
    key = sync_gateway.id
    if key not in _clients:
        framed = sync_gateway.transport == "framed"
        client = make_client(
            hbase.Hbase, sync_gateway.host, sync_gateway.port, timeout=60000,
            trans_factory=TFramedTransportFactory() if framed else TBufferedTransportFactory(),
            proto_factory=TCompactProtocolFactory() if framed else TBinaryProtocolFactory())
        try:
            client.createTable(SCRATCH, [hbase.ColumnDescriptor(name=b"cf:", maxVersions=2),
                                         hbase.ColumnDescriptor(name=b"ttl", timeToLive=100)])
        except hbase.AlreadyExists:
            pass
        _clients[key] = client
    return _clients[key]


def test_column_descriptors(c):
    d = c.getColumnDescriptors(SCRATCH)
    assert set(d) == {b"cf:", b"ttl:"}
    assert (d[b"cf:"].maxVersions, d[b"cf:"].timeToLive, d[b"cf:"].compression) == (
        2, 2147483647, "NONE")
    assert d[b"ttl:"].timeToLive == 100


def test_table_names_and_state(c):
    assert SCRATCH in c.getTableNames()
    assert c.getTableNamesWithIsTableEnabled()[SCRATCH] is True
    assert c.isTableEnabled(SCRATCH) is True


def test_create_errors(c):
    with pytest.raises(hbase.AlreadyExists):
        c.createTable(SCRATCH, [hbase.ColumnDescriptor(name=b"cf")])
    for bad in ([hbase.ColumnDescriptor(name=b"")],
                [hbase.ColumnDescriptor(name=b"f", compression="NOPE")],
                [hbase.ColumnDescriptor(name=b"f", bloomFilterType="NOPE")],
                [hbase.ColumnDescriptor(name=b"f"), hbase.ColumnDescriptor(name=b"f:")]):
        with pytest.raises(hbase.IllegalArgument):
            c.createTable(MISSING, bad)
    with pytest.raises(TApplicationException) as ei:
        c.createTable(b"bad name", [hbase.ColumnDescriptor(name=b"f")])
    assert ei.value.type == TApplicationException.INTERNAL_ERROR
    assert MISSING not in c.getTableNames()


def test_missing_table_errors(c):
    for call in (lambda: c.isTableEnabled(MISSING), lambda: c.enableTable(MISSING),
                 lambda: c.disableTable(MISSING), lambda: c.getColumnDescriptors(MISSING),
                 lambda: c.getRow(MISSING, b"r", {})):
        with pytest.raises(hbase.IOError) as ei:
            call()
        assert ei.value.canRetry is False, call
    with pytest.raises(hbase.IOError):
        c.deleteTable(MISSING)
    assert c.getTableRegions(MISSING) == []


def test_enable_an_enabled_table_is_an_io_error(c):
    with pytest.raises(hbase.IOError) as ei:
        c.enableTable(SCRATCH)
    assert ei.value.canRetry is False
    with pytest.raises(hbase.IOError):
        c.deleteTable(SCRATCH)  # still enabled


def test_regions_and_region_info(c):
    regions = c.getTableRegions(SCRATCH)
    assert regions and regions[0].startKey == b"" and regions[-1].endKey == b""
    assert all(r.version == 1 and r.name.startswith(SCRATCH + b",") for r in regions)
    info = c.getRegionInfo(SCRATCH + b",somerow,99999999999999")
    assert info.name in {r.name for r in regions}


def test_scanner_ids_and_invalid_ids(c):
    sid = c.scannerOpen(SCRATCH, b"", [], {})
    assert isinstance(sid, int) and sid >= 0
    c.scannerClose(sid)
    for call in (lambda: c.scannerGet(sid), lambda: c.scannerGetList(sid, 5),
                 lambda: c.scannerClose(sid)):
        with pytest.raises(hbase.IllegalArgument) as ei:
            call()
        assert ei.value.message == "scanner ID is invalid"


def test_server_identity(c):
    assert c.getThriftServerType() == hbase.TThriftServerType.ONE
    assert isinstance(c.getClusterId(), str) and c.getClusterId()


def test_compactions_are_accepted(c):
    c.compact(SCRATCH)
    c.majorCompact(SCRATCH)
    with pytest.raises(hbase.IOError):
        c.majorCompact(MISSING)
