"""Leaving a batch (``async with``, ``run_batch``) waits for its automatic
sends (``batch_size``) and fails with the first failure among them: a failed
automatic send is never lost when the ``put`` Deferred that triggered it was
ignored, as HappyBase-style code does (``b.put(...)`` without awaiting)."""
from __future__ import annotations

import pytest
from twisted.internet import defer

from txhbase.errors import BatchError
from txhbase.testing import MemoryGateway


def _table():
    gateway = MemoryGateway()
    conn = gateway.connection()
    conn.create_table("t", {"cf": {}})
    gateway.flush()
    return gateway, conn.table("t")


def test_async_with_raises_a_failed_automatic_send_whose_put_was_ignored():
    gateway, table = _table()

    async def load() -> None:
        async with table.batch(batch_size=1) as b:
            b.put(b"bad", {b"nofamily:a": b"x"})   # automatic send, Deferred ignored
            b.put(b"good", {b"cf:a": b"y"})

    d = defer.ensureDeferred(load())
    gateway.flush()
    assert d.called
    failure = d.result
    d.addErrback(lambda f: None)
    assert isinstance(failure.value, BatchError), failure
    got = table.row(b"good")
    gateway.flush()
    assert got.result == {b"cf:a": b"y"}  # the other automatic send went through


def test_run_batch_waits_for_automatic_sends_still_in_flight():
    gateway, table = _table()

    def fill(b):
        for i in range(5):
            b.put(b"r%d" % i, {b"cf:a": b"%d" % i})   # 2 automatic sends of 2, 1 left

    outcome: list = []
    table.run_batch(fill, batch_size=2).addBoth(outcome.append)
    assert outcome == []                # nothing answered yet: still waiting for them
    gateway.flush()
    assert outcome == [None]
    rows = table.rows([b"r%d" % i for i in range(5)])
    gateway.flush()
    assert len(rows.result) == 5
