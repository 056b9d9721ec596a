"""Issue 12 item 8: a corrupt write-ahead log never drops acknowledged data silently.

A torn last record (a crash mid-write) is skipped; corruption anywhere else
refuses to start, naming the file and offset and changing no file, unless the
operator asks for ``salvage``, which keeps a copy and replays what verifies.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from twisted.internet import task

from txhbase.server import listen, wal
from txhbase.server.handler import HBaseHandler
from txhbase.server.store import Store

from tests.server.helpers import cd, put

N = 50


def _open(path, mode="strict"):
    clock = task.Clock()
    store = Store(clock=lambda: int(clock.seconds() * 1000))
    log = wal.WriteAheadLog(str(path), clock=clock)
    log.recover(store, mode=mode)
    log.attach(store)
    return HBaseHandler(store, clock=clock, wal=log), log, clock


def _rows(h):
    return {r.row for r in h.getRowsWithColumns(b"t", [b"r%03d" % i for i in range(N)],
                                                 [b"cf"], {})}


@pytest.fixture
def logged(tmp_path):
    """A data dir whose log holds a create and N acknowledged puts, one record each."""
    h, log, clock = _open(tmp_path)
    h.createTable(b"t", [cd(b"cf")])
    for i in range(N):
        h.mutateRow(b"t", b"r%03d" % i, [put(b"cf:q", b"v%d" % i)], {})
    clock.advance(0)
    log.close()
    with open(log.path, "rb") as f:
        data = f.read()
    starts = [item[1] for item in wal.scan(data)]
    assert len(starts) == N + 1
    return tmp_path, log.path, starts


def _flip(path, offset, bit=0x10):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ bit]))


def _snapshot(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = f.read()
    return out


@pytest.mark.parametrize("where", ["middle", "first", "length field"])
def test_corruption_before_the_last_record_refuses_to_start_and_changes_nothing(logged, where):
    """Before: one WARNING, every record after the flip dropped (the first:
    an empty store) and the log rewritten, so the loss was permanent."""
    directory, path, starts = logged
    rec = {"middle": N // 2, "first": 0, "length field": N // 2}[where]
    offset = starts[rec] + (2 if where == "length field" else 12)
    _flip(path, offset)
    before = _snapshot(directory)
    with pytest.raises(wal.LogCorrupted) as ei:
        _open(directory)
    assert ei.value.path == path and ei.value.offset == starts[rec]
    msg = str(ei.value)
    assert path in msg and f"byte offset {starts[rec]}" in msg and "salvage" in msg
    assert _snapshot(directory) == before  # nothing rewritten, nothing added
    with pytest.raises(wal.LogCorrupted):  # and so on every later start
        listen(0, data_dir=str(directory))
    assert _snapshot(directory) == before


def test_a_flip_in_the_last_record_is_a_torn_tail_and_skipped(logged):
    directory, path, starts = logged
    size = os.path.getsize(path)
    _flip(path, starts[-1] + 12)
    h, log, _ = _open(directory)
    assert log.torn_bytes == size - starts[-1]
    assert _rows(h) == {b"r%03d" % i for i in range(N - 1)}
    assert log.salvaged_copy is None
    log.close()


def test_salvage_keeps_a_copy_and_replays_every_record_that_verifies(logged):
    directory, path, starts = logged
    _flip(path, starts[10] + 12)
    _flip(path, starts[30] + 12)
    with open(path, "rb") as f:
        original = f.read()
    h, log, clock = _open(directory, mode="salvage")
    assert log.salvaged_copy == path + ".corrupt-1"
    with open(log.salvaged_copy, "rb") as f:
        assert f.read() == original
    # records 10 and 30 are puts of rows r009 and r029; every other row is back
    assert _rows(h) == {b"r%03d" % i for i in range(N)} - {b"r009", b"r029"}
    h.mutateRow(b"t", b"new", [put(b"cf:q", b"1")], {})
    clock.advance(0)
    log.close()
    # the salvaged store was written out whole: a strict start now succeeds
    h2, log2, _ = _open(directory)
    assert len(_rows(h2)) == N - 2 and h2.getRow(b"t", b"new", {})
    log2.close()


def test_salvage_of_a_lost_create_skips_the_records_that_no_longer_apply(logged):
    directory, path, starts = logged
    _flip(path, starts[0] + 12)
    h, log, _ = _open(directory, mode="salvage")
    assert h.getTableNames() == [] and log.records_replayed == 0
    assert os.path.exists(path + ".corrupt-1")
    log.close()


def test_recover_mode_and_listen_option_are_checked(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        wal.WriteAheadLog(str(tmp_path)).recover(Store(clock=lambda: 0), mode="lenient")
    with pytest.raises(ValueError, match="wal_recovery"):
        listen(0, data_dir=str(tmp_path), wal_recovery="lenient")


def test_cli_refuses_a_corrupt_log_with_a_clear_error_and_salvages_on_request(logged):
    directory, path, starts = logged
    _flip(path, starts[5] + 12)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, "-m", "txhbase.server", "--port", "0", "--data-dir", str(directory)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert f"{path} is corrupt at byte offset {starts[5]}" in proc.stderr
    assert "Traceback" not in proc.stderr
    srv = subprocess.Popen(cmd + ["--wal-recovery", "salvage"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "listening on" in srv.stdout.readline()
    finally:
        srv.terminate()
        srv.wait(30)
    assert os.path.exists(path + ".corrupt-1")
