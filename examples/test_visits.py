"""Testing your own service with ``txhbase.testing.MemoryGateway``.

``VisitCounter`` is the kind of code an application writes on top of
txhbase.  Its tests run the real txhbase client against the embedded server
over an in-memory transport: no sockets, no reactor running, no sleeping;
``gateway.flush()`` delivers every call and reply that is waiting.

    python -m pytest examples/test_visits.py
"""
from __future__ import annotations

import struct
from typing import Any, Union

import pytest
from twisted.internet import defer
from twisted.python.failure import Failure

import txhbase
from txhbase.testing import MemoryGateway


class VisitCounter:
    """Page visits per user: one row per user, one counter column per page."""

    FAMILY = b"v"

    def __init__(self, table: Any) -> None:  # a Table, or a pool's table
        self.table = table

    def record(self, user: str, page: str) -> defer.Deferred[int]:
        """Count one visit; fires with the user's new count for that page."""
        return self.table.counter_inc(user, self.FAMILY + b":" + page.encode())

    async def report(self, user: str) -> dict[str, int]:
        """Every page the user visited, with its count."""
        row = await self.table.row(user, columns=[self.FAMILY])
        return {column.split(b":", 1)[1].decode(): struct.unpack(">q", value)[0]
                for column, value in row.items()}


def settle(gateway: MemoryGateway, d: Union[defer.Deferred[Any], Any]) -> Any:
    """Deliver everything in flight, then return ``d``'s result (or raise its error)."""
    d = defer.ensureDeferred(d)
    gateway.flush()
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the call is still waiting after flush()"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


@pytest.fixture
def gateway() -> MemoryGateway:
    return MemoryGateway()


@pytest.fixture
def visits(gateway: MemoryGateway) -> VisitCounter:
    conn = gateway.connection()
    table = settle(gateway, conn.create_table("visits", {"v": {}}))
    return VisitCounter(table)


def test_record_counts_each_page(gateway: MemoryGateway, visits: VisitCounter) -> None:
    assert settle(gateway, visits.record("ada", "/home")) == 1
    assert settle(gateway, visits.record("ada", "/home")) == 2
    assert settle(gateway, visits.record("ada", "/docs")) == 1
    assert settle(gateway, visits.report("ada")) == {"/docs": 1, "/home": 2}


def test_a_user_without_visits_has_an_empty_report(gateway: MemoryGateway,
                                                    visits: VisitCounter) -> None:
    assert settle(gateway, visits.report("nobody")) == {}


def test_concurrent_visits_through_a_pool(gateway: MemoryGateway) -> None:
    pool = gateway.pool(2)
    settle(gateway, gateway.connection().create_table("visits", {"v": {}}))
    counter = VisitCounter(pool.table("visits"))
    pending = [counter.record("grace", "/home") for _ in range(10)]
    assert sorted(settle(gateway, defer.gatherResults(pending))) == list(range(1, 11))
    settle(gateway, pool.close())


def test_a_missing_table_fails_with_a_txhbase_error(gateway: MemoryGateway) -> None:
    counter = VisitCounter(gateway.connection().table("no_such_table"))
    with pytest.raises(txhbase.TxHBaseError):
        settle(gateway, counter.record("ada", "/home"))
