"""Batch: buffered puts, deletes and counter increments sent together.

Mutations are grouped per row and sent with one ``mutateRows`` (or
``mutateRowsTs``) call, followed by one ``incrementRows`` call for buffered
counter increments.  As in HappyBase, the server applies all puts of a
``mutateRows`` before its deletes.  A whole-row delete (``columns=None``)
needs the table's families, fetched once at the first send that needs them.

A failed send fails with ``BatchError`` (see ``txhbase.errors``), which
carries every mutation and increment not known to be applied, so nothing is
dropped silently: the caller can inspect them or re-send with
``Batch.requeue(error)`` + ``send()``.  Its ``maybe_applied`` is never False
when part of the send may have been applied.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from twisted.internet import defer
from twisted.python.failure import Failure

from txhbase import _validate
from txhbase.errors import (AlreadyExists, BatchError, ConnectionLost, HBaseIOError,
                            IllegalArgument, ServerError, TimeoutError)
from txhbase.protocol.idl import hbase

if TYPE_CHECKING:
    from txhbase.table import Table

__all__ = ["Batch", "BatchError", "WholeRowDelete"]  # BatchError lives in txhbase.errors

log = logging.getLogger(__name__)


class WholeRowDelete:
    """A whole-row delete in a batch's mutation list, expanded into one
    family delete per family at send time (it may appear in
    ``BatchError.mutations`` when the families could not be fetched)."""

    __slots__ = ("wal",)

    def __init__(self, wal: bool) -> None:
        self.wal = wal


class _Buffer(Dict[bytes, List[Any]]):
    """A batch's ``{row: [mutations]}`` buffer, knowing whether it holds a
    WholeRowDelete: without one (the common case) a send passes the lists on
    as they are instead of walking every mutation."""

    __slots__ = ("row_deletes",)

    def __init__(self) -> None:
        super().__init__()
        self.row_deletes = False


def _lost_reply(exc: BaseException) -> bool:
    if getattr(exc, "maybe_applied", None) is True:
        return True  # a pool's earlier attempt may have been applied
    if isinstance(exc, ConnectionLost):
        return exc.sent is not False
    return isinstance(exc, TimeoutError)


_SERVER_ERRORS = (HBaseIOError, IllegalArgument, AlreadyExists, ServerError)


def _maybe_applied(exc: BaseException, stage: str, rows: int) -> bool:
    """Whether a send failing with ``exc`` in ``stage`` over ``rows`` rows
    (or increments) may have applied some of them.

    A lost reply may have applied everything.  A server-side error on a
    multi-row ``mutateRows`` / ``incrementRows`` may follow rows already
    applied: HBase applies them one by one, not atomically (one row's
    mutations are atomic, so a one-row error applied nothing).
    """
    if stage == "getColumnDescriptors":
        return False
    if _lost_reply(exc):
        return True
    return isinstance(exc, _SERVER_ERRORS) and rows > 1


class Batch:
    """Buffered mutations for one table; build it with ``Table.batch()``.

    ``put``/``delete``/``counter_inc``/``counter_dec`` return Deferreds fired
    at once (with None), or, when the mutation made the buffer reach
    ``batch_size``, when that automatic send has finished (failing with
    ``BatchError``).  ``async with table.batch() as b:`` sends on exit;
    ``table.run_batch(func)`` is the ``@inlineCallbacks`` equivalent.  Both
    also wait for every automatic send still in flight and fail with the
    first ``BatchError`` of any of them, so a failed automatic send is never
    lost, even when the Deferred of the ``put`` that triggered it was ignored.
    """

    def __init__(self, table: "Table", timestamp: Optional[int] = None,
                 batch_size: Optional[int] = None, transaction: bool = False,
                 wal: bool = True, timeout: Optional[float] = None) -> None:
        if not (timestamp is None or (isinstance(timestamp, int) and not isinstance(timestamp, bool))):
            raise TypeError("'timestamp' must be an integer or None")
        if timestamp is not None:
            _validate.timestamp(timestamp)
        if batch_size is not None:
            if transaction:
                raise TypeError("'transaction' cannot be used when 'batch_size' is specified")
            batch_size = _validate.integer(batch_size, "batch_size")
            if not batch_size > 0:
                raise ValueError("'batch_size' must be > 0")
        self._table = table
        self._timestamp = timestamp
        self._batch_size = batch_size
        self._transaction = _validate.boolean(transaction, "transaction")
        self._wal = _validate.boolean(wal, "wal")
        self._timeout = _validate.timeout(timeout)
        self._families: Optional[List[bytes]] = None
        self._auto_sends: "List[defer.Deferred[None]]" = []
        self._reset()

    def __repr__(self) -> str:
        return f"<txhbase.Batch {self._table.name!r} {self._count} mutations buffered>"

    def _reset(self) -> None:
        self._mutations: _Buffer = _Buffer()
        self._increments: List[Any] = []
        self._count = 0

    @property
    def pending(self) -> int:
        """Number of buffered mutations (a whole-row delete counts as one)."""
        return self._count

    # ------------------------------------------------------------ mutations

    def put(self, row: Union[bytes, str], data: Dict[Any, bytes],
            wal: Optional[bool] = None) -> "defer.Deferred[None]":
        """Buffer a put of ``data`` (``{b'cf:q': b'value'}``) into ``row``.

        Raises TypeError/ValueError at once for bad input.  Fires with None
        (after the automatic send when ``batch_size`` was reached, failing
        with ``BatchError`` if it failed).
        """
        if type(row) is not bytes:
            row = _validate.to_bytes(row, "row")
        if wal is None:
            muts = _validate.put_mutations(data, self._wal, hbase.Mutation)
        else:
            items = _validate.put_data(data)  # data is checked before wal
            wal = _validate.boolean(wal, "wal")
            muts = [hbase.Mutation(isDelete=False, column=c, value=v, writeToWAL=wal)
                    for c, v in items]
        if not muts:  # an empty put buffers nothing (HBase would skip it)
            return defer.succeed(None)
        buffered = self._mutations.get(row)
        if buffered is None:
            self._mutations[row] = muts
        else:
            buffered.extend(muts)
        self._count += len(muts)
        return self._maybe_send()

    def delete(self, row: Union[bytes, str], columns: Optional[List[Any]] = None,
               wal: Optional[bool] = None) -> "defer.Deferred[None]":
        """Buffer a delete of ``columns`` (families or columns) of ``row``,
        or of the whole row when ``columns`` is None; fires as ``put``'s."""
        row = _validate.to_bytes(row, "row")
        cols = _validate.columns(columns)
        wal = self._wal if wal is None else _validate.boolean(wal, "wal")
        muts = self._mutations.setdefault(row, [])
        if cols is None:
            muts.append(WholeRowDelete(wal))
            self._mutations.row_deletes = True
            self._count += 1
        else:
            muts.extend(hbase.Mutation(isDelete=True, column=c, writeToWAL=wal) for c in cols)
            self._count += len(cols)
        return self._maybe_send()

    def counter_inc(self, row: Union[bytes, str], column: Union[bytes, str],
                    value: int = 1) -> "defer.Deferred[None]":
        """Buffer an increment of a counter column (sent with ``incrementRows``,
        which returns no values: fires as ``put``'s, with None)."""
        row = _validate.to_bytes(row, "row")
        column = _validate.counter_column(column)
        value = _validate.integer(value, "value", _validate.I64_MIN, _validate.I64_MAX)
        self._increments.append(hbase.TIncrement(table=self._table.name, row=row,
                                                 column=column, ammount=value))
        self._count += 1
        return self._maybe_send()

    def counter_dec(self, row: Union[bytes, str], column: Union[bytes, str],
                    value: int = 1) -> "defer.Deferred[None]":
        """Buffer a decrement of a counter column (``counter_inc`` of ``-value``)."""
        value = _validate.integer(value, "value", -_validate.I64_MAX, _validate.I64_MAX)
        return self.counter_inc(row, column, -value)

    def _maybe_send(self) -> "defer.Deferred[None]":
        """The automatic send once ``batch_size`` is reached: kept until the
        batch is left (``_settle``), the caller gets a copy of its outcome."""
        if not (self._batch_size and self._count >= self._batch_size):
            return defer.succeed(None)
        sent = self.send()
        self._auto_sends.append(sent)
        copy: "defer.Deferred[None]" = defer.Deferred()

        def forward(result: Any) -> Any:
            if isinstance(result, Failure):
                copy.errback(result)
            else:
                copy.callback(None)
            return result

        sent.addBoth(forward)
        return copy

    def _settle(self, final: "defer.Deferred[None]") -> "defer.Deferred[None]":
        """``final`` (the closing send) and every automatic send in flight;
        fails with the first failure among them (automatic sends first)."""
        sends, self._auto_sends = self._auto_sends + [final], []
        gathered = defer.gatherResults(sends, consumeErrors=True)

        def unwrap(f: Failure) -> Failure:
            first = f.value
            sub = getattr(first, "subFailure", None)
            return sub if isinstance(sub, Failure) else f

        return gathered.addCallbacks(lambda _: None, unwrap)

    # ------------------------------------------------------------ sending

    def requeue(self, error: BatchError) -> None:
        """Put the mutations of a failed send back in the buffer (to retry with ``send``)."""
        for bm in error.mutations:
            self._mutations.setdefault(bm.row, []).extend(bm.mutations)
            if not self._mutations.row_deletes:
                self._mutations.row_deletes = any(isinstance(m, WholeRowDelete)
                                                  for m in bm.mutations)
            self._count += len(bm.mutations)
        self._increments.extend(error.increments)
        self._count += len(error.increments)

    def send(self, *, timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Send the buffered mutations; fires with None.

        The buffer is emptied at once (later mutations go to the next send).
        Fails with ``BatchError`` holding what was not known to be applied.
        """
        timeout = _validate.timeout(timeout)
        if timeout is None:
            timeout = self._timeout
        mutations, increments, count = self._mutations, self._increments, self._count
        self._reset()
        if not mutations and not increments:
            return defer.succeed(None)
        return self._send(mutations, increments, count, timeout)

    @defer.inlineCallbacks
    def _send(self, mutations: Dict[bytes, List[Any]], increments: List[Any], count: int,
              timeout: Optional[float]) -> Any:
        table = self._table
        conn = table.connection
        rows = 0
        bms: List[Any] = []
        stage = "mutateRows"
        try:
            if getattr(mutations, "row_deletes", True):
                stage = "getColumnDescriptors"
                if self._families is None:
                    self._families = yield table._family_names(timeout=timeout)
                bms = [hbase.BatchMutation(row=row, mutations=self._expand(ms))
                       for row, ms in mutations.items()]
            else:
                # Only puts and column deletes (the common case): the buffered
                # lists are sent as they are, without walking every mutation.
                bms = [hbase.BatchMutation(row=row, mutations=ms)
                       for row, ms in mutations.items()]
            if bms:
                stage = "mutateRows"
                rows = len(bms)
                log.debug("sending batch for %r (%d mutations on %d rows)", table.name,
                          count - len(increments), len(bms))
                if self._timestamp is None:
                    yield conn.call("mutateRows", table.name, bms, {}, timeout=timeout)
                else:
                    yield conn.call("mutateRowsTs", table.name, bms, self._timestamp, {},
                                    timeout=timeout)
                bms = []
            if increments:
                stage = "incrementRows"
                rows = len(increments)
                yield conn.call("incrementRows", increments, timeout=timeout)
        except Exception as exc:
            if not bms and stage != "incrementRows":
                # Failed before the BatchMutations were built: rebuild them raw.
                bms = [hbase.BatchMutation(row=row, mutations=list(ms))
                       for row, ms in mutations.items()]
            maybe = _maybe_applied(exc, stage, rows)
            err = BatchError(f"batch send to {table.name!r} failed in {stage}: "
                             f"{type(exc).__name__}: {exc}", exc, bms, list(increments), maybe)
            for extra in ("attempts", "servers"):  # a pool's attempt history
                if hasattr(exc, extra):
                    setattr(err, extra, getattr(exc, extra))
            raise err from exc
        return None

    def _expand(self, ms: List[Any]) -> List[Any]:
        """``ms`` with each WholeRowDelete as one family delete per family."""
        expanded: List[Any] = []
        for m in ms:
            if isinstance(m, WholeRowDelete):
                expanded.extend(hbase.Mutation(isDelete=True, column=f, writeToWAL=m.wal)
                                for f in self._families or ())
            else:
                expanded.append(m)
        return expanded

    # ------------------------------------------------------------ context use

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
        """Call ``func(batch, *args, **kwargs)`` (may return a Deferred), then send.

        The ``@inlineCallbacks`` equivalent of ``async with``: fires with
        ``func``'s result once sent; if ``func`` fails, the batch is still sent
        unless ``transaction`` is true, and the original failure is passed on.
        """
        d = defer.maybeDeferred(func, self, *args, **kwargs)

        def ok(result: Any) -> Any:
            return self._settle(self.send()).addCallback(lambda _: result)

        def failed(f: Failure) -> Any:
            if self._transaction:
                self._reset()
                return self._settle(defer.succeed(None)).addCallback(lambda _: f)
            return self._settle(self.send()).addCallback(lambda _: f)

        return d.addCallbacks(ok, failed)

    async def __aenter__(self) -> "Batch":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._transaction and exc_type is not None:
            self._reset()
            await self._settle(defer.succeed(None))
            return
        await self._settle(self.send())
