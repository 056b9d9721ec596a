"""txhbase against happybase and aiohappybase on the same gateway (issue 7).

    python bench/compare.py --server embedded|hbase|HOST:PORT [--quick] [--json out.json]

Runs identical workloads (``put`` of a 10-column row of 100-byte values,
``row`` of such a row, ``rows`` of 10 keys, a ``scan`` of 100,000 rows with
batch_size 1000, a ``batchput`` of 100,000 rows) with each client, every
client in its own process measuring its own CPU (user+sys of that process
only, so the server's and this orchestrator's CPU never count), and reports
the median over ``--runs`` runs of CPU microseconds per op and ops per second.
``raw`` is the floor: thriftpy2's codec alone encoding the same requests and
decoding the same reply bytes, captured once from the gateway.

``--server embedded`` starts ``python -m txhbase.server`` as a subprocess;
``hbase`` starts a real HBase with tests/realhbase/harness.py; ``HOST:PORT``
uses a running gateway (``--transport``/``--protocol`` say which wire).
``--quick`` is the CI smoke size (no assertions on time).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

from cmp_common import (  # noqa: E402
    FAMILY,
    FULL,
    QUICK,
    ROW_DATA,
    SCAN_BATCH,
    TABLE,
    WORKLOAD_ORDER,
    WORKLOADS,
    Sizes,
    expected_check,
    read_key,
    scan_key,
)

CLIENTS = ["raw", "happybase", "aiohappybase", "txhbase-seq", "txhbase-1", "txhbase-64", "txhbase-pool4"]
#: not run unless asked for with --clients: 64 calls over 4 connections
#: round-robin, what a pool that pipelines on its connections could do
EXTRA_CLIENTS = ["txhbase-4x16"]
WORKER = os.path.join(HERE, "cmp_worker.py")


# ------------------------------------------------------------------ server

class Gateway:
    """The gateway every client talks to, and how to stop it afterwards."""

    def __init__(self, kind: str, host: str, port: int, transport: str, protocol: str,
                 stop: Any = None, version: str = "") -> None:
        self.kind, self.host, self.port = kind, host, port
        self.transport, self.protocol = transport, protocol
        self._stop = stop
        self.version = version

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def start_gateway(server: str, transport: str, protocol: str) -> Gateway:
    if server == "embedded":
        from tests.conftest import start_embedded_subprocess

        proc, port = start_embedded_subprocess(transport, protocol)

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

        import txhbase

        return Gateway("embedded", "127.0.0.1", port, transport, protocol, stop,
                       f"txhbase.server {txhbase.__version__}")
    if server == "hbase":
        from tests.realhbase import harness

        cluster = harness.Cluster().start()
        host, port = cluster.address(transport, protocol)
        return Gateway("hbase", host, port, transport, protocol, cluster.stop,
                       f"HBase {cluster.version}")
    host, sep, port_s = server.rpartition(":")
    if not sep or not host or not port_s.isdigit():
        raise SystemExit(f"--server must be embedded, hbase or HOST:PORT, not {server!r}")
    return Gateway("external", host, int(port_s), transport, protocol, None, "")


def prepare_table(gw: Gateway, sizes: Sizes, workloads: List[str]) -> None:
    """(Re)create the bench table and load the rows ``row``/``rows``/``scan`` read."""
    import happybase

    conn = happybase.Connection(gw.host, gw.port, transport=gw.transport,
                                protocol=gw.protocol, autoconnect=True)
    try:
        if TABLE in conn.tables():
            conn.delete_table(TABLE, disable=True)
        conn.create_table(TABLE, {FAMILY: dict(max_versions=1)})
        t = conn.table(TABLE)
        with t.batch(batch_size=SCAN_BATCH * 10) as b:
            for i in range(sizes.read_keys):
                b.put(read_key(i, sizes), ROW_DATA)
            for i in range(sizes.scan if "scan" in workloads else 0):
                b.put(scan_key(i), ROW_DATA)
    finally:
        conn.close()


# ----------------------------------------------------------------- workers

def run_worker(client: str, gw: Gateway, sizes: Sizes, workloads: List[str],
               profile: Optional[str] = None, timeout: float = 1800.0) -> Tuple[List[dict], str]:
    """Run one client's worker process; return its measurements and its error text."""
    cfg = dict(client=client, host=gw.host, port=gw.port, transport=gw.transport,
               protocol=gw.protocol, sizes=asdict(sizes), workloads=workloads)
    if profile:
        cfg["profile"] = profile
    cmd = [sys.executable, WORKER, json.dumps(cfg)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s"
    results = [json.loads(line[7:]) for line in out.stdout.splitlines()
               if line.startswith("RESULT ")]
    err = ""
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-6:]
        err = f"exit {out.returncode}: " + " | ".join(tail)
    for r in results:
        want = expected_check(r["workload"], r["ops"])
        if client != "raw" and r["ops"] != sizes.ops(r["workload"]):
            r["error"] = f"ran {r['ops']} ops, expected {sizes.ops(r['workload'])}"
            continue
        if r["check"] != want:
            r["error"] = f"saw {r['check']} rows/cells, expected {want}"
    return results, err


# --------------------------------------------------------------- reporting

def summarise(samples: Dict[Tuple[str, str], List[dict]]) -> List[dict]:
    rows = []
    for (client, workload), runs in samples.items():
        good = [r for r in runs if "error" not in r]
        entry: dict = dict(client=client, workload=workload, op=WORKLOADS[workload],
                           runs=len(good))
        if good:
            entry["cpu_us_per_op"] = statistics.median(
                r["cpu_s"] * 1e6 / r["ops"] for r in good)
            entry["ops_per_s"] = statistics.median(r["ops"] / r["wall_s"] for r in good)
            entry["ops"] = good[0]["ops"]
        errors = sorted({r["error"] for r in runs if "error" in r})
        if errors:
            entry["errors"] = errors
        rows.append(entry)
    order = {c: i for i, c in enumerate(CLIENTS + EXTRA_CLIENTS)}
    rows.sort(key=lambda e: (WORKLOAD_ORDER.index(e["workload"]), order.get(e["client"], 99)))
    return rows


def _get(rows: List[dict], client: str, workload: str, key: str) -> Optional[float]:
    for e in rows:
        if e["client"] == client and e["workload"] == workload:
            return e.get(key)
    return None


def check_targets(rows: List[dict], kind: str) -> List[dict]:
    """Issue 13's targets (and issue 7's against aiohappybase), as ratios of
    figures from this same run."""
    out: List[dict] = []

    def target(name: str, value: Optional[float], limit: float, better: str,
               note: str = "") -> None:
        if value is None:
            out.append(dict(target=name, status="n/a", note=note or "missing figure"))
            return
        ok = value <= limit if better == "lower" else value >= limit
        out.append(dict(target=name, value=round(value, 3), limit=limit,
                        status="met" if ok else "MISSED", note=note))

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a is not None and b else None

    cpu = lambda c, w: _get(rows, c, w, "cpu_us_per_op")  # noqa: E731
    tput = lambda c, w: _get(rows, c, w, "ops_per_s")  # noqa: E731
    real = "" if kind == "hbase" else "issue 13 sets this against real HBase"
    # issue 13
    for w in ("row", "put"):
        target(f"{w}: txhbase-seq CPU/op <= 1.0x happybase",
               ratio(cpu("txhbase-seq", w), cpu("happybase", w)), 1.0, "lower")
        target(f"{w}: txhbase-64 CPU/op <= 0.5x happybase (sequential)",
               ratio(cpu("txhbase-64", w), cpu("happybase", w)), 0.5, "lower")
        target(f"{w}: txhbase-64 CPU/op <= 3x raw floor",
               ratio(cpu("txhbase-64", w), cpu("raw", w)), 3.0, "lower")
        target(f"{w}: txhbase-pool4 ops/s >= 3x happybase",
               ratio(tput("txhbase-pool4", w), tput("happybase", w)), 3.0, "higher", real)
    for c in ("txhbase-seq", "txhbase-1"):
        target(f"scan: {c} CPU/row <= 1.0x happybase",
               ratio(cpu(c, "scan"), cpu("happybase", "scan")), 1.0, "lower")
        target(f"scan: {c} CPU/row <= 1.5x raw floor",
               ratio(cpu(c, "scan"), cpu("raw", "scan")), 1.5, "lower")
        target(f"scan: {c} rows/s >= 1.5x happybase",
               ratio(tput(c, "scan"), tput("happybase", "scan")), 1.5, "higher")
    # issue 7, where aiohappybase was measured
    for w in WORKLOAD_ORDER:
        if cpu("aiohappybase", w) is None:
            continue
        target(f"{w}: txhbase-64 CPU/op <= 0.5x aiohappybase",
               ratio(cpu("txhbase-64", w), cpu("aiohappybase", w)), 0.5, "lower")
        target(f"{w}: txhbase-64 ops/s >= 2x aiohappybase",
               ratio(tput("txhbase-64", w), tput("aiohappybase", w)), 2.0, "higher")
    return out


def format_table(rows: List[dict]) -> str:
    hb = {e["workload"]: e.get("cpu_us_per_op") for e in rows if e["client"] == "happybase"}
    raw = {e["workload"]: e.get("cpu_us_per_op") for e in rows if e["client"] == "raw"}
    lines = [f"{'workload':<9} {'client':<14} {'CPU us/op':>10} {'ops/s':>10} "
             f"{'CPU/happybase':>13} {'CPU/raw':>8}  op"]
    lines.append("-" * len(lines[0]))
    last = None
    for e in rows:
        first = e["workload"] != last
        if first and last is not None:
            lines.append("")
        last = e["workload"]
        cpu = e.get("cpu_us_per_op")
        if cpu is None:
            lines.append(f"{e['workload']:<9} {e['client']:<14} {'failed':>10}  "
                         + "; ".join(e.get("errors", []))[:120])
            continue
        vs_hb = f"{cpu / hb[e['workload']]:.2f}x" if hb.get(e["workload"]) else "-"
        vs_raw = f"{cpu / raw[e['workload']]:.1f}x" if raw.get(e["workload"]) else "-"
        ops = e["ops_per_s"]
        ops_s = "-" if e["client"] == "raw" else f"{ops:,.0f}"
        lines.append(f"{e['workload']:<9} {e['client']:<14} {cpu:>10.1f} {ops_s:>10} "
                     f"{vs_hb:>13} {vs_raw:>8}  {e['op'] if first else ''}")
    return "\n".join(lines)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(),
                system=f"{platform.system()} {platform.release()}")


def versions() -> dict:
    out = {}
    for mod in ("txhbase", "happybase", "aiohappybase", "thriftpy2", "twisted"):
        try:
            from importlib.metadata import version

            out[mod] = version(mod if mod != "twisted" else "Twisted")
        except Exception:
            out[mod] = "?"
    return out


# -------------------------------------------------------------------- main

def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default="embedded",
                    help="embedded (spawn python -m txhbase.server), hbase (start real HBase "
                         "with tests/realhbase/harness.py) or HOST:PORT of a running gateway")
    ap.add_argument("--transport", default="buffered", choices=["buffered", "framed"])
    ap.add_argument("--protocol", default="binary", choices=["binary", "compact"])
    ap.add_argument("--quick", action="store_true", help="small sizes, one run (CI smoke)")
    ap.add_argument("--runs", type=int, default=None, help="runs per client (median); "
                    "default 3, 1 with --quick")
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="comma-separated subset of " + ",".join(CLIENTS + EXTRA_CLIENTS))
    ap.add_argument("--workloads", default=",".join(WORKLOAD_ORDER),
                    help="comma-separated subset of " + ",".join(WORKLOAD_ORDER))
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    ap.add_argument("--worker-timeout", type=float, default=None,
                    help="seconds one client's worker may run (default 120 quick, 1800 full)")
    ap.add_argument("--profile", metavar="CLIENT",
                    help="also run CLIENT once under cProfile (CPU clock) and print its hot "
                         "spots; the .prof file is kept (see --profile-out)")
    ap.add_argument("--profile-out", metavar="PATH", default=None,
                    help="where --profile writes its cProfile data (default: /tmp/...)")
    args = ap.parse_args(argv)
    args.client_list = [c for c in args.clients.split(",") if c]
    bad = [c for c in args.client_list if c not in CLIENTS + EXTRA_CLIENTS]
    if bad:
        ap.error(f"unknown client(s) {bad}; choose from {CLIENTS + EXTRA_CLIENTS}")
    args.workload_list = [w for w in WORKLOAD_ORDER if w in args.workloads.split(",")]
    bad = [w for w in args.workloads.split(",") if w and w not in WORKLOAD_ORDER]
    if bad or not args.workload_list:
        ap.error(f"unknown workload(s) {bad}; choose from {WORKLOAD_ORDER}")
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.worker_timeout is None:
        args.worker_timeout = 120.0 if args.quick else 1800.0
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    return args


def print_profile(path: str, limit: int = 30) -> None:
    import pstats

    print(f"\n== cProfile of {path}: top {limit} by own time ==")
    st = pstats.Stats(path)
    st.sort_stats("tottime").print_stats(limit)
    st.sort_stats("cumulative").print_stats(limit)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    gw = start_gateway(args.server, args.transport, args.protocol)
    try:
        prepare_table(gw, sizes, args.workload_list)
        samples: Dict[Tuple[str, str], List[dict]] = {
            (c, w): [] for c in args.client_list for w in args.workload_list}
        for run in range(args.runs):
            # interleave clients within each run so drifting machine load hits all alike
            for client in args.client_list:
                results, err = run_worker(client, gw, sizes, args.workload_list,
                                          timeout=args.worker_timeout)
                got = {r["workload"] for r in results}
                for r in results:
                    samples[(client, r["workload"])].append(r)
                for w in args.workload_list:
                    if w not in got:
                        samples[(client, w)].append(dict(error=err or "no result"))
                status = "ok" if not err else err[:200]
                print(f"run {run + 1}/{args.runs} {client}: {status}", file=sys.stderr,
                      flush=True)
        prof_path = None
        if args.profile:
            prof_path = (args.profile_out
                         or f"/tmp/txhbase-bench-{args.profile}-{os.getpid()}.prof")
            run_worker(args.profile, gw, sizes, args.workload_list, profile=prof_path)
    finally:
        gw.stop()
    rows = summarise(samples)
    targets = check_targets(rows, gw.kind)
    header = (f"txhbase compare: server={gw.kind} {gw.version} {gw.transport}/{gw.protocol} "
              f"{'quick' if args.quick else 'full'} sizes, median of {args.runs} run(s), "
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(header)
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}")
    print(format_table(rows))
    print("\ntargets (issues 13 and 7):")
    for t in targets:
        val = f"{t['value']:.3f} (limit {t['limit']})" if "value" in t else ""
        note = f"  [{t['note']}]" if t.get("note") else ""
        print(f"  {t['status']:<6} {t['target']}: {val}{note}")
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    if args.json:
        doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                   server=dict(kind=gw.kind, version=gw.version, transport=gw.transport,
                               protocol=gw.protocol),
                   machine=m, versions=versions(), quick=args.quick, runs=args.runs,
                   sizes=asdict(sizes), results=rows, targets=targets,
                   samples=[dict(client=c, workload=w, runs=v) for (c, w), v in samples.items()])
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    if prof_path:
        print_profile(prof_path)
        print(f"\ncProfile data: {prof_path} (python -m pstats {prof_path})")
    failed = [e for e in rows if "errors" in e]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
