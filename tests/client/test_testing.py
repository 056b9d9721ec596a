"""txhbase.testing.MemoryGateway: the real client against the embedded
server's handler in memory, on a task.Clock, with no reactor running."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from twisted.internet import task

from txhbase import errors
from txhbase.testing import MemoryGateway

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    section = text[text.index("## Testing your code: `txhbase.testing`"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written():
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    namespace["test_visit_counter"]()


@pytest.mark.parametrize("transport,protocol", [("buffered", "binary"), ("framed", "compact")])
def test_scan_batch_and_timeout_on_the_clock(transport, protocol):
    clock = task.Clock()
    gateway = MemoryGateway(clock, transport=transport, protocol=protocol)
    assert gateway.clock is clock
    conn = gateway.connection(timeout=500)
    conn.create_table("t", {"cf": {}})
    t = conn.table("t")
    b = t.batch()
    for i in range(5):
        b.put(b"r%d" % i, {b"cf:a": b"%d" % i})
    sent = b.send()
    gateway.flush()
    assert sent.called
    s = t.scan(batch_size=2)
    rows = s.next_batch()
    gateway.flush()
    assert [k for k, _ in rows.result] == [b"r0", b"r1"]
    closing = s.close()
    gateway.flush()
    assert closing.called
    # Not flushed: the call stays unanswered and times out on the clock.
    d = t.row(b"r0")
    clock.advance(0.5)
    assert isinstance(d.result.value, errors.TimeoutError)
    d.addErrback(lambda f: None)


def test_a_dropped_connection_is_reopened_and_the_pool_retries():
    gateway = MemoryGateway()
    conn = gateway.connection()
    conn.create_table("t", {"cf": {}})
    gateway.flush()
    pool = gateway.pool(1, timeout=1000)
    pt = pool.table("t")
    put = pt.put(b"k", {b"cf:a": b"1"})
    gateway.flush()
    assert put.called and gateway.connections == 2
    pending = pt.row(b"k")
    gateway.drop_connections()  # the reply is lost with the connection
    gateway.flush()
    gateway.clock.advance(1)    # the pool's back-off
    gateway.flush()
    assert pending.result == {b"cf:a": b"1"} and pool.stats.retries == 1


def test_graceful_close_of_a_memory_connection():
    gateway = MemoryGateway()
    conn = gateway.connection()
    made = conn.create_table("t", {"cf": {}})
    closing = conn.close(grace=5)
    assert not closing.called
    gateway.flush()
    assert made.called and closing.called and not conn.connected
