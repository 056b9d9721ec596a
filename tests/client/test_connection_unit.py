"""Connection with a fake connect(): lazy connect, reconnect, failover,
timeouts on a task.Clock, cancellation, close, table admin and prefixes."""
from __future__ import annotations

import logging

import pytest
from twisted.internet import defer, task

from txhbase import errors
from txhbase import connection as connection_mod
from txhbase.connection import Connection, parse_addresses

from tests.client.fakes import result_of


class FakeProto:
    def __init__(self, where):
        self.where = where
        self.connected = True
        self.on_connection_lost = []
        self.calls = []
        self.closed = False

    def call(self, name, *args, timeout=None):
        d = defer.Deferred()
        self.calls.append((name, args, timeout, d))
        return d

    def answer(self, result=None):
        for c in self.calls:
            if not c[3].called:
                c[3].callback(result)
                return c
        raise AssertionError("no pending call")

    def lose(self):
        self.connected = False
        err = errors.ConnectionLost("server closed", sent=True)
        for hook in self.on_connection_lost:
            hook(err)
        for c in self.calls:
            if not c[3].called:
                c[3].errback(errors.ConnectionLost("server closed", sent=True))

    def close(self):
        self.closed = True
        self.connected = False
        return defer.succeed(None)


class FakeConnect:
    """Replaces txhbase.connection.open_channel (the one channel dispatch);
    each attempt waits for the test."""

    def __init__(self):
        self.attempts = []  # (where, kwargs, Deferred)

    def __call__(self, reactor, address, **kwargs):
        kind, host, port = address
        where = host if kind == "endpoint" else f"{host}:{port}"
        if kind == "endpoint":
            kwargs["endpoint"] = host
        d = defer.Deferred()
        self.attempts.append((where, kwargs, d))
        return d

    def succeed(self, i=-1):
        where, _, d = self.attempts[i]
        p = FakeProto(where)
        d.callback(p)
        return p

    def refuse(self, i=-1):
        where, _, d = self.attempts[i]
        d.errback(errors.ConnectionLost(f"cannot connect to {where}: refused", sent=False))


@pytest.fixture
def fc(monkeypatch):
    f = FakeConnect()
    monkeypatch.setattr(connection_mod, "open_channel", f)
    return f


@pytest.fixture
def clock():
    return task.Clock()


def make(clock, *args, **kwargs):
    return Connection(*args, reactor=clock, **kwargs)


# ------------------------------------------------------------------ arguments

@pytest.mark.parametrize("kwargs,exc,word", [
    ({"compat": "0.99"}, ValueError, "compat"),
    ({"transport": "spdy"}, ValueError, "transport"),
    ({"protocol": "json"}, ValueError, "protocol"),
    ({"table_prefix": 5}, TypeError, "table_prefix"),
    ({"table_prefix_separator": 5}, TypeError, "table_prefix_separator"),
    ({"port": "9090"}, TypeError, "port"),
    ({"port": 0}, ValueError, "port"),
    ({"host": 5}, TypeError, "host"),
    ({"host": []}, ValueError, "host"),
    ({"host": ["a:1", 7]}, TypeError, "host[1]"),
    ({"host": "a:notaport"}, ValueError, "host"),
    ({"timeout": -1}, ValueError, "timeout"),
])
def test_bad_arguments(clock, kwargs, exc, word):
    with pytest.raises(exc) as info:
        make(clock, **kwargs)
    assert word in str(info.value)


def test_parse_addresses():
    assert parse_addresses("h", 1) == [("tcp", "h", 1)]
    assert parse_addresses("h:2", 1) == [("tcp", "h", 2)]
    assert parse_addresses("[::1]:3", 1) == [("tcp", "::1", 3)]
    assert parse_addresses(None, None) == [("tcp", "localhost", 9090)]
    assert parse_addresses(["a:1", "b", ("c", 4)], 9) == [
        ("tcp", "a", 1), ("tcp", "b", 9), ("tcp", "c", 4)]
    assert parse_addresses("tcp:host=h:port=5", 9090) == [("endpoint", "tcp:host=h:port=5", None)]
    assert parse_addresses("unix:path=/tmp/s", 9090) == [("endpoint", "unix:path=/tmp/s", None)]


# ------------------------------------------------------------------ connecting

def test_table_is_free_and_calls_connect_lazily(fc, clock):
    conn = make(clock, "h", 1, transport="framed", protocol="compact", timeout=500)
    t = conn.table("x")
    assert t.name == b"x" and fc.attempts == []
    d1 = t.row(b"r")
    d2 = t.row(b"s")
    assert len(fc.attempts) == 1  # one connection attempt for both calls
    where, kwargs, _ = fc.attempts[0]
    assert where == "h:1"
    assert kwargs["transport"] == "framed" and kwargs["protocol"] == "compact"
    assert kwargs["timeout"] == 500 and kwargs["connect_timeout"] == 500
    p = fc.succeed()
    assert [c[0] for c in p.calls] == ["getRowWithColumns", "getRowWithColumns"]
    p.answer([])
    p.answer([])
    assert result_of(d1) == {} and result_of(d2) == {}
    assert conn.connected


def test_open_fires_with_connection_and_async_with(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.open()
    fc.succeed()
    assert result_of(d) is conn

    async def use():
        async with make(clock, "h", 2) as c:
            return c

    d = defer.ensureDeferred(use())
    fc.succeed()
    c = result_of(d)
    assert c.closed and not c.connected


def test_reconnect_after_server_closed_connection(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p1 = fc.succeed()
    p1.lose()  # e.g. the gateway closed an idle connection
    assert not conn.connected
    d = conn.tables()
    assert len(fc.attempts) == 2
    p2 = fc.succeed()
    p2.answer([b"a"])
    assert result_of(d) == [b"a"]
    assert conn.connects == 2


def test_unsent_call_is_resent_once_on_a_new_connection(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p1 = fc.succeed()

    def refuse(name, *args, timeout=None):
        p1.connected = False
        return defer.fail(errors.ConnectionLost("not connected", sent=False))

    p1.call = refuse  # the connection died but the loss was not yet seen
    d = conn.tables()
    p2 = fc.succeed()
    p2.answer([b"t"])
    assert result_of(d) == [b"t"]


def test_sent_call_lost_is_not_retried(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.tables()
    p = fc.succeed()
    p.lose()
    with pytest.raises(errors.ConnectionLost):
        result_of(d)
    assert len(fc.attempts) == 1


def test_host_list_failover(fc, clock):
    conn = make(clock, ["a:1", "b:2", "c:3"])
    d = conn.open()
    fc.refuse()
    assert fc.attempts[-1][0] == "b:2"
    p = fc.succeed()
    assert result_of(d) is conn and conn.address == "b:2"
    p.lose()
    conn.open()
    assert fc.attempts[-1][0] == "b:2"  # the current gateway first
    fc.refuse()
    assert fc.attempts[-1][0] == "c:3"
    fc.refuse()
    assert fc.attempts[-1][0] == "a:1"


def test_all_gateways_down(fc, clock):
    conn = make(clock, ["a:1", "b:2"])
    d = conn.open()
    fc.refuse()
    fc.refuse()
    with pytest.raises(errors.ConnectionLost) as info:
        result_of(d)
    assert "a:1" in str(info.value) and "b:2" in str(info.value)
    assert info.value.sent is False


def test_endpoint_string(fc, clock):
    conn = make(clock, "unix:path=/tmp/hb.sock")
    conn.open()
    where, kwargs, _ = fc.attempts[0]
    assert where == "unix:path=/tmp/hb.sock" and kwargs["endpoint"] == where


def test_timeout_while_connecting(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.tables(timeout=100)
    clock.advance(0.099)
    assert not d.called
    clock.advance(0.002)
    with pytest.raises(errors.TimeoutError):
        result_of(d)
    # The connection attempt goes on for others.
    d2 = conn.tables()
    assert len(fc.attempts) == 1
    p = fc.succeed()
    assert p.calls[0][2] is None
    p.answer([])
    assert result_of(d2) == []


def test_per_call_timeout_is_passed_down(fc, clock):
    conn = make(clock, "h", 1, timeout=1000)
    conn.open()
    p = fc.succeed()
    conn.table("t").row(b"r", timeout=20)
    assert p.calls[-1][2] == 20


def test_cancel_while_connecting(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.tables()
    d.cancel()
    with pytest.raises(defer.CancelledError):
        result_of(d)
    p = fc.succeed()
    assert p.calls == []  # the cancelled call was never sent


def test_close_is_idempotent_and_blocks_calls(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p = fc.succeed()
    assert result_of(conn.close()) is None
    assert p.closed
    assert result_of(conn.close()) is None
    with pytest.raises(errors.ConnectionLost) as info:
        result_of(conn.tables())
    assert info.value.sent is False
    conn.open()
    fc.succeed()
    assert conn.connected


def test_close_while_connecting_fails_waiters(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.tables()
    conn.close()
    with pytest.raises(errors.ConnectionLost):
        result_of(d)


def test_slow_calls_are_logged(fc, clock, caplog):
    conn = make(clock, "h", 1, slow_call_ms=50)
    conn.open()
    p = fc.succeed()
    d = conn.tables()
    clock.advance(0.2)
    with caplog.at_level(logging.WARNING, logger="txhbase.connection"):
        p.answer([])
    result_of(d)
    assert any("slow call: getTableNames" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ admin

def test_table_prefix_applied_and_stripped(fc, clock):
    conn = make(clock, "h", 1, table_prefix="app", table_prefix_separator=":")
    assert conn.table("t").name == b"app:t"
    assert conn.table("t", use_prefix=False).name == b"t"
    d = conn.tables()
    p = fc.succeed()
    p.answer([b"app:one", b"other", b"app:two", b"app"])
    assert result_of(d) == [b"one", b"two"]


def test_create_table(fc, clock):
    conn = make(clock, "h", 1, table_prefix=b"p")
    d = conn.create_table("t", {"cf1": {"max_versions": 10, "block_cache_enabled": True,
                                        "time_to_live": 60, "compression": "GZ"},
                                b"cf2:": None})
    p = fc.succeed()
    name, cds = p.calls[0][1]
    assert name == b"p_t"
    assert [(c.name, c.maxVersions, c.blockCacheEnabled, c.timeToLive, c.compression)
            for c in cds] == [(b"cf1:", 10, True, 60, "GZ"), (b"cf2:", 3, False, 2147483647, "NONE")]
    p.answer(None)
    t = result_of(d)
    assert t.name == b"p_t"


@pytest.mark.parametrize("families,exc", [
    ([], TypeError), ({}, ValueError), ({"cf": {"maxVersions": 3}}, ValueError),
    ({"cf": {"max_versions": "3"}}, TypeError), ({"cf": 3}, TypeError),
    ({"": {}}, ValueError), ({"cf": {}, "cf:": {}}, ValueError),
])
def test_create_table_bad_families(fc, clock, families, exc):
    conn = make(clock, "h", 1)
    with pytest.raises(exc, match="families"):
        conn.create_table("t", families)
    assert fc.attempts == []


def test_delete_table_with_disable(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.delete_table("t", disable=True)
    p = fc.succeed()
    p.answer(True)
    p.answer(None)
    p.answer(None)
    assert [c[0] for c in p.calls] == ["isTableEnabled", "disableTable", "deleteTable"]
    assert result_of(d) is None
    conn.delete_table("t")
    assert p.calls[-1][0] == "deleteTable"


def test_admin_calls(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p = fc.succeed()
    conn.enable_table("t")
    conn.disable_table("t")
    d = conn.is_table_enabled("t")
    conn.compact_table("t")
    conn.compact_table("t", major=True)
    assert [(c[0], c[1]) for c in p.calls] == [
        ("enableTable", (b"t",)), ("disableTable", (b"t",)), ("isTableEnabled", (b"t",)),
        ("compact", (b"t",)), ("majorCompact", (b"t",))]


def test_slow_call_warnings_are_rate_limited(fc, clock, caplog):
    conn = make(clock, "h", 1, slow_call_ms=50)
    conn.open()
    p = fc.succeed()
    ds = [conn.tables() for _ in range(100)]
    clock.advance(0.2)
    with caplog.at_level(logging.WARNING, logger="txhbase.connection"):
        for _ in ds:
            p.answer([])
        clock.advance(1.5)
        d = conn.tables()
        clock.advance(0.2)
        p.answer([])
    slow = [r.getMessage() for r in caplog.records if "slow call" in r.getMessage()]
    assert len(slow) == 2
    assert "99 more slow calls not logged" in slow[1]


# ------------------------------------------------------------------ graceful close

def test_close_with_grace_lets_calls_in_flight_finish(fc, clock):
    conn = make(clock, "a:1")
    d = conn.call("getTableNames")
    p = fc.succeed()
    closing = conn.close(grace=5)
    assert not closing.called and not p.closed
    late = conn.call("getTableNames")
    exc = failure_of(late)
    assert isinstance(exc, errors.ConnectionLost) and exc.sent is False
    p.answer([b"t"])
    assert result_of(d) == [b"t"]
    assert result_of(closing) is None and p.closed


def test_close_with_grace_closes_what_is_left_when_it_ends(fc, clock):
    conn = make(clock, "a:1")
    d = conn.call("getTableNames")
    p = fc.succeed()
    closing = conn.close(grace=5)
    clock.advance(4.9)
    assert not closing.called and not p.closed
    clock.advance(0.1)
    assert result_of(closing) is None and p.closed
    assert conn.closed


def test_close_without_grace_during_a_graceful_close_closes_at_once(fc, clock):
    conn = make(clock, "a:1")
    conn.call("getTableNames")
    p = fc.succeed()
    closing = conn.close(grace=5)
    assert result_of(conn.close()) is None and p.closed
    assert result_of(closing) is None


def test_close_grace_is_checked(fc, clock):
    conn = make(clock, "a:1")
    with pytest.raises(TypeError, match="grace"):
        conn.close(grace="soon")
    with pytest.raises(ValueError, match="grace"):
        conn.close(grace=-1)


def failure_of(d):
    out = []
    d.addErrback(lambda f: out.append(f.value))
    assert out, "Deferred has not failed"
    return out[0]


# ------------------------------------------------------------------ the live-channel fast path

def test_call_on_a_live_channel_is_written_at_once_and_errors_propagate(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p = fc.succeed()
    d = conn.call("getTableNames")
    assert len(p.calls) == 1 and conn.pending == 1  # written synchronously
    p.calls[0][3].errback(errors.HBaseIOError("no such table", False))
    exc = failure_of(d)
    assert isinstance(exc, errors.HBaseIOError) and str(exc) == "no such table"
    assert conn.pending == 0


def test_channel_raising_on_a_live_channel_fails_the_deferred(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p = fc.succeed()

    def bad(name, *args, timeout=None):
        raise TypeError("getTableNames(): cannot encode arguments")

    p.call = bad
    exc = failure_of(conn.call("getTableNames"))
    assert isinstance(exc, TypeError) and conn.pending == 0
    assert len(fc.attempts) == 1  # not re-sent: only a lost connection is


def test_unsent_call_is_resent_only_once(fc, clock):
    conn = make(clock, "h", 1)
    conn.open()
    p1 = fc.succeed()

    def refusing(p):
        def refuse(name, *args, timeout=None):
            p.connected = False  # it died; the loss was not yet seen
            return defer.fail(errors.ConnectionLost("not connected", sent=False))
        return refuse

    p1.call = refusing(p1)
    d = conn.tables()
    p2 = fc.succeed()
    p2.calls[0][3].errback(errors.ConnectionLost("not connected", sent=False))
    exc = failure_of(d)
    assert isinstance(exc, errors.ConnectionLost) and exc.sent is False
    assert len(fc.attempts) == 2 and conn.pending == 0


def test_failing_to_connect_is_not_resent(fc, clock):
    conn = make(clock, "h", 1)
    d = conn.tables()
    fc.refuse()
    exc = failure_of(d)
    assert isinstance(exc, errors.ConnectionLost) and exc.sent is False
    assert len(fc.attempts) == 1 and conn.pending == 0


def test_slow_resent_call_is_logged_once_with_its_whole_time(fc, clock, caplog):
    conn = make(clock, "h", 1, slow_call_ms=50)
    conn.open()
    p1 = fc.succeed()

    def refuse(name, *args, timeout=None):
        p1.connected = False
        return defer.fail(errors.ConnectionLost("not connected", sent=False))

    p1.call = refuse
    d = conn.tables()
    clock.advance(0.03)
    p2 = fc.succeed()
    clock.advance(0.03)
    with caplog.at_level(logging.WARNING, logger="txhbase.connection"):
        p2.answer([b"t"])
    assert result_of(d) == [b"t"]
    slow = [r.getMessage() for r in caplog.records if "slow call" in r.getMessage()]
    assert slow == [f"slow call: getTableNames on {conn.address} took 60 ms"]
