"""Client memory during a long scan read with ``get_next()`` (issue 13).

    python bench/scan_rss.py [--server embedded|hbase|HOST:PORT] [--rows 1000000]
                             [--batch-size 1000] [--columns 1] [--value-size 100]

Loads ``--rows`` rows (with happybase, outside the measurement), then runs
each client in its own process: txhbase reads the scan one row at a time with
``yield scanner.get_next()``; happybase iterates ``table.scan()`` for
comparison. Each samples its own resident set size (``/proc/self/statm``)
every 10,000 rows and reports the RSS before the scan, the peak during it,
and the peak growth; one batch of rows as decoded Python objects is
estimated from the first batch, so "growth / batch" says how many batches the
client holds at most.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

TABLE = b"bench_scan_rss"
FAMILY = b"cf"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def key(i: int) -> bytes:
    return b"r%09d" % i


def load(host: str, port: int, n: int, columns: int, value_size: int) -> None:
    import happybase

    conn = happybase.Connection(host, port, autoconnect=True)
    try:
        if TABLE in conn.tables():
            conn.delete_table(TABLE, disable=True)
        conn.create_table(TABLE, {FAMILY.decode(): dict(max_versions=1)})
        data = {b"%s:q%d" % (FAMILY, c): b"v" * value_size for c in range(columns)}
        with conn.table(TABLE).batch(batch_size=5000) as b:
            for i in range(n):
                b.put(key(i), data)
    finally:
        conn.close()


def worker_txhbase(cfg: dict) -> None:
    from twisted.internet import defer, task

    import txhbase

    @defer.inlineCallbacks
    def main(reactor: Any) -> Any:
        conn = txhbase.Connection(cfg["host"], cfg["port"], reactor=reactor)
        yield conn.open()
        before = rss_bytes()
        peak = before
        samples: List[int] = []
        scanner = conn.table(TABLE).scan(batch_size=cfg["batch_size"])
        rows = 0
        batch_obj_bytes = 0
        started = time.monotonic()
        while True:
            item = yield scanner.get_next()
            if item is None:
                break
            rows += 1
            if rows == cfg["batch_size"]:
                batch_obj_bytes = rss_bytes() - before
            if rows % 10000 == 0:
                r = rss_bytes()
                samples.append(r)
                peak = max(peak, r)
        elapsed = time.monotonic() - started
        yield conn.close()
        emit(cfg, "txhbase get_next()", rows, before, peak, samples, elapsed, batch_obj_bytes)

    task.react(main)


def worker_happybase(cfg: dict) -> None:
    import happybase

    conn = happybase.Connection(cfg["host"], cfg["port"], autoconnect=True)
    before = rss_bytes()
    peak = before
    samples: List[int] = []
    rows = 0
    batch_obj_bytes = 0
    started = time.monotonic()
    for _key, _data in conn.table(TABLE).scan(batch_size=cfg["batch_size"]):
        rows += 1
        if rows == cfg["batch_size"]:
            batch_obj_bytes = rss_bytes() - before
        if rows % 10000 == 0:
            r = rss_bytes()
            samples.append(r)
            peak = max(peak, r)
    elapsed = time.monotonic() - started
    conn.close()
    emit(cfg, "happybase scan()", rows, before, peak, samples, elapsed, batch_obj_bytes)


def emit(cfg: dict, client: str, rows: int, before: int, peak: int, samples: List[int],
         elapsed: float, batch_obj_bytes: int) -> None:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("RESULT " + json.dumps(dict(
        client=client, rows=rows, rss_before=before, rss_peak=peak,
        rss_last=samples[-1] if samples else before, growth=peak - before,
        first_batch_growth=batch_obj_bytes, seconds=elapsed, rows_per_s=rows / elapsed,
        cpu_s=ru.ru_utime + ru.ru_stime, maxrss_kb=ru.ru_maxrss)), flush=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        cfg = json.loads(sys.argv[2])
        {"txhbase": worker_txhbase, "happybase": worker_happybase}[cfg["client"]](cfg)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="embedded")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--columns", type=int, default=1)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--clients", default="txhbase,happybase")
    args = ap.parse_args()
    from compare import start_gateway

    gw = start_gateway(args.server, "buffered", "binary")
    try:
        t0 = time.monotonic()
        load(gw.host, gw.port, args.rows, args.columns, args.value_size)
        print(f"loaded {args.rows:,} rows ({args.columns} x {args.value_size} bytes) "
              f"in {time.monotonic() - t0:.0f} s on {gw.kind} {gw.version}", flush=True)
        for client in args.clients.split(","):
            cfg = dict(client=client, host=gw.host, port=gw.port, batch_size=args.batch_size)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
            out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)],
                                 capture_output=True, text=True, env=env, timeout=3600)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode != 0 or not lines:
                print(f"{client}: failed: {out.stderr[-2000:]}")
                continue
            r = json.loads(lines[-1][7:])
            mb = 1 / 2 ** 20
            per_batch = r["first_batch_growth"]
            print(f"{r['client']:<20} rows {r['rows']:,}  RSS before {r['rss_before'] * mb:.1f} MB, "
                  f"peak {r['rss_peak'] * mb:.1f} MB (growth {r['growth'] * mb:.1f} MB; "
                  f"first batch {per_batch * mb:.1f} MB), last {r['rss_last'] * mb:.1f} MB, "
                  f"{r['rows_per_s']:,.0f} rows/s, CPU {r['cpu_s'] * 1e6 / max(r['rows'], 1):.1f} "
                  f"us/row", flush=True)
    finally:
        gw.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
