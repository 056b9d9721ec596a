"""Durability for ``--data-dir``: an append-only, checksummed write-ahead log.

Every store mutation is one record: ``length (4 bytes BE) | crc32 (4 bytes BE)
| payload``.  Records appended during one reactor turn are written and
fsync'd together on the next turn (``sync()`` returns a Deferred fired after
the fsync), so the handler acknowledges a mutation only once it is on disk.

On start ``recover`` replays the log into the store and stops at the first
torn or corrupt record (a crash mid-write leaves at most the last one torn;
it was never acknowledged), then compacts: the store's snapshot is written
to a new file, fsync'd and renamed over the log.
"""
from __future__ import annotations

import logging
import os
import struct
import zlib
from typing import Any, Iterator, Optional

from twisted.internet import defer

log = logging.getLogger(__name__)

LOG_NAME = "wal.log"
_HEADER = struct.Struct(">II")
_LEN = struct.Struct(">I")
_I64 = struct.Struct(">q")
MAX_RECORD = 1 << 30


# ---- a small tagged encoding for tuples of bytes / int / str / bool / None ----

def encode(value: Any) -> bytes:
    out: list = []
    _enc(value, out)
    return b"".join(out)


def _enc(v: Any, out: list) -> None:
    if v is None:
        out.append(b"N")
    elif v is True:
        out.append(b"T")
    elif v is False:
        out.append(b"F")
    elif isinstance(v, int):
        if -(1 << 63) <= v < (1 << 63):
            out.append(b"I" + _I64.pack(v))
        else:
            raw = str(v).encode()
            out.append(b"J" + _LEN.pack(len(raw)) + raw)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        v = bytes(v)
        out.append(b"B" + _LEN.pack(len(v)) + v)
    elif isinstance(v, str):
        raw = v.encode("utf-8")
        out.append(b"S" + _LEN.pack(len(raw)) + raw)
    elif isinstance(v, (tuple, list)):
        out.append(b"L" + _LEN.pack(len(v)))
        for x in v:
            _enc(x, out)
    else:
        raise TypeError(f"cannot log a {type(v).__name__}")


def decode(data: bytes) -> Any:
    value, pos = _dec(data, 0)
    if pos != len(data):
        raise ValueError("trailing bytes in record")
    return value


def _dec(data: bytes, pos: int) -> tuple:
    tag = data[pos:pos + 1]
    pos += 1
    if tag == b"N":
        return None, pos
    if tag == b"T":
        return True, pos
    if tag == b"F":
        return False, pos
    if tag == b"I":
        return _I64.unpack_from(data, pos)[0], pos + 8
    if tag in (b"B", b"S", b"J"):
        (n,) = _LEN.unpack_from(data, pos)
        pos += 4
        raw = data[pos:pos + n]
        if len(raw) != n:
            raise ValueError("truncated value")
        pos += n
        if tag == b"B":
            return raw, pos
        if tag == b"S":
            return raw.decode("utf-8"), pos
        return int(raw), pos
    if tag == b"L":
        (n,) = _LEN.unpack_from(data, pos)
        pos += 4
        items = []
        for _ in range(n):
            x, pos = _dec(data, pos)
            items.append(x)
        return tuple(items), pos
    raise ValueError(f"bad tag {tag!r}")


def frame_record(rec: Any) -> bytes:
    payload = encode(rec)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(data: bytes) -> Iterator[tuple]:
    """Yield ``(record, end_offset)``; stop silently at a torn or corrupt record."""
    pos = 0
    n = len(data)
    while pos + _HEADER.size <= n:
        length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        end = start + length
        if length > MAX_RECORD or end > n:
            return
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return
        try:
            rec = decode(payload)
        except (ValueError, struct.error, UnicodeDecodeError):
            return
        yield rec, end
        pos = end


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class WriteAheadLog:
    """The log of one data directory.

    ``append(record)`` buffers; ``sync()`` returns a Deferred fired once every
    record appended so far is written and fsync'd.  Flushes happen once per
    reactor turn (``clock.callLater(0, ...)``), batching concurrent writers.
    """

    #: compact online once the log has grown by this many bytes, and by more
    #: than twice the last snapshot (so a log stays within ~3x the live data)
    COMPACT_MIN_BYTES = 64 << 20

    def __init__(self, directory: str, clock: Any = None, fsync: bool = True) -> None:
        if clock is None:
            from twisted.internet import reactor as clock  # noqa: N813
        self.directory = directory
        self.path = os.path.join(directory, LOG_NAME)
        self.clock = clock
        self.fsync = fsync
        self._file: Optional[Any] = None
        self._buffer: list = []
        self._waiters: list = []
        self._scheduled: Any = None
        self.records_replayed = 0
        self.torn_bytes = 0
        self.snapshot_bytes = 0
        self.appended_bytes = 0
        self.compactions = 0
        self._store: Any = None

    def recover(self, store: Any) -> int:
        """Replay the log into ``store``, skip a torn tail, compact; return records replayed."""
        os.makedirs(self.directory, exist_ok=True)
        data = b""
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                data = f.read()
        good = 0
        count = 0
        saved, store.on_record = store.on_record, None
        try:
            for rec, end in read_records(data):
                store.apply_record(rec)
                good = end
                count += 1
        finally:
            store.on_record = saved
        self.records_replayed = count
        self.torn_bytes = len(data) - good
        if self.torn_bytes:
            log.warning("%s: skipped %d bytes of torn or corrupt log after %d records",
                        self.path, self.torn_bytes, count)
        self.compact(store)
        return count

    def compact(self, store: Any) -> None:
        """Rewrite the log as a snapshot of ``store`` (atomically, via rename)."""
        self.close_file()
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            chunk = []
            size = 0
            for rec in store.snapshot_records():
                b = frame_record(rec)
                chunk.append(b)
                size += len(b)
                if size > 1 << 20:
                    f.write(b"".join(chunk))
                    chunk, size = [], 0
            f.write(b"".join(chunk))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
            self.snapshot_bytes = f.tell()
        self.appended_bytes = 0
        self.compactions += 1
        os.replace(tmp, self.path)
        if self.fsync:
            _fsync_dir(self.directory)
        self._file = open(self.path, "ab")

    def attach(self, store: Any) -> None:
        """Log every mutation of ``store`` from now on."""
        store.on_record = self.append
        self._store = store

    def append(self, record: tuple) -> None:
        data = frame_record(record)
        self.appended_bytes += len(data)
        self._buffer.append(data)
        self._schedule()

    def _schedule(self) -> None:
        if self._scheduled is None:
            self._scheduled = self.clock.callLater(0, self.flush)

    def sync(self) -> defer.Deferred:
        """A Deferred fired when everything appended so far is on disk."""
        if not self._buffer and not self._waiters:
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        self._waiters.append(d)
        self._schedule()
        return d

    def flush(self) -> None:
        """Write and fsync the buffered records, then fire the waiting Deferreds."""
        self._scheduled = None
        buf, self._buffer = self._buffer, []
        waiters, self._waiters = self._waiters, []
        try:
            if buf:
                if self._file is None:
                    raise OSError("write-ahead log is closed")
                self._file.write(b"".join(buf))
                self._file.flush()
                if self.fsync:
                    os.fsync(self._file.fileno())
        except Exception as e:
            log.error("write-ahead log %s failed: %s", self.path, e)
            from txhbase.protocol.idl import hbase

            err = hbase.IOError(message=f"java.io.IOException: WAL write failed: {e}",
                                canRetry=True)
            for d in waiters:
                d.errback(err)
            return
        for d in waiters:
            d.callback(None)
        if (self._store is not None and self.appended_bytes > self.COMPACT_MIN_BYTES
                and self.appended_bytes > 2 * self.snapshot_bytes):
            # blocks the reactor while the snapshot is written; runs rarely
            try:
                self.compact(self._store)
            except OSError as e:  # keep appending to the old log
                log.error("write-ahead log compaction failed: %s", e)
                if self._file is None:
                    self._file = open(self.path, "ab")

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        """Flush what is pending and close the file."""
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self.flush()
        self.close_file()
