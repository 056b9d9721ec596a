"""Short runs of bench/soak.py: real subprocess gateways SIGKILLed mid-workload."""
from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def soak(*args: str) -> str:
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "soak.py"), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    assert "lost: 0" in out and "RESULT: PASS" in out
    return out


def figure(out: str, pattern: str) -> int:
    m = re.search(pattern, out)
    assert m, out
    return int(m.group(1))


def test_short_soak_loses_nothing() -> None:
    out = soak("--seconds", "6", "--concurrency", "8", "--kill-min", "1", "--kill-max", "2",
               "--seed", "3")
    assert figure(out, r"(\d+) SIGKILLs") >= 1, out


def test_short_flapping_soak_fails_no_call_while_a_gateway_accepts() -> None:
    """Issue 12 item 6: two gateways killed and revived in turn, once both at
    once, one core kept busy: no AllServersUnavailable while one accepts, no
    acknowledged put lost (the soak's exit status checks both)."""
    out = soak("--pattern", "flap", "--gateways", "2", "--turns", "3", "--all-every", "3",
               "--seconds", "60", "--concurrency", "6", "--seed", "5")
    assert figure(out, r"(\d+) SIGKILLs") == 4, out  # one, the other, then both
    assert figure(out, r"every gateway killed: (\d+) times") == 1, out
    assert figure(out, r"AllServersUnavailable while a gateway accepted: (\d+)") == 0, out
    assert figure(out, r"puts, reads and scans failed while a gateway accepted: (\d+)") == 0, out
    assert "CPU burner on" in out
