"""txhbase over HTTP against aiohappybase's HTTP client on the same gateway (issue 14).

    python bench/cmp_http.py [--server embedded|HOST:PORT] [--quick] [--runs N] [--json out.json]

A gateway in HTTP mode takes one POST per call and cannot pipeline, so the
figures that matter are: ``row`` (one call at a time: the latency of a POST
round trip), ``row-c16`` (16 calls outstanding over 4 persistent
connections: txhbase ``http_connections=4``, aiohappybase a pool of 4
connections shared by 16 tasks) and ``scan`` (rows per second of a scan with
batch_size 1000; scanner calls are POSTs too). The rows are compare.py's
(10 columns of 100 bytes). Each client runs in its own process and measures
its own CPU (user+sys), so the server's never counts; the median of ``--runs``.

``--server embedded`` starts ``python -m txhbase.server --transport http``;
``HOST:PORT`` is a running HBase gateway in HTTP mode
(``hbase.regionserver.thrift.http=true``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

from cmp_common import FAMILY, ROW_DATA, SCAN_BATCH, cpu_seconds  # noqa: E402

TABLE = b"txhbase_bench_http"
CLIENTS = ["txhbase", "aiohappybase"]
WORKLOADS = ["row", "row-c16", "scan"]
CONNECTIONS = 4
CONCURRENCY = 16
FULL = {"row": 3000, "row-c16": 6000, "scan": 50_000, "keys": 500}
QUICK = {"row": 100, "row-c16": 200, "scan": 2000, "keys": 50}


def key(i: int) -> bytes:
    return b"r-%08d" % i


class Meter:
    """CPU (this process, user+sys) and wall time of one workload."""

    def __init__(self) -> None:
        self.cpu0 = cpu_seconds()
        self.wall0 = time.perf_counter()

    def stop(self, ops: int) -> Dict[str, float]:
        wall = time.perf_counter() - self.wall0
        cpu = cpu_seconds() - self.cpu0
        return {"ops": ops, "wall_s": wall, "cpu_s": cpu, "ops_per_s": ops / wall,
                "cpu_us_per_op": cpu / ops * 1e6}


# ------------------------------------------------------------------ workers


def run_txhbase(host: str, port: int, workload: str, n: int, keys: int) -> Dict[str, Any]:
    from twisted.internet import defer, reactor

    import txhbase

    out: Dict[str, Any] = {}

    async def body() -> None:
        conn = txhbase.Connection(host, port, transport="http", timeout=60000,
                                  http_connections=CONNECTIONS)
        t = conn.table(TABLE)
        await t.row(key(0))  # warm: connection open
        meter = Meter()
        if workload == "row":
            for i in range(n):
                await t.row(key(i % keys))
        elif workload == "row-c16":
            async def worker(w: int) -> None:
                for i in range(w, n, CONCURRENCY):
                    await t.row(key(i % keys))
            await defer.gatherResults([defer.ensureDeferred(worker(w))
                                       for w in range(CONCURRENCY)])
        else:
            count = 0
            async for _ in t.scan(row_prefix=b"s-", batch_size=SCAN_BATCH):
                count += 1
            assert count == n, count
        out.update(meter.stop(n))
        await conn.close()

    def done(result: Any) -> None:
        if isinstance(result, Exception) or hasattr(result, "getTraceback"):
            out["error"] = result.getTraceback()
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(body()).addBoth(done))
    reactor.run()
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


def run_aiohappybase(host: str, port: int, workload: str, n: int, keys: int) -> Dict[str, Any]:
    import asyncio

    import aiohappybase

    async def body() -> Dict[str, Any]:
        if workload == "row-c16":
            pool = aiohappybase.ConnectionPool(CONNECTIONS, host=host, port=port, client="http")
            async with pool.connection() as c:
                await c.table(TABLE).row(key(0))
            meter = Meter()

            async def worker(w: int) -> None:
                for i in range(w, n, CONCURRENCY):
                    async with pool.connection() as c:
                        await c.table(TABLE).row(key(i % keys))
            await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
            res = meter.stop(n)
            pool.close()
            return res
        conn = aiohappybase.Connection(host, port, client="http")
        await conn.open()
        t = conn.table(TABLE)
        await t.row(key(0))
        meter = Meter()
        if workload == "row":
            for i in range(n):
                await t.row(key(i % keys))
        else:
            count = 0
            async for _ in t.scan(row_prefix=b"s-", batch_size=SCAN_BATCH):
                count += 1
            assert count == n, count
        res = meter.stop(n)
        conn.close()
        return res

    return asyncio.run(body())


def worker_main(args: argparse.Namespace) -> None:
    host, port = args.worker_at.rsplit(":", 1)
    fn = run_txhbase if args.worker == "txhbase" else run_aiohappybase
    sizes = QUICK if args.quick else FULL
    print(json.dumps(fn(host, int(port), args.workload, sizes[args.workload], sizes["keys"])),
          flush=True)


# ------------------------------------------------------------------ orchestrator


def start_embedded() -> Tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "txhbase.server", "--transport", "http",
                             "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"embedded server did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def load(at: str, sizes: Dict[str, int]) -> None:
    """Create the table and the rows every client reads (with txhbase, once)."""
    code = f"""
import sys; sys.path.insert(0, {ROOT!r})
from twisted.internet import defer, task
import txhbase
async def main(r):
    c = txhbase.Connection({at.rsplit(':', 1)[0]!r}, {int(at.rsplit(':', 1)[1])},
                           transport='http', timeout=120000, http_connections=8)
    if {TABLE!r} not in await c.tables():
        await c.create_table({TABLE!r}, {{{FAMILY!r}: {{}}}})
    t = c.table({TABLE!r})
    for prefix, count in ((b'r-', {sizes['keys']}), (b's-', {sizes['scan']})):
        for start in range(0, count, 1000):
            b = t.batch()
            for i in range(start, min(count, start + 1000)):
                b.put(prefix + b'%08d' % i, {ROW_DATA!r})
            await b.send()
    await c.close()
task.react(lambda r: defer.ensureDeferred(main(r)))
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def run_worker(client: str, workload: str, at: str, quick: bool) -> Dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", client, "--workload",
           workload, "--worker-at", at] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{client}/{workload} failed: {proc.stdout[-500:]} "
                           f"{proc.stderr[-2000:]}")
    result: Dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="embedded")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json")
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workload", help=argparse.SUPPRESS)
    p.add_argument("--worker-at", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    sizes = QUICK if args.quick else FULL
    server = None
    if args.server == "embedded":
        server, at = start_embedded()
    else:
        at = args.server
    results: Dict[str, Dict[str, Any]] = {}
    try:
        load(at, sizes)
        for workload in WORKLOADS:
            for client in args.clients.split(","):
                runs = [run_worker(client, workload, at, args.quick) for _ in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]
                       if isinstance(runs[0][k], (int, float))}
                results[f"{client}/{workload}"] = med
                print(f"{client:13s} {workload:8s} {med.get('ops_per_s', 0):10.0f} ops/s "
                      f"{med.get('cpu_us_per_op', 0):8.1f} CPU us/op", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"server": args.server, "when": time.strftime("%Y-%m-%d"),
                       "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
