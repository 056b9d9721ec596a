"""Run ``examples/daemon.tac`` under ``twistd -n`` and read its outcomes file."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
TAC = ROOT / "examples" / "daemon.tac"


def twistd() -> str:
    """The twistd of the Python running the tests (a venv's, pyenv's), else PATH's."""
    local = Path(sys.executable).with_name("twistd")
    if local.exists():
        return str(local)
    found = shutil.which("twistd")
    assert found, "twistd not found"
    return found


@dataclass
class Outcomes:
    ok: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    bugs: list[str] = field(default_factory=list)
    stopped: Optional[tuple[int, int]] = None

    @classmethod
    def read(cls, path: Path) -> "Outcomes":
        out = cls()
        if not path.exists():
            return out
        for line in path.read_text().splitlines():
            kind = line.split(" ", 1)[0]
            if kind == "ok":
                out.ok.append(line)
            elif kind == "fail":
                out.failed.append(line)
            elif kind == "stopped":
                ok, failed = line.split()[1:]
                out.stopped = (int(ok), int(failed))
            else:
                out.bugs.append(line)
        return out

    def acknowledged_keys(self) -> set[bytes]:
        return {m.group(1).encode() for line in self.ok
                if (m := re.match(r"ok put (\S+)$", line))}


class Daemon:
    """``twistd -n -y daemon.tac`` with its environment, log and outcomes file in ``tmp``."""

    def __init__(self, tmp: Path, gateway: Optional[str] = None, writers: int = 8,
                 grace: float = 10.0) -> None:
        self.outcomes_path = tmp / "outcomes.log"
        self.log_path = tmp / "twistd.log"
        env = dict(os.environ, PYTHONPATH=str(ROOT), TXHBASE_OUTCOMES=str(self.outcomes_path),
                   TXHBASE_WRITERS=str(writers), TXHBASE_GRACE=str(grace))
        env.pop("TXHBASE_GATEWAY", None)
        if gateway:
            env["TXHBASE_GATEWAY"] = gateway
        self.proc = subprocess.Popen(
            [twistd(), "-n", "--pidfile=", "--logfile", str(self.log_path), "-y", str(TAC)],
            env=env, cwd=str(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def outcomes(self) -> Outcomes:
        return Outcomes.read(self.outcomes_path)

    def wait_for_load(self, ok_calls: int, timeout: float = 60.0) -> None:
        """Wait (polling the file) until ``ok_calls`` calls have completed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited early ({self.proc.returncode}):\n{self.log()}")
            if len(self.outcomes().ok) >= ok_calls:
                return
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"fewer than {ok_calls} calls in {timeout} s:\n{self.log()}")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit; fire with the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"daemon did not stop within {timeout} s of SIGTERM:\n{self.log()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else "(no log)"
