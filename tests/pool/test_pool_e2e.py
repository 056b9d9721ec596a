"""End-to-end: a pool over three gateways (fault proxies in front of one backend).

Real Thrift gateways are stateless in front of one HBase cluster, so the
"gateways" here are ``FaultProxy`` listeners in front of the session's
gateway (embedded server or real HBase): killing one (stop listening, reset
its connections) and restarting it on the same port is a gateway restart,
and faults (stall, drop mid-reply, corrupt) hit calls the backend may
already have applied.  One test also stops and restarts an embedded server
itself on the same port.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from txhbase import errors
from txhbase.connection import Connection
from txhbase.pool import ConnectionPool, PoolListener
from tests.pool.faultproxy import FaultProxy

TABLE = b"txhbase_pool_e2e"
CALL_TIMEOUT_MS = 1500
MAX_RETRIES = 4
# Bound on one pooled call: every attempt may time out, plus back-off waits.
CALL_BOUND = (MAX_RETRIES + 1) * (CALL_TIMEOUT_MS / 1000.0 + 0.5) + 2.0


def sleep(seconds):
    return task.deferLater(reactor, seconds)


class Events(PoolListener):
    def __init__(self):
        self.events = []

    def server_marked_down(self, event):
        self.events.append(("down", event["server"]))

    def server_marked_up(self, event):
        self.events.append(("up", event["server"]))


async def direct(gateway):
    conn = Connection(gateway.host, gateway.port, **gateway.wire, timeout=10000)
    await conn.open()
    return conn


async def ensure_table(gateway):
    conn = await direct(gateway)
    try:
        if TABLE not in await conn.tables():
            try:
                await conn.create_table(TABLE, {"cf": {"max_versions": 1}})
            except errors.AlreadyExists:
                pass
    finally:
        await conn.close()


@pytest.fixture
def proxies(gateway):
    ps = [FaultProxy(gateway.host, gateway.port) for _ in range(3)]
    for p in ps:
        p.listen(0)
    pytest_twisted.blockon(defer.ensureDeferred(ensure_table(gateway)))
    yield ps
    for p in ps:
        pytest_twisted.blockon(p.stop())


def make_pool(gateway, proxies, size=3, **kw):
    kw.setdefault("down_interval", 0.3)
    kw.setdefault("max_down_interval", 1.0)
    return ConnectionPool(size, servers=[f"127.0.0.1:{p.port}" for p in proxies],
                          **gateway.wire, timeout=CALL_TIMEOUT_MS, max_retries=MAX_RETRIES,
                          retry_backoff=0.05, max_retry_backoff=0.5, **kw)


class _Failed:
    """A call's Failure as a plain value: ``check`` and ``value`` like Failure's."""

    def __init__(self, failure):
        self.failure = failure
        self.value = failure.value
        self.check = failure.check

    def __repr__(self):
        return f"<failed: {self.value!r}>"


def settled(d, seconds=CALL_BOUND):
    """``bounded``, but a failed call fires with a ``_Failed`` value instead of raising."""
    return bounded(d.addErrback(_Failed), seconds)


def bounded(d, seconds=CALL_BOUND):
    """Fail the test (not the call) if ``d`` has not fired within ``seconds``."""
    out = defer.Deferred()
    timer = reactor.callLater(seconds, lambda: out.called or out.errback(
        AssertionError(f"a pooled call did not fire within {seconds} s")))

    def done(result):
        if timer.active():
            timer.cancel()
            out.callback(result)  # a Failure fails ``out``: the awaiting test sees it raised
        return None

    d.addBoth(done)
    return out


def victim_port(proxy):
    return proxy.last_port


def proxy_for(proxies, address):
    port = int(address.rpartition(":")[2])
    return next(p for p in proxies if p.port == port)


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_kill_and_restart_gateway_mid_workload(gateway, proxies, row_prefix):
    events = Events()
    pool = make_pool(gateway, proxies, listeners=[events])
    table = pool.table(TABLE)
    victim = proxies[0]
    victim_address = f"127.0.0.1:{victim.port}"
    acked, failed = [], []
    counter = {"acked": 0, "maybe": 0, "other": []}

    async def inc():
        r = await settled(table.counter_inc(row_prefix + b"counter", b"cf:n", 1))
        if not hasattr(r, "check"):
            counter["acked"] += 1
        elif r.check(errors.TxHBaseError) and r.value.maybe_applied is not False:
            counter["maybe"] += 1
        else:
            counter["other"].append(r.value)

    async def put(i):
        key = row_prefix + b"%04d" % i
        r = await settled(table.put(key, {b"cf:v": b"%d" % i}))
        if r is None:
            acked.append(key)
        else:
            assert r.check(errors.TxHBaseError), r
            failed.append((key, r.value))

    try:
        for wave in range(12):
            if wave == 4:
                await victim.stop()  # gateway dies: connections reset, port closed
            if wave == 8:
                victim.listen(int(victim_address.rpartition(":")[2]))  # same port
                await sleep(1.1)  # past its down interval
            await defer.gatherResults([defer.ensureDeferred(put(wave * 10 + i)) for i in range(10)]
                                      + [defer.ensureDeferred(inc()) for _ in range(3)])
            await sleep(0.05)
        assert acked, "no put succeeded"
        assert not failed, f"puts failed although two gateways stayed up: {failed[:3]}"
        assert pool.stats.failures.get(victim_address, 0) >= 1
        assert ("down", victim_address) in events.events
        assert ("up", victim_address) in events.events
        # Every acknowledged put is readable afterwards.
        conn = await direct(gateway)
        try:
            rows = dict(await conn.table(TABLE).rows(acked))
        finally:
            await conn.close()
        assert sorted(rows) == sorted(acked)
        for key in acked:
            assert rows[key] == {b"cf:v": b"%d" % int(key[-4:])}
        # Increments were never repeated: acked <= value <= acked + maybe applied.
        assert not counter["other"], counter["other"]
        value = await table.counter_get(row_prefix + b"counter", b"cf:n")
        assert counter["acked"] <= value <= counter["acked"] + counter["maybe"]
        assert counter["acked"] >= 20
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_non_idempotent_call_not_repeated_after_lost_reply(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=1)
    table = pool.table(TABLE)
    try:
        await table.row(row_prefix + b"warm")
        (rec,) = pool.connection_status()
        proxy = proxy_for(proxies, rec["server"])
        proxy.drop_mid_reply(3)  # the increment reaches HBase; its reply is cut
        with pytest.raises((errors.ConnectionLost, errors.ProtocolError)) as info:
            await bounded(table.counter_inc(row_prefix + b"c", b"cf:n", 5))
        assert info.value.maybe_applied is True
        assert len(info.value.attempts) == 1
        assert await table.counter_get(row_prefix + b"c", b"cf:n") == 5  # applied exactly once
        # A put after a lost reply is retried (idempotent) and lands.
        (rec,) = pool.connection_status()
        proxy_for(proxies, rec["server"]).drop_mid_reply(2)
        await bounded(table.put(row_prefix + b"p", {b"cf:v": b"1"}))
        assert await table.row(row_prefix + b"p") == {b"cf:v": b"1"}
        assert pool.stats.retries >= 1
    finally:
        await pool.close()


@pytest.mark.backend
@pytest.mark.socket_only("counts retries after corrupting bytes mid-stream")
@pytest_twisted.ensureDeferred
async def test_corrupt_and_stalled_replies_are_retried_elsewhere(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=1)
    table = pool.table(TABLE)
    try:
        await table.put(row_prefix + b"r", {b"cf:v": b"x"})
        (rec,) = pool.connection_status()
        proxy_for(proxies, rec["server"]).corrupt_next(0, 0xFF)
        assert await bounded(table.row(row_prefix + b"r")) == {b"cf:v": b"x"}
        (rec,) = pool.connection_status()
        stalled = proxy_for(proxies, rec["server"])
        stalled.stall()
        start = reactor.seconds()
        assert await bounded(table.row(row_prefix + b"r")) == {b"cf:v": b"x"}
        took = reactor.seconds() - start
        assert CALL_TIMEOUT_MS / 1000.0 <= took < CALL_BOUND
        assert pool.stats.retries >= 2
        stalled.unstall()
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_scan_survives_gateway_kill_rows_exactly_once(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=2)
    table = pool.table(TABLE)
    keys = [row_prefix + b"s%03d" % i for i in range(60)]
    try:
        await defer.gatherResults([defer.ensureDeferred(table.put(k, {b"cf:v": k})) for k in keys])
        for kw in ({"batch_size": 7}, {"batch_size": 5, "reverse": True}):
            scanner = table.scan(row_prefix=row_prefix + b"s", **kw)
            got = []
            while True:
                item = await bounded(scanner.get_next())
                if item is None:
                    break
                got.append(item)
                if len(got) == 17:
                    # The gateway dies under the open scanner: it cannot reconnect
                    # there, so the pool reopens the scan on another gateway.
                    victim = proxy_for(proxies, scanner.address)
                    retries = pool.stats.retries
                    await victim.stop()
            assert pool.stats.retries > retries
            expected = list(reversed(keys)) if kw.get("reverse") else keys
            assert [k for k, _ in got] == expected
            assert all(d == {b"cf:v": k} for k, d in got)
            victim.listen(victim_port(victim))
            await sleep(1.1)  # let the gateway come back before the next scan
        assert pool.stats.in_use == 0
    finally:
        await pool.close()


@pytest.mark.backend
@pytest.mark.socket_only("starts a server without a certificate", wires=("https",))
@pytest_twisted.ensureDeferred
async def test_restart_embedded_server_on_same_port(gateway, tmp_path, row_prefix):
    if gateway.backend != "embedded":
        pytest.skip("restarts an embedded server")
    from txhbase import server as embedded

    srv = embedded.listen(0, transport=gateway.transport, protocol=gateway.protocol,
                          data_dir=str(tmp_path))
    port = srv.port
    events = Events()
    pool = ConnectionPool(2, servers=[f"127.0.0.1:{port}"], transport=gateway.transport,
                          protocol=gateway.protocol, timeout=CALL_TIMEOUT_MS, max_retries=2,
                          retry_backoff=0.05, down_interval=0.3, listeners=[events])
    try:
        conn = Connection("127.0.0.1", port, transport=gateway.transport,
                          protocol=gateway.protocol, timeout=5000)
        await conn.create_table(TABLE, {"cf": {}})
        await conn.close()
        table = pool.table(TABLE)
        await table.put(b"k1", {b"cf:v": b"1"})
        await srv.stop()
        with pytest.raises((errors.AllServersUnavailable, errors.ConnectionLost,
                            errors.TimeoutError)) as info:
            await bounded(table.row(b"k1"))
        assert info.value.attempts or isinstance(info.value, errors.AllServersUnavailable)
        srv = embedded.listen(port, transport=gateway.transport, protocol=gateway.protocol,
                              data_dir=str(tmp_path))
        await sleep(0.7)
        assert await bounded(table.row(b"k1")) == {b"cf:v": b"1"}  # durable, same port
        assert ("up", f"127.0.0.1:{port}") in events.events
    finally:
        await pool.close()
        await srv.stop()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_truncated_reply_append_and_check_and_put_not_repeated(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=1)
    table = pool.table(TABLE)
    row = row_prefix + b"a"
    try:
        await table.put(row, {b"cf:s": b"x"})
        for call in (lambda: table.append(row, {b"cf:s": b"y"}),
                     lambda: table.check_and_put(row, b"cf:s", b"xy", {b"cf:t": b"done"})):
            await table.exists(row)  # a pooled connection to arm the fault on
            (rec,) = pool.connection_status()
            proxy_for(proxies, rec["server"]).truncate_next(5)
            with pytest.raises((errors.ConnectionLost, errors.ProtocolError)) as info:
                await bounded(call())
            assert info.value.maybe_applied is True and len(info.value.servers) == 1
        # Each was applied exactly once by the server although its reply was cut.
        assert await table.row(row) == {b"cf:s": b"xy", b"cf:t": b"done"}
        assert pool.stats.retries == 0
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_unordered_scanners_cover_range_once_across_a_reset(gateway, proxies, row_prefix):
    if gateway.backend != "embedded":
        pytest.skip("pre-splits the table on the embedded server")
    name = b"txhbase_pool_split"
    gateway.server.split_table(name, [row_prefix + b"10", row_prefix + b"20", row_prefix + b"30"])
    conn = await direct(gateway)
    try:
        if name not in await conn.tables():
            await conn.create_table(name, {"cf": {}})
    finally:
        await conn.close()
    pool = make_pool(gateway, proxies, size=3)
    table = pool.table(name)
    keys = [row_prefix + b"%02d" % i for i in range(40)]
    try:
        await defer.gatherResults([defer.ensureDeferred(table.put(k, {b"cf:v": b"1"})) for k in keys])
        scanners = await table.unordered_scanners(3, row_prefix=row_prefix, batch_size=4)
        reset = []
        assert len(scanners) == 3

        async def drain(i, s):
            out = []
            while True:
                item = await bounded(s.get_next())
                if item is None:
                    return out
                out.append(item[0])
                if i == 1 and len(out) == 3:
                    # Connection reset: the scanner resumes (on a new connection).
                    proxy_for(proxies, s.address).drop_all()
                    reset.append(True)

        parts = await defer.gatherResults([defer.ensureDeferred(drain(i, s))
                                           for i, s in enumerate(scanners)])
        got = [k for part in parts for k in part]
        assert sorted(got) == keys and len(got) == len(set(got))
        assert all(part == sorted(part) for part in parts)
        assert reset, "the fault was not injected"
        assert pool.stats.in_use == 0
        with pytest.raises(ValueError):
            table.unordered_scanners(2, reverse=True)
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_idle_connection_closed_by_gateway_is_replaced_silently(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=1)
    table = pool.table(TABLE)
    try:
        await table.put(row_prefix + b"i", {b"cf:v": b"1"})
        (rec,) = pool.connection_status()
        proxy_for(proxies, rec["server"]).drop_all()  # like HBase's 60 s idle close
        await sleep(0.05)
        assert await bounded(table.row(row_prefix + b"i")) == {b"cf:v": b"1"}
        # The caller saw nothing, and the pool did not even need a retry.
        assert pool.stats.retries == 0 and pool.stats.failed_calls == 0
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_keep_warm_calls_idle_connections(gateway, proxies):
    pool = make_pool(gateway, proxies, size=2, keepalive=0.2, prefill=True)
    try:
        await sleep(0.1)
        assert pool.stats.idle == 2
        before = sum(p.bytes_up for p in proxies)
        await sleep(0.5)
        assert sum(p.bytes_up for p in proxies) > before  # getTableNames while idle
        assert pool.stats.in_use == 0 and pool.stats.opened == 2 and pool.stats.disposed == 0
    finally:
        await pool.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_slow_but_timely_gateways_are_not_marked_down(gateway, proxies, row_prefix):
    pool = make_pool(gateway, proxies, size=2)
    table = pool.table(TABLE)
    try:
        await table.put(row_prefix + b"d", {b"cf:v": b"1"})
        for p in proxies:
            p.delay = 0.3  # well under the 1.5 s call timeout
        start = reactor.seconds()
        assert await bounded(table.row(row_prefix + b"d")) == {b"cf:v": b"1"}
        assert reactor.seconds() - start >= 0.3
        assert pool.stats.retries == 0 and pool.stats.failures == {}
    finally:
        for p in proxies:
            p.delay = 0.0
        await pool.close()


@pytest.mark.backend
@pytest.mark.socket_only("counts TCP reconnects of one socket")
@pytest_twisted.ensureDeferred
async def test_gateway_idle_timeout_reopen_and_keep_warm(gateway):
    if gateway.backend != "embedded":
        pytest.skip("needs an embedded server with a short idle timeout")
    from txhbase import server as embedded

    srv = embedded.listen(0, transport=gateway.transport, protocol=gateway.protocol,
                          idle_timeout=0.3)
    conn = Connection("127.0.0.1", srv.port, transport=gateway.transport,
                      protocol=gateway.protocol, timeout=5000)
    await conn.create_table(TABLE, {"cf": {}})
    await conn.close()
    servers = [f"127.0.0.1:{srv.port}"]
    opts = dict(transport=gateway.transport, protocol=gateway.protocol, timeout=CALL_TIMEOUT_MS)
    cold = ConnectionPool(1, servers=servers, **opts)
    warm = ConnectionPool(1, servers=servers, keepalive=0.1, **opts)
    try:
        for pool in (cold, warm):
            await pool.table(TABLE).exists(b"x")
        await sleep(0.8)  # the gateway closes connections idle for 0.3 s
        for pool in (cold, warm):
            assert await bounded(pool.table(TABLE).exists(b"x")) is False
            assert pool.stats.retries == 0 and pool.stats.failed_calls == 0
        (cold_rec,) = cold.connection_status()
        (warm_rec,) = warm.connection_status()
        assert cold_rec["connection"].connects == 2  # reopened under the caller, silently
        assert warm_rec["connection"].connects == 1  # kept warm: never closed as idle
    finally:
        await cold.close()
        await warm.close()
        await srv.stop()


@pytest.mark.backend
@pytest.mark.socket_only("counts calls pipelined per TCP connection")
@pytest_twisted.ensureDeferred
async def test_64_concurrent_rows_pipeline_on_2_connections(gateway, row_prefix):
    await ensure_table(gateway)
    proxy = FaultProxy(gateway.host, gateway.port)  # counts the server-side connections
    proxy.listen(0)
    pool = make_pool(gateway, [proxy], size=2)
    table = pool.table(TABLE)
    try:
        conn = await direct(gateway)
        try:
            for i in range(64):
                await conn.table(TABLE).put(row_prefix + b"%02d" % i, {b"cf:v": b"%d" % i})
        finally:
            await conn.close()
        await pool.prefill()
        ds = [table.row(row_prefix + b"%02d" % i) for i in range(64)]
        # All 64 were written at once, pipelined 32 per connection (no reply
        # can have arrived: the reactor has not run since).
        assert sorted(r["in_flight"] for r in pool.connection_status() if r["shared"]) == [32, 32]
        rows = await bounded(defer.gatherResults(ds))
        assert rows == [{b"cf:v": b"%d" % i} for i in range(64)]
        assert proxy.connections <= 2 and pool.stats.opened == 2
        assert pool.stats.in_use == 0 and pool.stats.calls == 64
    finally:
        await pool.close()
        await proxy.stop()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_two_gateways_killed_and_revived_in_turn_fail_no_call(gateway, proxies, row_prefix):
    """Issue 12 item 6: one of two gateways always accepts connections, but
    each is revived while still marked down and the other is killed right
    after: every gateway is 'down' at times. Down is a hint, so no put and
    no scan may fail, with a CPU-bound process competing for the cores."""
    a, b = proxies[:2]
    ports = {id(p): p.port for p in (a, b)}
    pool = make_pool(gateway, [a, b], size=2, down_interval=2.0, max_down_interval=8.0)
    table = pool.table(TABLE)
    seeded = [row_prefix + b"s%03d" % i for i in range(60)]
    await defer.gatherResults([table.put(k, {b"cf:v": k}) for k in seeded])
    acked, failed, scanned = [], [], []
    done = []

    async def writer(w):
        i = 0
        while not done:
            key = row_prefix + b"w%d-%04d" % (w, i)
            i += 1
            r = await settled(table.put(key, {b"cf:v": key}))
            if r is None:
                acked.append(key)
            else:
                failed.append((key, r.value))
            await sleep(0.01)

    async def reader():
        scanner = table.scan(row_prefix=row_prefix + b"s", batch_size=3)
        while True:
            item = await bounded(scanner.get_next())
            if item is None:
                return
            scanned.append(item[0])
            await sleep(0.04)

    # One core kept busy by another process, as in the issue's run.
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    writers = [defer.ensureDeferred(writer(w)) for w in range(4)]
    scan = defer.ensureDeferred(reader())
    try:
        for turn in range(6):
            victim = (a, b)[turn % 2]
            await victim.stop()        # connections reset, port closed
            await sleep(0.3)
            victim.listen(ports[id(victim)])
            await sleep(0.2)           # back, but still inside its down interval
        done.append(True)
        await defer.gatherResults(writers)
        await bounded(scan)
        assert not failed, f"{len(failed)} puts failed while a gateway was up: {failed[:3]}"
        assert len(acked) > 40
        assert scanned == seeded
        assert pool.stats.failures, "no gateway was ever marked down: the test tested nothing"
        conn = await direct(gateway)
        try:
            rows = dict(await conn.table(TABLE).rows(acked))
        finally:
            await conn.close()
        assert sorted(rows) == sorted(acked)
    finally:
        burner.kill()
        burner.wait()
        done.append(True)
        await pool.close()
