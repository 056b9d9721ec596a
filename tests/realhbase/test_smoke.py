"""Smoke test of every sync gateway: thriftpy2's blocking client lists tables
and round-trips a put through get on both wire combinations.

On the real backend this proves the harness started a usable HBase; on the
embedded backend (a subprocess) the same assertions hold.
"""
from __future__ import annotations

import pytest

from tests.conftest import SHARED_FAMILIES, SHARED_TABLE
from tests.realhbase.harness import sync_client
from txhbase.protocol.idl import hbase


@pytest.fixture
def client(sync_gateway):
    c = sync_client(sync_gateway.host, sync_gateway.port, sync_gateway.transport,
                    sync_gateway.protocol, timeout_ms=60000)
    yield c
    c.close()


def ensure_shared_table(client) -> None:
    """Create SHARED_TABLE unless it exists (another test may have made it)."""
    if SHARED_TABLE in client.getTableNames():
        return
    families = [hbase.ColumnDescriptor(name=name.encode() + b":", maxVersions=opts["max_versions"])
                for name, opts in SHARED_FAMILIES.items()]
    try:
        client.createTable(SHARED_TABLE, families)
    except hbase.AlreadyExists:
        pass


def test_tables_list_and_put_get_round_trip(client, row_prefix):
    ensure_shared_table(client)
    assert SHARED_TABLE in client.getTableNames()
    row = row_prefix + b"smoke"
    value = bytes(range(256))  # every byte value survives the wire
    client.mutateRow(SHARED_TABLE, row, [hbase.Mutation(column=b"cf1:q", value=value)], {})
    cells = client.get(SHARED_TABLE, row, b"cf1:q", {})
    assert [c.value for c in cells] == [value]
    rows = client.getRow(SHARED_TABLE, row, {})
    assert len(rows) == 1 and rows[0].row == row
    assert rows[0].columns[b"cf1:q"].value == value
    assert rows[0].columns[b"cf1:q"].timestamp == cells[0].timestamp > 0


def test_missing_table_is_ioerror_not_retryable(client):
    with pytest.raises(hbase.IOError) as info:
        client.get(b"txhbase_no_such_table", b"r", b"cf1:q", {})
    assert info.value.canRetry is False
    assert "TableNotFoundException" in info.value.message


def test_column_descriptors_of_shared_table(client):
    ensure_shared_table(client)
    descriptors = client.getColumnDescriptors(SHARED_TABLE)
    assert set(descriptors) == {b"cf1:", b"cf2:"}
    assert descriptors[b"cf1:"].maxVersions == 3
    assert descriptors[b"cf2:"].maxVersions == 1
