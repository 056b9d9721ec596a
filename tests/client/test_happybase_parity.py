"""txhbase returns exactly what HappyBase returns, on the same gateway.

HappyBase (blocking) and txhbase both talk to ``sync_gateway`` (the embedded
server as a subprocess, or real HBase); each check runs the same operation
through both and compares the results.
"""
from __future__ import annotations

import pytest
import pytest_twisted

import txhbase

happybase = pytest.importorskip("happybase")

pytestmark = pytest.mark.backend

TABLE = "txhbase_parity"


@pytest.fixture
def pair(sync_gateway):
    hb = happybase.Connection(sync_gateway.host, sync_gateway.port,
                              transport=sync_gateway.transport,
                              protocol=sync_gateway.protocol, timeout=30000)
    tx = txhbase.Connection(sync_gateway.host, sync_gateway.port,
                            transport=sync_gateway.transport,
                            protocol=sync_gateway.protocol, timeout=30000)
    if TABLE.encode() not in hb.tables():
        hb.create_table(TABLE, {"cf": {"max_versions": 5}, "cg": {}})
    yield hb, tx
    hb.close()
    pytest_twisted.blockon(tx.close())


@pytest_twisted.ensureDeferred
async def test_reads_match_happybase(pair, row_prefix):
    hb, tx = pair
    ht, tt = hb.table(TABLE), tx.table(TABLE)
    p = row_prefix
    for i in range(6):
        ht.put(p + b"%d" % i, {b"cf:a": b"a%d" % i, b"cf:b": b"b%d" % i, b"cg:": b"e"},
               timestamp=100 + i)
    for ts in (10, 20, 30):
        ht.put(p + b"v", {b"cf:a": b"%d" % ts}, timestamp=ts)

    async def same(name, *args, **kwargs):
        expect = getattr(ht, name)(*args, **kwargs)
        got = await getattr(tt, name)(*args, **kwargs)
        assert got == expect, (name, args, kwargs)
        return got

    await same("row", p + b"1")
    await same("row", p + b"1", columns=[b"cf:a", b"cg"])
    await same("row", p + b"1", include_timestamp=True)
    await same("row", p + b"v", timestamp=30, include_timestamp=True)
    await same("row", p + b"missing")
    await same("rows", [p + b"3", p + b"missing", p + b"1"])
    await same("rows", [p + b"3", p + b"1"], columns=[b"cf:b"], include_timestamp=True)
    await same("cells", p + b"v", b"cf:a")
    await same("cells", p + b"v", b"cf:a", versions=2, include_timestamp=True)
    await same("cells", p + b"v", b"cf:a", timestamp=30)
    # Counters are stateful: apply each step through both clients alternately.
    assert ht.counter_inc(p + b"n", b"cf:n", 5) == 5
    assert await tt.counter_inc(p + b"n", b"cf:n", 5) == 10
    assert await tt.counter_dec(p + b"n", b"cf:n", 2) == 8
    assert ht.counter_dec(p + b"n", b"cf:n", 2) == 6
    assert await tt.counter_get(p + b"n", b"cf:n") == ht.counter_get(p + b"n", b"cf:n") == 6
    await tt.counter_set(p + b"m", b"cf:n", 42)
    assert ht.counter_get(p + b"m", b"cf:n") == 42
    assert ht.row(p + b"m") == await tt.row(p + b"m")
    assert await tt.families() == ht.families()
    assert await tt.regions() == ht.regions()

    for kwargs in ({"row_prefix": p}, {"row_prefix": p, "limit": 3, "batch_size": 2},
                   {"row_start": p + b"1", "row_stop": p + b"4", "columns": [b"cf:a"]},
                   {"row_prefix": p, "include_timestamp": True},
                   {"row_prefix": p, "sorted_columns": True},
                   {"row_start": p + b"4", "row_stop": p + b"1", "reverse": True},
                   {"row_prefix": p, "scan_batching": 2},
                   {"row_prefix": p, "filter": "KeyOnlyFilter()"}):
        expect = list(ht.scan(**kwargs))
        got = []
        async for item in tt.scan(**kwargs):
            got.append(item)
        assert got == expect, kwargs
        assert [type(d) for _, d in got] == [type(d) for _, d in expect]
