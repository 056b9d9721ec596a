"""One client's side of compare.py, run in its own process.

``python bench/cmp_worker.py CLIENT HOST PORT TRANSPORT PROTOCOL SIZES WORKLOADS``
connects, warms up, then runs each workload and prints one ``RESULT {json}``
line per workload with the CPU time this process spent (user+sys) and the
wall time. Connection set-up and warm-up are outside the measured spans.

Clients: ``happybase`` (sync, sequential), ``aiohappybase`` (asyncio,
sequential), ``txhbase-seq`` (``yield table.row()`` one at a time in an
``inlineCallbacks`` loop, the commonest application shape; its scan reads
rows one by one with ``yield scanner.get_next()``), ``txhbase-1`` (one call
in flight, driven by callbacks), ``txhbase-64`` (64 calls in
flight pipelined on one connection), ``txhbase-pool4`` (64 calls over a
``ConnectionPool`` of 4), ``txhbase-4x16`` (64 calls spread round-robin over 4
plain connections, so up to 16 pipelined on each) and ``raw`` (thriftpy2's codec alone, see cmp_raw.py).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, Iterable, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cmp_common import (  # noqa: E402
    COLUMNS,
    POOL_SIZE,
    ROW_DATA,
    SCAN_BATCH,
    TABLE,
    WINDOW,
    Meter,
    Sizes,
    batch_key,
    count_cells,
    emit,
    put_key,
    read_key,
    rows_keys,
)

SCAN_START, SCAN_STOP = b"scan-", b"scan."


def _inline_callbacks(f: Callable[..., Any]) -> Callable[..., Any]:
    """``defer.inlineCallbacks``, imported lazily (the happybase workers never load Twisted)."""
    def wrapper(*a: Any, **k: Any) -> Any:
        from twisted.internet import defer

        return defer.inlineCallbacks(f)(*a, **k)
    return wrapper
#: happybase's batch_size counts mutations (columns): this sends 1000 rows per mutateRows
BATCH_MUTATIONS = SCAN_BATCH * len(COLUMNS)
#: 1000-row mutateRows calls txhbase keeps in flight in the batch put (pipelined modes)
BATCH_WINDOW = 4


# --------------------------------------------------------------- happybase

def run_happybase(cfg: dict, sizes: Sizes, workloads: List[str]) -> None:
    import happybase

    conn = happybase.Connection(cfg["host"], cfg["port"], transport=cfg["transport"],
                                protocol=cfg["protocol"], autoconnect=True)
    t = conn.table(TABLE)
    for i in range(sizes.warmup):
        t.row(read_key(i, sizes))
    name = cfg["client"]
    for w in workloads:
        n = sizes.ops(w)
        m = Meter()
        check = 0
        if w == "put":
            for i in range(n):
                t.put(put_key(i), ROW_DATA)
            check = n
        elif w == "row":
            for i in range(n):
                check += len(t.row(read_key(i, sizes)))
        elif w == "rows":
            for i in range(n):
                check += count_cells(t.rows(rows_keys(i, sizes)))
        elif w == "batchput":
            with t.batch(batch_size=BATCH_MUTATIONS) as b:
                for i in range(n):
                    b.put(batch_key(i), ROW_DATA)
            check = n
        elif w == "scan":
            for _key, data in t.scan(row_start=SCAN_START, row_stop=SCAN_STOP,
                                     batch_size=SCAN_BATCH, limit=n):
                check += len(data)
        emit(m.stop(name, w, n, check))
    conn.close()


# ------------------------------------------------------------ aiohappybase

def run_aiohappybase(cfg: dict, sizes: Sizes, workloads: List[str]) -> None:
    import asyncio

    import aiohappybase

    async def main() -> None:
        conn = aiohappybase.Connection(cfg["host"], cfg["port"], transport=cfg["transport"],
                                       protocol=cfg["protocol"])
        await conn.open()
        t = conn.table(TABLE)
        for i in range(sizes.warmup):
            await t.row(read_key(i, sizes))
        name = cfg["client"]
        for w in workloads:
            n = sizes.ops(w)
            m = Meter()
            check = 0
            if w == "put":
                for i in range(n):
                    await t.put(put_key(i), ROW_DATA)
                check = n
            elif w == "row":
                for i in range(n):
                    check += len(await t.row(read_key(i, sizes)))
            elif w == "rows":
                for i in range(n):
                    check += count_cells(await t.rows(rows_keys(i, sizes)))
            elif w == "batchput":
                async with t.batch(batch_size=BATCH_MUTATIONS) as b:
                    for i in range(n):
                        await b.put(batch_key(i), ROW_DATA)
                check = n
            elif w == "scan":
                async for _key, data in t.scan(row_start=SCAN_START, row_stop=SCAN_STOP,
                                               batch_size=SCAN_BATCH, limit=n):
                    check += len(data)
            emit(m.stop(name, w, n, check))
        r = conn.close()
        if asyncio.iscoroutine(r):
            await r

    asyncio.run(main())


# ----------------------------------------------------------------- txhbase

def windowed(call: Callable[[Any], Any], items: Iterable[Any], window: int,
             on_result: Callable[[Any], None]) -> Any:
    """Keep up to ``window`` calls in flight over ``items``; fire when all are done.

    Plain callbacks (no inlineCallbacks/coroutines) so the driver adds as
    little CPU as possible to what is measured. Already-fired Deferreds are
    handled in a loop, not by recursion.
    """
    from twisted.internet import defer

    done = defer.Deferred()
    it = iter(items)
    state = {"pending": 0, "failed": None, "exhausted": False, "in_launch": False,
             "relaunch": 0}

    def finish_if_idle() -> None:
        if state["pending"] == 0 and (state["exhausted"] or state["failed"]) and not done.called:
            if state["failed"] is not None:
                done.errback(state["failed"])
            else:
                done.callback(None)

    def ok(result: Any) -> None:
        state["pending"] -= 1
        on_result(result)
        launch(1)

    def bad(f: Any) -> None:
        state["pending"] -= 1
        if state["failed"] is None:
            state["failed"] = f
        finish_if_idle()

    def launch(k: int) -> None:
        if state["in_launch"]:  # a call fired synchronously: let the outer loop go on
            state["relaunch"] += k
            return
        state["in_launch"] = True
        try:
            while k and state["failed"] is None and not state["exhausted"]:
                k -= 1
                try:
                    item = next(it)
                except StopIteration:
                    state["exhausted"] = True
                    break
                state["pending"] += 1
                call(item).addCallbacks(ok, bad)
                k += state["relaunch"]
                state["relaunch"] = 0
        finally:
            state["in_launch"] = False
        finish_if_idle()

    launch(window)
    return done


def run_txhbase(cfg: dict, sizes: Sizes, workloads: List[str]) -> None:
    from twisted.internet import defer, task

    mode = cfg["client"].split("-", 1)[1]  # "seq", "1", "64", "pool4" or "4x16"
    window = 1 if mode in ("1", "seq") else WINDOW

    @defer.inlineCallbacks
    def main(reactor: Any) -> Any:
        import txhbase

        kw = dict(transport=cfg["transport"], protocol=cfg["protocol"])
        if mode == "pool4":
            pool = txhbase.ConnectionPool(POOL_SIZE, cfg["host"], cfg["port"],
                                          reactor=reactor, **kw)
            yield pool.prefill()
            t = pool.table(TABLE)
        else:
            pool = None
            conns = [txhbase.Connection(cfg["host"], cfg["port"], reactor=reactor, **kw)
                     for _ in range(POOL_SIZE if mode == "4x16" else 1)]
            for conn in conns:
                yield conn.open()
            t = _Spread([c.table(TABLE) for c in conns])
        yield windowed(lambda i: t.row(read_key(i, sizes)), range(sizes.warmup),
                       window, lambda r: None)
        name = cfg["client"]
        for w in workloads:
            n = sizes.ops(w)
            box = [0]
            m = Meter()
            if mode == "seq" and w != "batchput":
                box[0] = yield _txhbase_sequential(t, w, n, sizes)
            elif w == "put":
                def count_put(_r: Any) -> None:
                    box[0] += 1
                yield windowed(lambda i: t.put(put_key(i), ROW_DATA), range(n), window,
                               count_put)
            elif w == "row":
                def count_row(r: Any) -> None:
                    box[0] += len(r)
                yield windowed(lambda i: t.row(read_key(i, sizes)), range(n), window, count_row)
            elif w == "rows":
                def count_rows(r: Any) -> None:
                    box[0] += count_cells(r)
                yield windowed(lambda i: t.rows(rows_keys(i, sizes)), range(n), window,
                               count_rows)
            elif w == "batchput":
                box[0] = yield _txhbase_batchput(t, pool, n, window)
            elif w == "scan":
                box[0] = yield _txhbase_scan(t, n)
            emit(m.stop(name, w, n, box[0]))
        if pool is not None:
            yield pool.close()
        else:
            for conn in conns:
                yield conn.close()

    task.react(main)


class _Spread:
    """Tables of several connections used round-robin, each call on the next
    one (``txhbase-4x16``: what a pool multiplexing pipelined connections
    would do); a single table is passed through untouched."""

    def __new__(cls, tables: List[Any]) -> Any:
        if len(tables) == 1:
            return tables[0]
        return super().__new__(cls)

    def __init__(self, tables: List[Any]) -> None:
        self.tables = tables
        self.n = 0

    def _next(self) -> Any:
        self.n += 1
        return self.tables[self.n % len(self.tables)]

    def row(self, *a: Any, **k: Any) -> Any:
        return self._next().row(*a, **k)

    def rows(self, *a: Any, **k: Any) -> Any:
        return self._next().rows(*a, **k)

    def put(self, *a: Any, **k: Any) -> Any:
        return self._next().put(*a, **k)

    def batch(self, *a: Any, **k: Any) -> Any:
        return self._next().batch(*a, **k)

    def scan(self, *a: Any, **k: Any) -> Any:
        return self.tables[0].scan(*a, **k)


@_inline_callbacks
def _txhbase_sequential(t: Any, w: str, n: int, sizes: Sizes) -> Any:
    """``n`` ops of workload ``w``, each awaited before the next is made: the
    shape of ordinary ``@inlineCallbacks`` application code."""
    count = 0
    if w == "put":
        for i in range(n):
            yield t.put(put_key(i), ROW_DATA)
            count += 1
    elif w == "row":
        for i in range(n):
            r = yield t.row(read_key(i, sizes))
            count += len(r)
    elif w == "rows":
        for i in range(n):
            r = yield t.rows(rows_keys(i, sizes))
            count += count_cells(r)
    elif w == "scan":
        scanner = t.scan(row_start=SCAN_START, row_stop=SCAN_STOP, batch_size=SCAN_BATCH,
                         limit=n)
        while True:
            item = yield scanner.get_next()
            if item is None:
                break
            count += len(item[1])
    return count


def _txhbase_batchput(t: Any, pool: Any, n: int, window: int) -> Any:
    """``n`` rows in 1000-row batches: one after the other at window 1,
    pipelined (several batches' mutateRows in flight) otherwise."""
    chunks = [range(s, min(s + SCAN_BATCH, n)) for s in range(0, n, SCAN_BATCH)]

    def send_chunk_on(table: Any, keys: range) -> Any:
        # no batch_size: nothing is sent by put(), so send()'s Deferred is the
        # one mutateRows of this chunk (put()'s own Deferreds are already fired)
        b = table.batch()
        for i in keys:
            b.put(batch_key(i), ROW_DATA)
        return b.send()

    if pool is not None:
        def send_chunk(keys: range) -> Any:
            return pool.run(lambda conn: send_chunk_on(conn.table(TABLE), keys))
    else:
        def send_chunk(keys: range) -> Any:
            return send_chunk_on(t, keys)

    # 64 x 1000-row batches in flight would hold 640,000 Mutation structs at
    # once (300 MB, and the GC walking them): a few batches already keep the
    # connection busy
    window = min(window, BATCH_WINDOW)
    return windowed(send_chunk, chunks, window, lambda r: None).addCallback(lambda _: n)


def _txhbase_scan(t: Any, n: int) -> Any:
    """Scan ``n`` rows of the scan range, counting cells: with next_batch()
    where the scanner has it, else with get_next() (the pool's scanner).

    Rows the scanner has read ahead come back already fired; those are
    taken in a loop (a trampoline), not by recursion.
    """
    scanner = t.scan(row_start=SCAN_START, row_stop=SCAN_STOP, batch_size=SCAN_BATCH, limit=n)
    if hasattr(scanner, "next_batch"):
        # all rows received so far in one Deferred: the cheap way to consume a fast scan
        return _drain(scanner.next_batch, lambda rows: count_cells(rows) if rows else None)
    return _drain(scanner.get_next, lambda item: None if item is None else len(item[1]))


def _drain(fetch: Any, cells: Any) -> Any:
    """Call ``fetch()`` until ``cells(result)`` says the end (None); fire with the
    cell count. A trampoline: results that arrive synchronously loop instead of
    recursing, so a fully buffered scan cannot overflow the stack."""
    from twisted.internet import defer

    done = defer.Deferred()
    box = [0]

    def loop() -> None:
        while True:
            state = [False, False]  # [loop returned, result arrived synchronously]

            def on_result(result: Any, state: list = state) -> None:
                n = cells(result)
                if n is None:
                    done.callback(box[0])
                    return
                box[0] += n
                if state[0]:
                    loop()  # arrived later: start a new loop
                else:
                    state[1] = True

            fetch().addCallbacks(on_result, done.errback)
            if not state[1]:
                state[0] = True
                return

    loop()
    return done


CLIENTS = {
    "happybase": run_happybase,
    "aiohappybase": run_aiohappybase,
    "txhbase-seq": run_txhbase,
    "txhbase-1": run_txhbase,
    "txhbase-64": run_txhbase,
    "txhbase-pool4": run_txhbase,
    "txhbase-4x16": run_txhbase,
}


def main(argv: List[str]) -> int:
    cfg = json.loads(argv[0])
    sizes = Sizes(**cfg["sizes"])
    client = cfg["client"]
    if client == "raw":
        import cmp_raw

        run = cmp_raw.run_raw
    else:
        run = CLIENTS[client]
    if not cfg.get("profile"):
        run(cfg, sizes, cfg["workloads"])
        return 0
    # profile on CPU time (not wall time: waiting in epoll or being descheduled
    # on a busy machine is not the client's cost)
    import cProfile
    import time

    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        run(cfg, sizes, cfg["workloads"])
    finally:
        prof.disable()
        prof.dump_stats(cfg["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
