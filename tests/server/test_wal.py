"""The write-ahead log: framing, torn tails, batching per reactor turn, and kill -9."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from twisted.internet import task

from txhbase.server import wal
from txhbase.server.handler import HBaseHandler
from txhbase.server.store import Store

from tests.conftest import start_embedded_subprocess
from tests.server.helpers import cd, put


def test_encode_roundtrip():
    rec = ("put", b"t", b"\x00row", 2 ** 63 - 1, None, ((b"f", b"", b"v" * 300),), True, "s",
           -5, 2 ** 70)
    assert wal.decode(wal.encode(rec)) == rec
    with pytest.raises(TypeError):
        wal.encode(object())


def test_torn_and_corrupt_tails_are_skipped():
    recs = [("enable", b"t%d" % i, True) for i in range(3)]
    data = b"".join(wal.frame_record(r) for r in recs)
    assert [r for r, _ in wal.read_records(data)] == recs
    for cut in range(1, len(wal.frame_record(recs[2]))):
        assert [r for r, _ in wal.read_records(data[:-cut])] == recs[:2]
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    assert [r for r, _ in wal.read_records(bytes(flipped))] == recs[:2]


def _handler(tmp_path, clock):
    store = Store(clock=lambda: int(clock.seconds() * 1000))
    log = wal.WriteAheadLog(str(tmp_path), clock=clock)
    log.recover(store)
    log.attach(store)
    return HBaseHandler(store, clock=clock, wal=log), log


def test_mutation_is_acknowledged_only_after_the_flush(tmp_path):
    clock = task.Clock()
    h, log = _handler(tmp_path, clock)
    h.createTable(b"t", [cd(b"cf")])
    clock.advance(0)
    fired = []
    h.mutateRow(b"t", b"r", [put(b"cf:a", b"1")]).addCallback(fired.append)
    h.mutateRow(b"t", b"r", [put(b"cf:b", b"2")]).addCallback(fired.append)
    size_before = os.path.getsize(log.path)
    assert fired == []
    clock.advance(0)  # one flush + fsync for both
    assert len(fired) == 2 and os.path.getsize(log.path) > size_before
    log.close()
    # restart: replay, compaction, same data
    h2, log2 = _handler(tmp_path, task.Clock())
    assert {c: v.value for c, v in h2.getRow(b"t", b"r")[0].columns.items()} == {
        b"cf:a": b"1", b"cf:b": b"2"}
    assert log2.records_replayed >= 3 and log2.torn_bytes == 0
    log2.close()


def test_restart_skips_a_torn_last_record(tmp_path):
    clock = task.Clock()
    h, log = _handler(tmp_path, clock)
    h.createTable(b"t", [cd(b"cf")])
    h.mutateRow(b"t", b"r", [put(b"cf:a", b"kept")])
    clock.advance(0)
    log.close()
    with open(log.path, "ab") as f:
        f.write(wal.frame_record(("put", b"t", b"r", 1, None, ((b"cf", b"b", b"torn"),)))[:-3])
    h2, log2 = _handler(tmp_path, task.Clock())
    assert log2.torn_bytes > 0
    assert set(h2.getRow(b"t", b"r")[0].columns) == {b"cf:a"}
    log2.close()
    # the compaction removed the torn bytes for good
    h3, log3 = _handler(tmp_path, task.Clock())
    assert log3.torn_bytes == 0
    log3.close()


def test_failed_write_fails_the_mutation(tmp_path):
    clock = task.Clock()
    h, log = _handler(tmp_path, clock)
    h.createTable(b"t", [cd(b"cf")])
    clock.advance(0)
    log.close_file()
    errors = []
    h.mutateRow(b"t", b"r", [put(b"cf:a", b"1")]).addErrback(errors.append)
    clock.advance(0)
    assert len(errors) == 1 and "WAL" in errors[0].value.message


def _thrift_client(port):
    from thriftpy2.rpc import make_client

    from txhbase.protocol.idl import hbase

    return make_client(hbase.Hbase, "127.0.0.1", port, timeout=10000)


def test_kill_minus_9_mid_stream_keeps_every_acknowledged_write(tmp_path):
    """Writers stream mutations; SIGKILL the server; all acknowledged rows survive."""
    from txhbase.protocol.idl import hbase

    data_dir = str(tmp_path / "data")
    proc, port = start_embedded_subprocess(data_dir=data_dir)
    acked = []
    stop = threading.Event()

    def writer(c):
        i = 0
        try:
            while not stop.is_set():
                c.mutateRow(b"t", b"row%06d" % i,
                            [hbase.Mutation(column=b"cf:v", value=b"%d" % i)], {})
                acked.append(i)  # only after the reply arrived
                i += 1
        except Exception:
            pass  # the server died under us: expected

    try:
        c = _thrift_client(port)
        c.createTable(b"t", [hbase.ColumnDescriptor(name=b"cf")])
        th = threading.Thread(target=writer, args=(c,), daemon=True)
        th.start()
        time.sleep(0.7)  # integration test against a real process: let it stream
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream, requests still in flight
        proc.wait(10)
        th.join(10)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(acked) > 20, acked
    proc2, port2 = start_embedded_subprocess(data_dir=data_dir)
    try:
        c2 = _thrift_client(port2)
        sid = c2.scannerOpen(b"t", b"", [], {})
        rows = []
        while True:
            got = c2.scannerGetList(sid, 1000)
            if not got:
                break
            rows.extend(got)
        found = {r.row for r in rows}
        assert {b"row%06d" % i for i in acked} <= found
    finally:
        proc2.send_signal(signal.SIGTERM)
        assert proc2.wait(10) == 0


def test_log_is_compacted_online_when_it_outgrows_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(wal.WriteAheadLog, "COMPACT_MIN_BYTES", 20_000)
    clock = task.Clock()
    h, log = _handler(tmp_path, clock)
    h.createTable(b"t", [cd(b"cf", maxVersions=1)])
    for i in range(400):  # overwrite the same 5 cells: the live data stays tiny
        h.mutateRow(b"t", b"r%d" % (i % 5), [put(b"cf:a", b"x" * 100)])
        clock.advance(0)
    assert log.compactions >= 2  # the one at start + at least one online
    assert os.path.getsize(log.path) < 20_000 + 2 * log.snapshot_bytes
    log.close()
    h2, log2 = _handler(tmp_path, task.Clock())
    assert len(h2.getRows(b"t", [b"r%d" % i for i in range(5)], {})) == 5
    log2.close()
