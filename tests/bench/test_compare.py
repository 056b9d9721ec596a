"""CI smoke test of bench/compare.py --quick (figures are checked for shape, never for speed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.join(ROOT, "bench", "compare.py")
sys.path.insert(0, os.path.join(ROOT, "bench"))

import compare  # noqa: E402


def test_quick_run_on_embedded_server(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, COMPARE, "--server", "embedded", "--quick",
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True and doc["server"]["kind"] == "embedded"
    got = {(r["client"], r["workload"]): r for r in doc["results"]}
    assert set(got) == {(c, w) for c in compare.CLIENTS for w in compare.WORKLOAD_ORDER}
    for key, r in got.items():
        assert "errors" not in r, (key, r)
        assert r["runs"] == 1 and r["cpu_us_per_op"] > 0 and r["ops_per_s"] > 0, (key, r)
    # every target of issues 13 and 7 is evaluated from this run's figures
    assert doc["targets"] and all(t["status"] in ("met", "MISSED") for t in doc["targets"])
    assert "txhbase-seq" in proc.stdout and "targets (issues 13 and 7)" in proc.stdout


def test_parse_args_rejects_unknown_client_and_workload(capsys):
    with pytest.raises(SystemExit):
        compare.parse_args(["--clients", "happybase,nosuch"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--workloads", "scan,nosuch"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--runs", "0"])


def test_bad_server_argument_is_refused():
    with pytest.raises(SystemExit, match="HOST:PORT"):
        compare.start_gateway("localhost", "buffered", "binary")


def test_summary_takes_medians_and_targets_are_ratios():
    def sample(client, workload, cpu_s, wall_s, ops=100):
        return dict(client=client, workload=workload, ops=ops, cpu_s=cpu_s, wall_s=wall_s,
                    check=0)

    samples = {
        ("happybase", "row"): [sample("happybase", "row", c, 1.0) for c in (0.004, 0.005, 0.009)],
        ("raw", "row"): [sample("raw", "row", 0.0005, 0.0005)],
        ("txhbase-64", "row"): [sample("txhbase-64", "row", 0.002, 0.25),
                                dict(error="boom")],
        ("txhbase-seq", "row"): [sample("txhbase-seq", "row", 0.006, 2.0)],
        ("txhbase-pool4", "row"): [sample("txhbase-pool4", "row", 0.004, 0.25)],
    }
    rows = compare.summarise(samples)
    by = {(r["client"], r["workload"]): r for r in rows}
    assert by[("happybase", "row")]["cpu_us_per_op"] == pytest.approx(50.0)
    assert by[("txhbase-64", "row")]["runs"] == 1
    assert by[("txhbase-64", "row")]["errors"] == ["boom"]
    targets = {t["target"]: t for t in compare.check_targets(rows, "embedded")}
    t = targets["row: txhbase-64 CPU/op <= 0.5x happybase (sequential)"]
    assert t["value"] == pytest.approx(0.4) and t["status"] == "met"
    t = targets["row: txhbase-64 CPU/op <= 3x raw floor"]
    assert t["value"] == pytest.approx(4.0) and t["status"] == "MISSED"
    t = targets["row: txhbase-seq CPU/op <= 1.0x happybase"]
    assert t["value"] == pytest.approx(1.2) and t["status"] == "MISSED"
    t = targets["row: txhbase-pool4 ops/s >= 3x happybase"]
    assert t["value"] == pytest.approx(4.0) and t["status"] == "met"
    assert "real HBase" in t["note"]  # on the embedded server it is only indicative
    assert targets["scan: txhbase-1 CPU/row <= 1.5x raw floor"]["status"] == "n/a"
