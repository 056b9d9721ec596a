"""What compare.py's workloads read and write, and how a worker measures itself.

Shared by the orchestrator (``compare.py``) and every client worker so that
all clients put the same rows, read the same keys and scan the same range.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List

TABLE = b"txhbase_bench"
FAMILY = "cf"
COLUMNS: List[bytes] = [b"cf:c%02d" % i for i in range(10)]
#: a 10-column row of 100-byte values (deterministic, not all one byte)
ROW_DATA: Dict[bytes, bytes] = {
    col: bytes((i * 37 + j) % 251 for j in range(100)) for i, col in enumerate(COLUMNS)}

#: workload name -> what one "op" is
WORKLOADS = {
    "put": "call (1 row of 10 columns)",
    "row": "call (1 row of 10 columns)",
    "rows": "call (10 rows of 10 columns)",
    "scan": "row (batch_size 1000)",
    "batchput": "row (mutateRows of 1000 rows)",
}
WORKLOAD_ORDER = ["put", "row", "rows", "batchput", "scan"]
SCAN_BATCH = 1000
ROWS_PER_CALL = 10
WINDOW = 64
POOL_SIZE = 4


@dataclass(frozen=True)
class Sizes:
    """How many ops each workload runs, and how many rows are preloaded."""

    put: int
    row: int
    rows: int
    scan: int
    batchput: int
    read_keys: int  # rows preloaded for row/rows to read
    warmup: int

    def ops(self, workload: str) -> int:
        return getattr(self, workload)


FULL = Sizes(put=5000, row=5000, rows=1000, scan=100_000, batchput=100_000,
             read_keys=1000, warmup=50)
QUICK = Sizes(put=200, row=200, rows=20, scan=2000, batchput=2000, read_keys=100, warmup=10)


def read_key(i: int, sizes: Sizes) -> bytes:
    """The i-th key ``row``/``rows`` read (cycling over the preloaded ones)."""
    return b"read-%08d" % (i % sizes.read_keys)


def put_key(i: int) -> bytes:
    return b"put-%08d" % i


def scan_key(i: int) -> bytes:
    """Keys of the preloaded scan range (``scan-`` prefix, sorted by i)."""
    return b"scan-%08d" % i


def batch_key(i: int) -> bytes:
    """Keys the batch-put workload (over)writes, every run the same ones."""
    return b"bput-%08d" % i


def rows_keys(i: int, sizes: Sizes) -> List[bytes]:
    """The 10 keys of the i-th ``rows`` call."""
    return [read_key(i * ROWS_PER_CALL + j, sizes) for j in range(ROWS_PER_CALL)]


def cpu_seconds() -> float:
    """This process's own user+sys CPU time (children excluded)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass
class Measurement:
    """One workload run by one client in one worker process."""

    client: str
    workload: str
    ops: int
    cpu_s: float
    wall_s: float
    check: int  # rows/cells seen, so a client that silently did nothing is caught
    maxrss_mb: float = 0.0  # the process's peak RSS so far (a high-water mark)

    @property
    def cpu_us_per_op(self) -> float:
        return self.cpu_s * 1e6 / self.ops

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s > 0 else float("inf")


class Meter:
    """Measures CPU and wall time of a span of the worker's work."""

    def __init__(self) -> None:
        self.cpu0 = cpu_seconds()
        self.wall0 = time.perf_counter()

    def stop(self, client: str, workload: str, ops: int, check: int) -> Measurement:
        wall = time.perf_counter() - self.wall0
        cpu = cpu_seconds() - self.cpu0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        return Measurement(client, workload, ops, cpu, wall, check, round(rss, 1))


def emit(m: Measurement) -> None:
    """Send one measurement to the orchestrator (one JSON line on stdout)."""
    sys.stdout.write("RESULT " + json.dumps(asdict(m)) + "\n")
    sys.stdout.flush()


def expected_check(workload: str, ops: int) -> int:
    """What ``Measurement.check`` must be when ``ops`` ops did all their work."""
    if workload in ("put", "batchput"):
        return ops  # rows written
    if workload in ("row", "scan"):
        return ops * len(COLUMNS)  # cells read
    if workload == "rows":
        return ops * ROWS_PER_CALL * len(COLUMNS)
    raise ValueError(f"unknown workload {workload!r}")


def count_cells(rows: Any) -> int:
    """Cells in a HappyBase-shaped ``rows`` result: ``[(key, {col: val})]``."""
    return sum(len(data) for _key, data in rows)


Runner = Callable[..., Any]
