"""A scan whose last rows arrive while its pool closes with a grace period
delivers them: the scanner gives its lease back when the server says the
scan ended, the closing pool closes that connection at once, and the
scanner must not take that close for a cut (found by the twistd daemon test
under load: scans failed with "ConnectionLost ... 0 rows delivered")."""
from __future__ import annotations

from txhbase.testing import MemoryGateway


def test_rows_fetched_before_the_pool_closes_the_connection_are_delivered():
    gateway = MemoryGateway()
    conn = gateway.connection()
    conn.create_table("t", {"cf": {}})
    b = conn.table("t").batch()
    for i in range(5):
        b.put(b"r%02d" % i, {b"cf:a": b"%d" % i})
    b.send()
    gateway.flush()
    pool = gateway.pool(1, timeout=1000)
    table = pool.table("t")
    warm = table.row(b"r00")
    gateway.flush()
    assert warm.called
    scanner = table.scan(batch_size=10, limit=5)
    rows = scanner.next_batch()
    closing = pool.close(grace=10)    # the pool drains while the scan is in flight
    gateway.flush()
    assert [k for k, _ in rows.result] == [b"r%02d" % i for i in range(5)], rows.result
    end = scanner.get_next()
    assert end.result is None and scanner.exhausted
    assert closing.called
