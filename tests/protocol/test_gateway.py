"""The raw protocol layer against every selected gateway backend (the embedded
server, and real HBase when selected), on both wire combinations HBase offers."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from tests.conftest import SHARED_TABLE
from txhbase.errors import HBaseIOError, ServerError
from txhbase.protocol import connect, hbase


async def _open(gateway):
    return await connect(reactor, gateway.host, gateway.port, transport=gateway.transport,
                         protocol=gateway.protocol, timeout=60000, connect_timeout=30000)


@pytest_twisted.ensureDeferred
async def test_server_type_and_errors(gateway):
    c = await _open(gateway)
    try:
        assert await c.call("getThriftServerType") == hbase.TThriftServerType.ONE
        names = await c.call("getTableNames")
        assert isinstance(names, list) and all(isinstance(n, bytes) for n in names)
        with pytest.raises(HBaseIOError) as e:
            await c.call("isTableEnabled", b"txhbase_no_such_table_xyz")
        assert e.value.can_retry is False
        # An uncaught server error (a bad filter string) comes back as
        # TApplicationException; the connection stays usable.
        scan = hbase.TScan(filterString=b"NoSuchFilter(((")
        with pytest.raises((ServerError, HBaseIOError)):
            sid = await c.call("scannerOpenWithScan", SHARED_TABLE, scan, {})
            await c.call("scannerGetList", sid, 1)
        assert c.connected
        assert await c.call("getThriftServerType") == hbase.TThriftServerType.ONE
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_pipelined_calls_answer_in_order(gateway, row_prefix):
    """Many calls in flight on one connection: each gets its own reply."""
    c = await _open(gateway)
    try:
        # The shared table may not exist yet on a fresh backend: create it
        # the way other tests do (ignore AlreadyExists).
        if SHARED_TABLE not in await c.call("getTableNames"):
            from txhbase.errors import AlreadyExists
            try:
                await c.call("createTable", SHARED_TABLE,
                             [hbase.ColumnDescriptor(name=b"cf1:", maxVersions=3),
                              hbase.ColumnDescriptor(name=b"cf2:", maxVersions=1)])
            except AlreadyExists:
                pass
        keys = [row_prefix + b"%03d" % i for i in range(40)]
        await defer.gatherResults([
            c.call("mutateRow", SHARED_TABLE, k,
                   [hbase.Mutation(column=b"cf1:v", value=k * (1 + i % 7), isDelete=False,
                                   writeToWAL=True)], {})
            for i, k in enumerate(keys)])
        results = await defer.gatherResults(
            [c.call("getRow", SHARED_TABLE, k, {}) for k in keys])
        for i, (k, rows) in enumerate(zip(keys, results)):
            assert [r.row for r in rows] == [k]
            assert rows[0].columns[b"cf1:v"].value == k * (1 + i % 7)
        await c.call("deleteAllRow", SHARED_TABLE, keys[0], {})
        assert await c.call("getRow", SHARED_TABLE, keys[0], {}) == []
        await defer.gatherResults([c.call("deleteAllRow", SHARED_TABLE, k, {}) for k in keys])
    finally:
        await c.close()
