"""Soak test: a mixed workload through a ConnectionPool while gateways are SIGKILLed.

Topology (all on 127.0.0.1)::

    workers -> ConnectionPool -> gateway 1..3 -> backend
                                 (subprocesses)   (python -m txhbase.server)

Real Thrift gateways are stateless processes in front of one HBase cluster;
here each gateway is a subprocess running the fault-injecting proxy from
``tests/pool/faultproxy.py`` in front of one embedded server subprocess (the
"cluster"), so killing a gateway with SIGKILL loses connections and calls in
flight - some already applied by the backend - but never stored data, exactly
like killing an HBase Thrift gateway.  Killed gateways are restarted on the
same port after a short pause.  Half of the chaos events are SIGKILLs; the
others signal a gateway to cut its next reply mid-way (SIGUSR1) or to stall
replies for longer than the call timeout (SIGUSR2); ``--no-faults`` keeps
only the kills.

``--pattern flap`` (issue 12 item 6) kills and revives the gateways in turn
instead, each victim killed as soon as the previous one is back, so that at
every moment one gateway accepts connections while every gateway is often
still marked down; every ``--all-every``-th turn kills all of them at once
and revives them together.  One core is kept busy by a CPU-bound process
(``--burn``, on by default with this pattern).  A call that fails with
``AllServersUnavailable`` although no all-killed window overlapped it counts
as a **failure while a gateway was up** (must be 0); with this pattern no
put, read or scan may fail while a gateway accepts either (counter
increments whose reply was lost are not retried, and may fail).  With this pattern the
pool's retry budget is a time (``--retry-timeout``) longer than an
all-killed window, so no call needs to fail at all.

Every loop is bounded: the workload by ``--seconds`` and ``--max-calls``,
the chaos by ``--seconds`` and ``--turns``, a restart by 50 attempts.

At the end every acknowledged put is read back from the backend directly;
a put acknowledged but not readable with its value counts as **lost** (must be
0).  Counters check that non-idempotent calls were never repeated: the final
value lies between the sum of acknowledged increments and that sum plus the
increments that failed with ``maybe_applied=True``.

Usage::

    python bench/soak.py --seconds 60 [--concurrency 16] [--seed 1]
    python bench/soak.py --pattern flap --gateways 2 --seconds 60

Exit status 0 when nothing was lost, no call hung, the counter invariant held
and no call failed with ``AllServersUnavailable`` while a gateway accepted.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import subprocess
import sys
import time
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

TABLE = b"soak"
STALL_SECONDS = 3.0  # longer than the default per-call timeout: calls time out


# --------------------------------------------------------------------- gateway process

def run_gateway(target_port: int, port: int) -> int:
    """Child process: one proxy "gateway" in front of the backend."""
    from twisted.internet import reactor

    from tests.pool.faultproxy import FaultProxy

    proxy = FaultProxy("127.0.0.1", target_port, reactor=reactor)
    proxy.listen(port)

    def stall_a_while() -> None:
        proxy.stall()
        reactor.callLater(STALL_SECONDS, proxy.unstall)

    # SIGUSR1: cut the next reply after 3 bytes; SIGUSR2: stall replies for a while.
    signal.signal(signal.SIGUSR1, lambda *_: reactor.callFromThread(proxy.drop_mid_reply, 3))
    signal.signal(signal.SIGUSR2, lambda *_: reactor.callFromThread(stall_a_while))
    print(f"gateway listening on 127.0.0.1:{proxy.port}", flush=True)
    reactor.run()
    return 0


# --------------------------------------------------------------------- parent

class _Watch:
    """ProcessProtocol factory: fires ``ready`` with the port from the 'listening on' line."""

    def __new__(cls, name: str) -> Any:
        from twisted.internet import defer, protocol

        class Proto(protocol.ProcessProtocol):
            def __init__(self) -> None:
                self.ready: defer.Deferred = defer.Deferred()
                self.ended: defer.Deferred = defer.Deferred()
                self.buf = b""

            def outReceived(self, data: bytes) -> None:
                self.buf += data
                m = re.search(rb"listening on [^:\s]+:(\d+)", self.buf)
                if m and not self.ready.called:
                    self.ready.callback(int(m.group(1)))

            errReceived = outReceived

            def processEnded(self, reason: Any) -> None:
                if not self.ready.called:
                    self.ready.errback(RuntimeError(f"{name} exited: {self.buf[-500:]!r}"))
                self.ended.callback(None)

        return Proto()


def spawn(reactor: Any, args: list, name: str) -> Any:
    proto = _Watch(name)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    reactor.spawnProcess(proto, sys.executable, [sys.executable] + args, env=env, path=ROOT)
    return proto


class Soak:
    def __init__(self, reactor: Any, opts: argparse.Namespace) -> None:
        self.reactor = reactor
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.backend: Any = None
        self.backend_port = 0
        self.gateways: list = []  # [proto or None, port]
        self.acked: dict = {}     # row -> value of the last acknowledged put
        self.counter_acked = 0
        self.counter_maybe = 0
        self.calls = collections.Counter()
        self.failed = collections.Counter()
        self.failed_kinds: "collections.Counter[str]" = collections.Counter()  # (kind, error) -> n
        self.samples: "list[str]" = []  # the first failure of each kind, with its attempts
        self.latencies: list = []
        self.hung = 0
        self.kills = 0
        self.faults: collections.Counter = collections.Counter()
        self.scan_problems = 0
        self.running = True
        self.all_down: "list[list[Any]]" = []  # [start, end or None]: windows with every gateway killed
        self.unavailable_while_up = 0
        self.retryable_failed_while_up = 0  # puts, reads, scans (retried, unlike counters)
        self.burner: "Optional[subprocess.Popen[bytes]]" = None

    # ----------------------------------------------------------------- processes

    async def start(self) -> None:
        self.backend = spawn(self.reactor, ["-m", "txhbase.server", "--port", "0",
                                            "--transport", self.opts.transport,
                                            "--protocol", self.opts.protocol], "backend")
        self.backend_port = await self.backend.ready
        for _ in range(self.opts.gateways):
            g = spawn(self.reactor, [os.path.abspath(__file__), "--gateway-target",
                                     str(self.backend_port), "--gateway-port", "0"], "gateway")
            port = await g.ready
            self.gateways.append([g, port])

    async def restart(self, i: int) -> None:
        port = self.gateways[i][1]
        for _ in range(50):
            g = spawn(self.reactor, [os.path.abspath(__file__), "--gateway-target",
                                     str(self.backend_port), "--gateway-port", str(port)],
                      "gateway")
            try:
                await g.ready
            except RuntimeError:  # port not free yet
                await self.sleep(0.1)
                continue
            self.gateways[i][0] = g
            if self.all_down and self.all_down[-1][1] is None:
                self.all_down[-1][1] = self.reactor.seconds()
            return
        raise RuntimeError(f"could not restart gateway on port {port}")

    def kill(self, i: int) -> Any:
        g = self.gateways[i][0]
        self.gateways[i][0] = None
        g.transport.signalProcess("KILL")
        self.kills += 1
        if all(p is None for p, _port in self.gateways):
            self.all_down.append([self.reactor.seconds(), None])
        return g.ended

    def overlaps_all_down(self, start: float, end: float) -> bool:
        """True when every gateway was killed at some moment in [start, end]."""
        return any(s <= end and (e is None or e >= start) for s, e in self.all_down)

    async def stop_all(self) -> None:
        from twisted.internet.error import ProcessExitedAlready

        if self.burner is not None:
            self.burner.kill()
            self.burner.wait()
            self.burner = None
        procs = [(g, "KILL") for g, _port in self.gateways if g is not None]
        if self.backend is not None:
            procs.append((self.backend, "TERM"))
        for proc, sig in procs:
            try:
                proc.transport.signalProcess(sig)
            except ProcessExitedAlready:
                pass
            await proc.ended

    def sleep(self, seconds: float) -> Any:
        from twisted.internet import task

        return task.deferLater(self.reactor, seconds)

    # ----------------------------------------------------------------- chaos

    async def killer(self) -> None:
        while self.running:
            await self.sleep(self.rng.uniform(self.opts.kill_min, self.opts.kill_max))
            if not self.running:
                break
            i = self.rng.randrange(len(self.gateways))
            if self.gateways[i][0] is None:
                continue
            fault = self.rng.random() if self.opts.faults else 0.0
            if fault < 0.5:
                await self.kill(i)
                await self.sleep(self.rng.uniform(0.5, 2.0))
                await self.restart(i)
            elif fault < 0.75:
                self.gateways[i][0].transport.signalProcess(signal.SIGUSR1)
                self.faults["drop-mid-reply"] += 1
            else:
                self.gateways[i][0].transport.signalProcess(signal.SIGUSR2)
                self.faults["stall"] += 1

    async def flapper(self) -> None:
        """Kill and revive the gateways in turn (one always accepts), and every
        ``all_every``-th turn all of them at once."""
        from twisted.internet import defer

        n = len(self.gateways)
        turns = self.opts.turns or int(self.opts.seconds * 20) + 1  # >= 50 ms a turn
        for turn in range(1, turns + 1):
            await self.sleep(self.rng.uniform(0.05, self.opts.flap_up))
            if not self.running:
                break
            if self.opts.all_every and turn % self.opts.all_every == 0:
                await defer.gatherResults([self.kill(i) for i in range(n)])
                self.faults["all killed at once"] += 1
                await self.sleep(self.rng.uniform(0.2, 0.6))
                await defer.gatherResults([defer.ensureDeferred(self.restart(i))
                                           for i in range(n)])
            else:
                # Revived gateways are still marked down when the next one dies.
                await self.kill(turn % n)
                await self.sleep(self.rng.uniform(0.1, 0.5))
                await self.restart(turn % n)

    # ----------------------------------------------------------------- workload

    async def timed(self, kind: str, d: Any) -> Any:
        start = self.reactor.seconds()
        self.calls[kind] += 1
        try:
            return await d
        finally:
            took = self.reactor.seconds() - start
            self.latencies.append(took)
            if took > self.opts.call_bound:
                self.hung += 1

    async def worker(self, wid: int, table: Any) -> None:
        from txhbase import errors

        rng = random.Random(self.opts.seed * 1000 + wid)
        mine_acked: list = []
        n = 0
        while self.running and sum(self.calls.values()) < self.opts.max_calls:
            n += 1
            op = rng.random()
            began = self.reactor.seconds()
            try:
                kind = "put" if op < 0.45 else "row" if op < 0.80 else \
                    "counter_inc" if op < 0.92 else "scan"
                if op < 0.45:
                    key = b"w%02d-%06d" % (wid, n)
                    value = b"%d" % rng.randrange(10 ** 9)
                    await self.timed("put", table.put(key, {b"cf:v": value}))
                    self.acked[key] = value
                    mine_acked.append(key)  # keys grow, so this stays sorted
                elif op < 0.80:
                    if not self.acked:
                        continue
                    key = rng.choice(list(self.acked)[-200:])
                    data = await self.timed("row", table.row(key))
                    if data.get(b"cf:v") != self.acked[key]:
                        self.failed["read-mismatch"] += 1
                elif op < 0.92:
                    try:
                        await self.timed("counter_inc", table.counter_inc(b"counter", b"cf:n", 1))
                        self.counter_acked += 1
                    except errors.TxHBaseError as exc:
                        if exc.maybe_applied is not False:
                            self.counter_maybe += 1
                        raise
                else:
                    prefix = b"w%02d-" % wid
                    keys = [k async for k, _ in table.scan(row_prefix=prefix, batch_size=50,
                                                           limit=300)]
                    self.calls["scan"] += 1
                    # Rows are delivered once, in order, and none is missing: every
                    # put this worker had acknowledged among the first 300 keys.
                    mine = mine_acked[:300]
                    if len(keys) != len(set(keys)) or keys != sorted(keys) \
                            or not set(mine) <= set(keys):
                        self.scan_problems += 1
            except errors.TxHBaseError as exc:
                self.failed[type(exc).__name__] += 1
                all_down = self.overlaps_all_down(began, self.reactor.seconds())
                where = "all killed" if all_down else "a gateway up"
                label = f"{kind} {type(exc).__name__} ({where})"
                self.failed_kinds[label] += 1
                if self.failed_kinds[label] == 1:  # one example of each
                    tries = [(a.server, type(a.error).__name__, round(a.at - began, 2))
                             for a in getattr(exc, "attempts", ())]
                    self.samples.append(f"{kind} after {self.reactor.seconds() - began:.2f} s "
                                        f"({where}): {exc!r:.300} attempts {tries}")
                if isinstance(exc, errors.AllServersUnavailable) and not all_down:
                    self.unavailable_while_up += 1
                if kind != "counter_inc" and not all_down:
                    self.retryable_failed_while_up += 1
                await self.sleep(0.05)

    # ----------------------------------------------------------------- verification

    async def verify(self) -> dict:
        from txhbase.connection import Connection

        conn = Connection("127.0.0.1", self.backend_port, transport=self.opts.transport,
                          protocol=self.opts.protocol, timeout=30000)
        table = conn.table(TABLE)
        lost = 0
        keys = list(self.acked)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = dict(await table.rows(chunk, columns=[b"cf:v"]))
            lost += sum(1 for k in chunk if rows.get(k, {}).get(b"cf:v") != self.acked[k])
        counter = await table.counter_get(b"counter", b"cf:n")
        await conn.close()
        return {"lost": lost, "counter": counter}

    async def run(self) -> int:
        from txhbase.connection import Connection
        from txhbase.pool import ConnectionPool

        await self.start()
        conn = Connection("127.0.0.1", self.backend_port, transport=self.opts.transport,
                          protocol=self.opts.protocol, timeout=10000)
        await conn.create_table(TABLE, {"cf": {"max_versions": 1}})
        await conn.close()
        if self.opts.pattern == "flap":
            # The issue's setting: a growing down interval (1, 2, 4, 8 s) and a
            # retry budget in time longer than an all-killed window.
            budget: "dict[str, Any]" = dict(max_retries=100, retry_timeout=self.opts.retry_timeout,
                                down_interval=1.0, max_down_interval=8.0)
        else:
            budget = dict(max_retries=4, retry_timeout=self.opts.retry_timeout,
                          down_interval=0.5, max_down_interval=2.0)
        pool = ConnectionPool(self.opts.pool_size,
                              servers=[f"127.0.0.1:{port}" for _, port in self.gateways],
                              transport=self.opts.transport, protocol=self.opts.protocol,
                              timeout=self.opts.timeout_ms, retry_backoff=0.05,
                              max_retry_backoff=0.5, reactor=self.reactor,
                              random=self.rng.random, **budget)
        table = pool.table(TABLE)
        from twisted.internet import defer

        if self.opts.burn:
            # One core kept busy by another process, as in the issue's run.
            self.burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        started = time.monotonic()
        chaos = self.flapper() if self.opts.pattern == "flap" else self.killer()
        killer = defer.ensureDeferred(chaos)
        workers = [defer.ensureDeferred(self.worker(i, table)) for i in range(self.opts.concurrency)]
        # Until --seconds have passed, or the flapping did its --turns.
        deadline = self.reactor.seconds() + self.opts.seconds
        while self.reactor.seconds() < deadline and not killer.called:
            await self.sleep(min(0.1, max(0.0, deadline - self.reactor.seconds())))
        self.running = False
        await defer.gatherResults(workers)
        await killer
        elapsed = time.monotonic() - started
        if self.burner is not None:
            self.burner.kill()
            self.burner.wait()
            self.burner = None
        for i, (g, _port) in enumerate(self.gateways):
            if g is None:
                await self.restart(i)
        result = await self.verify()
        stats = pool.stats.as_dict()
        await pool.close()
        await self.stop_all()

        total = sum(self.calls.values())
        lat = sorted(self.latencies) or [0.0]
        counter_ok = self.counter_acked <= result["counter"] <= self.counter_acked + self.counter_maybe
        down = sum((e or 0.0) - s for s, e in self.all_down)
        print(f"soak: {elapsed:.1f} s, pattern {self.opts.pattern}, {self.opts.gateways} gateways, "
              f"{self.kills} SIGKILLs, other faults {dict(self.faults)}, "
              f"concurrency {self.opts.concurrency}, pool size {self.opts.pool_size}, "
              f"CPU burner {'on' if self.opts.burn else 'off'}")
        print(f"every gateway killed: {len(self.all_down)} times, {down:.1f} s in all")
        print(f"calls made: {total} ({total / elapsed:.0f}/s)  by kind: {dict(self.calls)}")
        print(f"failed: {sum(self.failed.values())} {dict(self.failed)}")
        print(f"failed by call: {dict(self.failed_kinds)}")
        for sample in self.samples:
            print("  e.g.", sample)
        print(f"AllServersUnavailable while a gateway accepted: {self.unavailable_while_up}")
        print(f"puts, reads and scans failed while a gateway accepted: "
              f"{self.retryable_failed_while_up}")
        print(f"retried: {stats['retries']}  connections opened: {stats['opened']}  "
              f"gateway failures: {stats['failures']}")
        print(f"latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 "
              f"{lat[int(len(lat) * 0.99)] * 1000:.1f} ms, max {lat[-1] * 1000:.0f} ms; "
              f"calls over {self.opts.call_bound} s (hung): {self.hung}")
        print(f"acknowledged puts: {len(self.acked)}  lost: {result['lost']}")
        print(f"counter: {result['counter']} (acknowledged {self.counter_acked}, "
              f"maybe applied {self.counter_maybe}) -> {'ok' if counter_ok else 'VIOLATED'}")
        print(f"scans with duplicate, out-of-order or missing rows: {self.scan_problems}")
        ok = result["lost"] == 0 and counter_ok and self.hung == 0 and self.scan_problems == 0 \
            and self.failed["read-mismatch"] == 0 and self.unavailable_while_up == 0
        if self.opts.pattern == "flap":
            # Only kills here (no cut or stalled replies): every retried call must survive
            # while a gateway accepts; a counter's lost reply is not retried.
            ok = ok and self.retryable_failed_while_up == 0
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1


def parse(argv: Optional[list] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="workload duration")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent workers")
    p.add_argument("--pool-size", type=int, default=6)
    p.add_argument("--gateways", type=int, default=3)
    p.add_argument("--timeout-ms", type=float, default=2000.0, help="per-call timeout")
    p.add_argument("--kill-min", type=float, default=2.0, help="min seconds between kills")
    p.add_argument("--kill-max", type=float, default=6.0, help="max seconds between kills")
    p.add_argument("--transport", choices=["buffered", "framed"], default="buffered")
    p.add_argument("--protocol", choices=["binary", "compact"], default="binary")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pattern", choices=["random", "flap"], default="random",
                   help="random kills and faults, or gateways killed and revived in turn")
    p.add_argument("--all-every", type=int, default=5,
                   help="flap: every Nth turn kills all gateways at once (0: never)")
    p.add_argument("--turns", type=int, default=0,
                   help="flap: stop after this many turns (0: run for --seconds)")
    p.add_argument("--flap-up", type=float, default=0.5,
                   help="flap: at most this many seconds with every gateway up between turns")
    p.add_argument("--burn", dest="burn", action="store_true", default=None,
                   help="keep one core busy with another process (default: with flap)")
    p.add_argument("--no-burn", dest="burn", action="store_false")
    p.add_argument("--retry-timeout", type=float, default=None,
                   help="the pool's retry_timeout in seconds (default: 10 with flap, else none)")
    p.add_argument("--max-calls", type=int, default=10 ** 7, help="stop after this many calls")
    p.add_argument("--no-faults", dest="faults", action="store_false",
                   help="only SIGKILL gateways (no replies cut mid-way, no stalls)")
    p.add_argument("--log-level", default="ERROR", help="txhbase log level (pool events at INFO)")
    p.add_argument("--gateway-target", type=int, help=argparse.SUPPRESS)
    p.add_argument("--gateway-port", type=int, default=0, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.seconds <= 0 or opts.concurrency < 1 or opts.gateways < 1 or opts.pool_size < 1:
        p.error("--seconds, --concurrency, --gateways and --pool-size must be positive")
    if opts.pattern == "flap" and opts.gateways < 2:
        p.error("--pattern flap needs at least 2 gateways")
    if opts.burn is None:
        opts.burn = opts.pattern == "flap"
    if opts.retry_timeout is None and opts.pattern == "flap":
        opts.retry_timeout = 10.0
    # A call may use every attempt's timeout plus back-off waits.
    if opts.retry_timeout is not None:
        opts.call_bound = opts.retry_timeout + opts.timeout_ms / 1000.0 + 2.0
    else:
        opts.call_bound = 5 * (opts.timeout_ms / 1000.0 + 0.5) + 2.0
    return opts


def main(argv: Optional[list] = None) -> int:
    opts = parse(argv)
    if opts.gateway_target is not None:
        return run_gateway(opts.gateway_target, opts.gateway_port)
    import logging

    logging.basicConfig(level=opts.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from twisted.internet import defer, reactor

    status = [1]

    async def go() -> None:
        soak = Soak(reactor, opts)
        try:
            status[0] = await soak.run()
        except BaseException:
            await soak.stop_all()
            raise

    def done(result: Any) -> None:
        if hasattr(result, "printTraceback"):
            result.printTraceback(file=sys.stderr)
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(go()).addBoth(done))
    reactor.run()
    return status[0]


if __name__ == "__main__":
    sys.exit(main())
