"""Durability benchmark: the embedded server's write-ahead log against SQLite.

    python bench/wal_bench.py [--seconds 5] [--inflight 64] [--only e2e,log,recover]

- e2e: durable ``mutateRow``/s end to end: ``python -m txhbase.server
  --data-dir`` as a subprocess, one client connection keeping ``--inflight``
  single-row puts (one 100-byte cell) pipelined; each reply comes only after
  its record is fsync'd.
- log: the storage alone, in this process, for the same record shape and the
  same batching (``--inflight`` records per reactor turn, one fsync per turn):
  txhbase's checksummed append-only log (``WriteAheadLog.flush``) against a
  SQLite table in WAL mode with ``synchronous=FULL``, one transaction per turn,
  each record stored with its CRC32 (SQLite itself checksums no page).
- recover: verifying + replaying a log of ``--records`` puts at start.

Not a test: figures move with the machine's disk and load.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import zlib
from typing import Any, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, task  # noqa: E402

from txhbase.protocol.connect import connect  # noqa: E402
from txhbase.protocol.idl import hbase  # noqa: E402
from txhbase.server import wal  # noqa: E402
from txhbase.server.store import Store  # noqa: E402

from server_bench import start_server  # noqa: E402  (bench/ is on sys.path)

VALUE = b"v" * 100


def record(i: int) -> tuple:
    return ("put", b"t", b"row%08d" % i, 1_700_000_000_000 + i, None, ((b"cf", b"q", VALUE),))


@defer.inlineCallbacks
def bench_e2e(reactor: Any, seconds: float, inflight: int) -> Any:
    tmp = tempfile.mkdtemp(prefix="txhbase-walbench-")
    proc, port = start_server("--data-dir", tmp)
    try:
        client = yield connect(reactor, "127.0.0.1", port)
        yield client.call("createTable", b"t", [hbase.ColumnDescriptor(name=b"cf")])
        done = [0]
        end = time.perf_counter() + seconds

        @defer.inlineCallbacks
        def worker(w: int) -> Any:
            i = w
            while time.perf_counter() < end:
                yield client.call("mutateRow", b"t", b"row%08d" % i,
                                  [hbase.Mutation(column=b"cf:q", value=VALUE)], {})
                done[0] += 1
                i += inflight

        start = time.perf_counter()
        yield defer.gatherResults([worker(w) for w in range(inflight)])
        rate = done[0] / (time.perf_counter() - start)
        yield client.close()
        return rate
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


class SQLiteLog:
    """The same contract as ``WriteAheadLog`` (append, then one durable commit
    per turn), kept in SQLite: WAL journal, synchronous=FULL, CRC32 per row."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS log "
                        "(seq INTEGER PRIMARY KEY, crc INTEGER NOT NULL, rec BLOB NOT NULL)")
        self._buffer: List[tuple] = []

    def append(self, rec: tuple) -> None:
        payload = wal.encode(rec)
        self._buffer.append((zlib.crc32(payload), payload))

    def flush(self) -> None:
        buf, self._buffer = self._buffer, []
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO log (crc, rec) VALUES (?, ?)", buf)
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


def bench_log(seconds: float, per_turn: int) -> dict:
    out = {}
    for name in ("txhbase log", "sqlite WAL"):
        tmp = tempfile.mkdtemp(prefix="txhbase-walbench-")
        try:
            if name == "txhbase log":
                log: Any = wal.WriteAheadLog(tmp, clock=task.Clock())
                log.recover(Store(clock=lambda: 0))
            else:
                log = SQLiteLog(os.path.join(tmp, "log.db"))
            n = 0
            end = time.perf_counter() + seconds
            start = time.perf_counter()
            while time.perf_counter() < end:
                for _ in range(per_turn):
                    log.append(record(n))
                    n += 1
                log.flush()
            out[name] = n / (time.perf_counter() - start)
            log.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_recover(records: int) -> float:
    tmp = tempfile.mkdtemp(prefix="txhbase-walbench-")
    try:
        store = Store(clock=lambda: 0)
        from txhbase.server.store import FamilySpec

        store.create_table(b"t", [FamilySpec(b"cf")])
        with open(os.path.join(tmp, wal.LOG_NAME), "wb") as f:
            f.write(wal.frame_record(next(iter(store.snapshot_records()))))
            f.write(b"".join(wal.frame_record(record(i)) for i in range(records)))
        log = wal.WriteAheadLog(tmp, clock=task.Clock(), fsync=False)
        start = time.perf_counter()
        log.recover(Store(clock=lambda: 0))
        elapsed = time.perf_counter() - start
        log.close()
        return records / elapsed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--inflight", type=int, default=64)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--only", default="e2e,log,recover")
    args = p.parse_args()
    only = set(args.only.split(","))
    if "e2e" in only:
        from twisted.internet import reactor

        result: dict = {}

        @defer.inlineCallbacks
        def run() -> Any:
            try:
                result["rate"] = yield bench_e2e(reactor, args.seconds, args.inflight)
            finally:
                reactor.stop()

        reactor.callWhenRunning(run)
        reactor.run()
        print(f"durable mutateRow/s end to end ({args.inflight} in flight): "
              f"{result.get('rate', 0):,.0f}")
    if "log" in only:
        for name, rate in bench_log(args.seconds, args.inflight).items():
            print(f"{name}: {rate:,.0f} durable records/s ({args.inflight} per fsync'd turn)")
    if "recover" in only:
        print(f"recover (verify + replay): {bench_recover(args.records):,.0f} records/s")


if __name__ == "__main__":
    main()
