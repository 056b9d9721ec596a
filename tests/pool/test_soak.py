"""A short run of bench/soak.py: real subprocess gateways SIGKILLed mid-workload."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_short_soak_loses_nothing():
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "soak.py"), "--seconds", "6",
         "--concurrency", "8", "--kill-min", "1", "--kill-max", "2", "--seed", "3"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    assert "lost: 0" in out and "RESULT: PASS" in out
    kills = int(out.split(" SIGKILLs")[0].rsplit(" ", 1)[1])
    assert kills >= 1, out
