"""HBase's Java Admin for what Thrift1 cannot do: ClusterAdmin.java, compiled and driven.

``ClusterAdmin.java`` (beside this file) pre-splits tables, moves and splits
regions and lists region servers. It is compiled once per machine
(:func:`compile_admin`) and run as one long-lived ``ClusterAdmin serve`` JVM
per cluster (:class:`AdminSession`): a JVM and an HBase connection cost 8-15 s
each on 2 cores, a command on a warm session well under one. Region lines
come back as :class:`RegionLocation` (:func:`parse_regions`).
"""
from __future__ import annotations

import hashlib
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Optional, Sequence

__all__ = ["ADMIN_SOURCE", "AdminError", "AdminSession", "RegionLocation", "compile_admin",
           "parse_regions"]

ADMIN_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ClusterAdmin.java")


class AdminError(RuntimeError):
    """ClusterAdmin could not be compiled, or a command failed, exited or timed out."""


@dataclass(frozen=True)
class RegionLocation:
    """One region of a table as HBase's Java Admin reports it."""

    start: bytes
    end: bytes
    region_id: int
    encoded_name: str
    host: str
    port: int


def parse_regions(out: str) -> list[RegionLocation]:
    """Parse ClusterAdmin.java's region lines (hex keys, tab-separated)."""
    regions = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 6:
            continue
        start, end, rid, enc, host, port = parts
        regions.append(RegionLocation(bytes.fromhex(start), bytes.fromhex(end), int(rid), enc,
                                      host, int(port) if port else 0))
    return regions


def compile_admin(jars: list[str], cache: str, salt: str) -> Optional[str]:
    """ClusterAdmin.java compiled into ``cache`` once (keyed by the source and
    ``salt``, e.g. the pom's hash); None without javac (then it runs as a
    single-file source program)."""
    javac = shutil.which("javac")
    if not javac:
        return None
    with open(ADMIN_SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read() + salt.encode()).hexdigest()[:16]
    out = os.path.join(cache, f"realhbase-admin-{digest}")
    if os.path.exists(os.path.join(out, "ClusterAdmin.class")):
        return out
    tmp = f"{out}.{os.getpid()}.tmp"
    proc = subprocess.run([javac, "-nowarn", "-d", tmp, "-cp", os.pathsep.join(jars),
                           ADMIN_SOURCE], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AdminError("javac ClusterAdmin.java failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out



class AdminSession:
    """One ``ClusterAdmin serve`` JVM: a command line in, its lines and ``END n`` out."""

    def __init__(self, argv: list[str], stderr_path: str, cwd: str) -> None:
        """Start ``argv`` (a ``ClusterAdmin serve`` command line) in its own
        process group; its stderr goes to ``stderr_path``."""
        with open(stderr_path, "ab") as err:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=err, cwd=cwd, start_new_session=True)
        self.stderr_path = stderr_path
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout
        for raw in self.popen.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)  # the JVM exited

    def run(self, args: Sequence[str], timeout: float) -> str:
        """Send one command; return its output lines (raise AdminError on ERR,
        exit or timeout; a timed-out JVM is killed)."""
        assert self.popen.stdin
        self.popen.stdin.write((" ".join(args) + "\n").encode())
        self.popen.stdin.flush()
        deadline = time.monotonic() + timeout
        out: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AdminError(f"ClusterAdmin {' '.join(args)} took over {timeout:.0f} s "
                                   f"(killed); read {self.stderr_path}") from None
            if line is None:
                raise AdminError(f"ClusterAdmin exited during {' '.join(args)} "
                                   f"({self.popen.poll()}); read {self.stderr_path}\n"
                                   + _tail(self.stderr_path))
            if line == "END 0":
                return "\n".join(out) + "\n"
            if line == "END 1":
                raise AdminError(f"ClusterAdmin {' '.join(args)} failed: "
                                   + " ".join(l for l in out if l.startswith("ERR "))[:3000])
            out.append(line)

    def kill(self) -> None:
        """SIGKILL the JVM's process group (it holds no state worth a clean stop)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait(10)


def _tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""
