"""Durability for ``--data-dir``: an append-only, checksummed write-ahead log.

Every store mutation is one record: ``length (4 bytes BE) | crc32 (4 bytes BE)
| payload``.  Records appended during one reactor turn are written and
fsync'd together on the next turn (``sync()`` returns a Deferred fired after
the fsync), so the handler acknowledges a mutation only once it is on disk.

On start ``recover`` verifies the whole log before touching anything:

- a torn LAST record (a crash mid-write: no record after it verifies) was
  never acknowledged; it is skipped with a warning;
- a bad record followed by records that verify is corruption (a flipped bit,
  a bad sector): acknowledged data would be lost, so in ``"strict"`` mode
  (the default) ``LogCorrupted`` is raised, naming the file and the byte
  offset, and no file is changed; in ``"salvage"`` mode (an explicit operator
  choice) the log is first copied to ``wal.log.corrupt-N``, then every record
  that verifies is replayed, resynchronising after each bad one.

Then it compacts: the store's snapshot is written to a new file, fsync'd and
renamed over the log (never over a corrupt log in strict mode).
"""
from __future__ import annotations

import logging
import os
import struct
import zlib
from typing import Any, Iterator, List, NamedTuple, Optional, Tuple, Union

from twisted.internet import defer

log = logging.getLogger(__name__)

LOG_NAME = "wal.log"
_HEADER = struct.Struct(">II")
_LEN = struct.Struct(">I")
_I64 = struct.Struct(">q")
MAX_RECORD = 1 << 30

#: one store mutation as logged: a tuple of bytes / int / str / bool / None / tuples
Record = Tuple[Any, ...]


# ---- a small tagged encoding for tuples of bytes / int / str / bool / None ----

def encode(value: Any) -> bytes:
    out: List[bytes] = []
    _enc(value, out)
    return b"".join(out)


def _enc(v: Any, out: List[bytes]) -> None:
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


def _dec(data: bytes, pos: int) -> Tuple[Any, int]:
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


class LogCorrupted(Exception):
    """The write-ahead log is corrupt before its last record: refusing to start."""

    def __init__(self, path: str, offset: int, reason: str, records_before: int,
                 next_good: int) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"write-ahead log {path} is corrupt at byte offset {offset} ({reason}); "
            f"{records_before} records verify before it and another verifies at byte "
            f"{next_good}, so acknowledged data would be lost: refusing to start, no file "
            f"was changed. Restore the log from a backup, or start with --wal-recovery "
            f"salvage (listen(wal_recovery='salvage')), which keeps a copy of the log and "
            f"replays every record that verifies")


def _check_record(data: bytes, pos: int) -> Union[Tuple[Record, int], str]:
    """``(record, end)`` if a whole record that verifies starts at ``pos``, else why not."""
    n = len(data)
    if pos + _HEADER.size > n:
        return "record header cut short"
    length, crc = _HEADER.unpack_from(data, pos)
    start = pos + _HEADER.size
    end = start + length
    if length > MAX_RECORD or end > n:
        return f"record length {length} runs past the end of the file"
    payload = data[start:end]
    if zlib.crc32(payload) != crc:
        return "checksum mismatch"
    try:
        rec = decode(payload)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as e:
        return f"undecodable record: {e}"
    if not isinstance(rec, tuple):
        return "record is not a tuple"
    return rec, end


def _resync(data: bytes, pos: int) -> Optional[int]:
    """The offset of the next record that verifies at or after ``pos``, or None."""
    # every record is a tuple, so its payload starts with the tag b"L": only
    # offsets 8 bytes before an "L" can start one
    hit = data.find(b"L", pos + _HEADER.size)
    while hit != -1:
        cand = hit - _HEADER.size
        if not isinstance(_check_record(data, cand), str):
            return cand
        hit = data.find(b"L", hit + 1)
    return None


class Bad(NamedTuple):
    """A stretch of the log that does not verify, from ``offset`` to ``next_good``
    (the next record that verifies; None when none does: a torn tail)."""

    offset: int
    reason: str
    next_good: Optional[int]


def scan(data: bytes) -> Iterator[Union[Tuple[Record, int, int], Bad]]:
    """Walk a whole log: ``(record, start, end)`` for each record that
    verifies, a ``Bad`` for each stretch that does not, resynchronising after
    it at the next record that verifies (the walk ends after a torn tail)."""
    pos = 0
    size = len(data)
    while pos < size:
        got = _check_record(data, pos)
        if isinstance(got, str):
            nxt = _resync(data, pos + 1)
            yield Bad(pos, got, nxt)
            if nxt is None:
                return
            pos = nxt
            continue
        rec, end = got
        yield rec, pos, end
        pos = end


def read_records(data: bytes) -> Iterator[Tuple[Record, int]]:
    """Yield ``(record, end_offset)`` up to the first record that does not verify."""
    pos = 0
    while pos < len(data):
        got = _check_record(data, pos)
        if isinstance(got, str):
            return
        yield got
        pos = got[1]


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
        self._buffer: List[bytes] = []
        self._waiters: List["defer.Deferred[None]"] = []
        self._scheduled: Any = None
        self.records_replayed = 0
        self.torn_bytes = 0
        #: where salvage kept the original log (None when it did not run)
        self.salvaged_copy: Optional[str] = None
        self.snapshot_bytes = 0
        self.appended_bytes = 0
        self.compactions = 0
        self._store: Any = None

    def recover(self, store: Any, mode: str = "strict") -> int:
        """Verify and replay the log into ``store``, then compact; return records replayed.

        ``mode`` ``"strict"``: raise ``LogCorrupted`` (changing no file; the
        store then holds the records before the corruption: discard it) if
        the log is corrupt anywhere but in a torn last record; ``"salvage"``:
        copy the log aside, then replay every record that verifies.
        """
        if mode not in ("strict", "salvage"):
            raise ValueError(f"mode must be 'strict' or 'salvage', not {mode!r}")
        data = b""
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                data = f.read()
        count = skipped = 0
        bad: List[Bad] = []
        torn: Optional[Bad] = None
        saved, store.on_record = store.on_record, None
        try:
            # one streaming pass: records are applied as they verify (holding
            # them all first would make the garbage collector walk them all)
            for item in scan(data):
                if isinstance(item, Bad):
                    if item.next_good is None:
                        torn = item
                    elif mode == "strict":
                        raise LogCorrupted(self.path, item.offset, item.reason,
                                           count, item.next_good)
                    else:
                        bad.append(item)
                    continue
                rec, start, _ = item
                if not bad:
                    store.apply_record(rec)
                else:
                    try:
                        store.apply_record(rec)
                    except Exception as e:  # e.g. a put whose table's record was lost
                        skipped += 1
                        log.warning("%s: salvage skips the record at byte %d: %r",
                                    self.path, start, e)
                        continue
                count += 1
        finally:
            store.on_record = saved
        os.makedirs(self.directory, exist_ok=True)
        self.records_replayed = count
        self.torn_bytes = len(data) - torn.offset if torn is not None else 0
        if bad:
            self.salvaged_copy = self._keep_copy()
            lost = sum((b.next_good or len(data)) - b.offset for b in bad) + self.torn_bytes
            log.warning("%s: salvaged %d records, skipped %d bad stretches (%d bytes) and %d "
                        "records that no longer applied; the original log is kept as %s",
                        self.path, count, len(bad) + (torn is not None), lost, skipped,
                        self.salvaged_copy)
        elif torn is not None:
            log.warning("%s: skipped a torn last record (%d bytes at offset %d, %s) after "
                        "%d records", self.path, self.torn_bytes, torn.offset, torn.reason,
                        count)
        self.compact(store)
        return count

    def _keep_copy(self) -> str:
        """Copy the log to a new ``wal.log.corrupt-N`` (fsync'd); return its path."""
        n = 1
        while os.path.exists(f"{self.path}.corrupt-{n}"):
            n += 1
        dest = f"{self.path}.corrupt-{n}"
        with open(self.path, "rb") as src, open(dest, "xb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
            out.flush()
            if self.fsync:
                os.fsync(out.fileno())
        if self.fsync:
            _fsync_dir(self.directory)
        return dest

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

    def append(self, record: Record) -> None:
        data = frame_record(record)
        self.appended_bytes += len(data)
        self._buffer.append(data)
        self._schedule()

    def _schedule(self) -> None:
        if self._scheduled is None:
            self._scheduled = self.clock.callLater(0, self.flush)

    def sync(self) -> "defer.Deferred[None]":
        """A Deferred fired when everything appended so far is on disk."""
        if not self._buffer and not self._waiters:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
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
