"""bench/cmp_http.py runs end to end (smallest size, txhbase only: aiohappybase's
HTTP client is in the bench extra, not the test extra). No timing assertions."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cmp_http_quick_runs(tmp_path):
    out = tmp_path / "http.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "cmp_http.py"), "--quick",
                           "--runs", "1", "--clients", "txhbase", "--json", str(out)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"txhbase/row", "txhbase/row-c16", "txhbase/scan"}
    assert all(r["ops"] > 0 for r in results.values())
