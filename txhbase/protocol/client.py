"""HBaseClientProtocol: pipelined Thrift calls over one connection.

Each call gets a seqid; its Deferred waits in a dict keyed by that seqid until
the reply with the same seqid (and method name) arrives. Many calls may be in
flight at once. A reply nobody is waiting for is a protocol error: the
connection is dropped and every pending call fails, so a reply is never
delivered to the wrong caller.

Timeouts: one timer per connection, set for the earliest deadline of the calls
in flight (not one ``IDelayedCall`` per call), on an injected clock. It is
not cancelled when the calls are answered (that would cost a new timer per
call for sequential callers): when it fires it finds nothing to time out and
is re-armed only for calls still pending; closing the connection cancels it. A call
that times out (or is cancelled) while no reply is part-way through the
socket keeps the connection: its seqid is remembered so that its late reply is
read and silently discarded. One that times out or is cancelled while the byte
stream is in the middle of a message drops the connection instead (the stalled
message could be anyone's, and nothing after it can be trusted to arrive):
every other pending call fails with ``ConnectionLost(sent=True)`` and the
layer above opens a fresh connection for the next call.

Calls made while replies are being delivered (from their callbacks) are
written together, in one ``transport.write`` after the delivery loop.

On connection loss, the pending map is swapped out, the layers above are told
(``on_connection_lost`` / ``notify_lost()``), then every pending call fails
with ``ConnectionLost``; calls made afterwards fail at once.
"""
from __future__ import annotations

import heapq
import logging
from typing import Any, Callable, Dict, List, Optional, Protocol as TypingProtocol, Tuple, cast

from thriftpy2.thrift import TApplicationException
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from txhbase._validate import timeout as _check_timeout
from txhbase.errors import (
    AlreadyExists,
    ConnectionLost,
    HBaseIOError,
    IllegalArgument,
    ProtocolError,
    ServerError,
    TimeoutError,
)
from txhbase.protocol.codec import (CALL, EXCEPTION, METHODS, REPLY, MethodSpec, call_spec,
                                    make_codec)
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE, frame, make_decoder
from txhbase.protocol.idl import hbase

__all__ = ["HBaseClientProtocol", "METHODS", "convert_exception"]

log = logging.getLogger(__name__)

_MAX_SEQID = 0x7FFFFFFF

class _DelayedCall(TypingProtocol):
    """What the deadline timer uses of ``IDelayedCall``."""

    def active(self) -> bool: ...

    def cancel(self) -> None: ...

    def reset(self, secondsFromNow: float) -> None: ...


class _Clock(TypingProtocol):
    """What this module uses of ``IReactorTime``."""

    def seconds(self) -> float: ...

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> _DelayedCall: ...


#: A pending call: its method and the Deferred its caller holds.
_Pending = Tuple[MethodSpec, "defer.Deferred[Any]"]


def _text(msg: Any) -> str:
    """A server message as text (thriftpy2 leaves invalid UTF-8 as bytes)."""
    if msg is None:
        return ""
    if isinstance(msg, bytes):
        return msg.decode("utf-8", "replace")
    return str(msg)


def convert_exception(exc: BaseException) -> BaseException:
    """Map a Thrift exception received from the server to a txhbase error."""
    if isinstance(exc, hbase.IOError):
        return HBaseIOError(_text(exc.message), exc.canRetry)
    if isinstance(exc, hbase.IllegalArgument):
        return IllegalArgument(_text(exc.message))
    if isinstance(exc, hbase.AlreadyExists):
        return AlreadyExists(_text(exc.message))
    if isinstance(exc, TApplicationException):
        return ServerError(_text(exc.message) or str(exc),
                           exc.type if exc.type is not None else 0)
    return exc


class HBaseClientProtocol(Protocol):
    """The client side of one Thrift connection to an HBase gateway.

    :param transport: ``'buffered'`` (no length prefix) or ``'framed'``.
    :param protocol: ``'binary'`` or ``'compact'``.
    :param default_timeout: per-call timeout in milliseconds when a call does
        not give one; ``None`` means no timeout.
    :param max_message_size: the largest reply accepted, in bytes.
    :param clock: what timeouts are scheduled on; defaults to the global reactor.
    """

    def __init__(self, transport: str = "buffered", protocol: str = "binary", *,
                 default_timeout: Optional[float] = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 clock: Optional[IReactorTime] = None) -> None:
        self._codec = make_codec(protocol)
        self._decoder = make_decoder(transport, protocol, max_message_size)
        self._framed = transport == "framed"
        self.transport_name = transport
        self.protocol_name = protocol
        self.max_message_size = max_message_size
        self.default_timeout = _check_timeout(default_timeout, "default_timeout")
        if clock is None:
            from twisted.internet import reactor as default_clock
            clock = cast(IReactorTime, default_clock)
        #: what timeouts are scheduled on (the Channel interface's ``clock``)
        self.clock: IReactorTime = clock
        self._clock = cast(_Clock, clock)
        self.connected = False
        #: callables ``hook(error: ConnectionLost)`` run once when the
        #: connection is lost, before pending calls fail.
        self.on_connection_lost: List[Callable[[ConnectionLost], Any]] = []
        self._pending: Dict[int, _Pending] = {}
        self._abandoned: Dict[int, str] = {}  # seqid -> method name of cancelled calls
        self._seqid = 0
        self._lost: Optional[ConnectionLost] = None
        self._lost_waiters: List[defer.Deferred[ConnectionLost]] = []
        # Deadlines of calls with a timeout: a heap of (when, seqid, Deferred);
        # entries of calls already answered stay until they reach the top.
        self._deadlines: List[Tuple[float, int, defer.Deferred[Any], float]] = []
        self._timer: Optional[_DelayedCall] = None
        self._timer_at = 0.0
        # While replies are delivered: requests made meanwhile, written at the end.
        self._out: Optional[List[bytes]] = None

    # -- public API ---------------------------------------------------------

    @property
    def pending(self) -> int:
        """Calls sent whose reply has not arrived (cancelled ones excluded)."""
        return len(self._pending)

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> defer.Deferred[Any]:
        """Call Hbase method ``name`` with ``args`` in IDL field-id order.

        ``timeout`` in milliseconds (``None``: ``default_timeout``). The
        Deferred fires with the result's ``success`` (None for void methods),
        or fails with HBaseIOError, IllegalArgument, AlreadyExists,
        ServerError, ConnectionLost, TimeoutError, ProtocolError or
        CancelledError (``d.cancel()``). A timeout or cancellation while a
        reply is part-way through the socket drops the connection (the other
        pending calls fail with ``ConnectionLost(sent=True)``).
        """
        spec = call_spec(name, len(args))
        timeout = self.default_timeout if timeout is None else _check_timeout(timeout, "timeout")
        if not self.connected:
            return defer.fail(self._lost_error(sent=False))
        argobj = spec.args_cls(*args)
        seqid = self._next_seqid()
        try:
            data = self._codec.encode(name, CALL, seqid, argobj)
        except Exception as e:
            # thriftpy2 rejects values of the wrong type while encoding.
            raise TypeError(f"{name}(): cannot encode arguments: {e}") from e
        if self._framed:
            data = frame(data)
        d: defer.Deferred[Any] = defer.Deferred(lambda d: self._cancel(seqid))
        self._pending[seqid] = (spec, d)
        out = self._out
        if out is not None:
            out.append(data)
        else:
            cast(Any, self.transport).write(data)
        if timeout is not None:
            self._add_deadline(seqid, d, timeout)
        return d

    def close(self) -> defer.Deferred[None]:
        """Close the connection; fires (with None) once it is closed.

        Calls still pending when it closes fail with ConnectionLost; calls
        made after ``close()`` fail at once.
        """
        if not self.connected:
            return defer.succeed(None)
        self.connected = False  # no new calls from here on
        d = self.notify_lost()
        closed: defer.Deferred[None] = d.addCallback(lambda _: None)
        cast(Any, self.transport).loseConnection()
        return closed

    def notify_lost(self) -> defer.Deferred[ConnectionLost]:
        """A Deferred that fires with the ``ConnectionLost`` error once the
        connection is gone (at once if it already is)."""
        if self._lost is not None:
            return defer.succeed(self._lost)
        d: defer.Deferred[ConnectionLost] = defer.Deferred()
        self._lost_waiters.append(d)
        return d

    # -- Twisted Protocol ---------------------------------------------------

    def connectionMade(self) -> None:
        self.connected = True

    def dataReceived(self, data: bytes) -> None:
        if self._lost is not None:
            return
        try:
            messages = self._decoder.feed(data)
        except ProtocolError as e:
            self._protocol_error(e)
            return
        if not messages:
            return
        decode = self._codec.decode
        struct_for = self._struct_for
        pending = self._pending
        outer = self._out  # not None when a callback fed us bytes re-entrantly
        out: List[bytes] = [] if outer is None else outer
        self._out = out
        try:
            for msg in messages:
                if self._lost is not None:
                    return
                try:
                    _, mtype, seqid, obj = decode(msg, struct_for)
                except ProtocolError as e:
                    self._protocol_error(e)
                    return
                entry = pending.pop(seqid, None)
                if entry is None:  # a cancelled call's late reply
                    self._abandoned.pop(seqid, None)
                    continue
                spec, d = entry
                if mtype == EXCEPTION:
                    d.errback(convert_exception(obj))
                elif spec.has_success and obj.success is not None:
                    d.callback(obj.success)  # the usual case, in one step
                else:
                    self._deliver_other(spec, d, obj)
        finally:
            if outer is None:  # the outermost delivery writes what was called meanwhile
                self._out = None
                if out and self._lost is None:
                    cast(Any, self.transport).write(b"".join(out))

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        msg = "connection lost"
        if reason is not None:
            msg = f"connection lost: {reason.getErrorMessage()}"
        self._shutdown(ConnectionLost(msg, reason=reason, sent=True), None)

    # -- internals -------------------------------------------------------------

    @staticmethod
    def _deliver_other(spec: MethodSpec, d: defer.Deferred[Any], obj: Any) -> None:
        """A reply that is a declared exception, a void result or a missing one."""
        for field, _cls in spec.exceptions:
            exc = getattr(obj, field)
            if exc is not None:
                d.errback(convert_exception(exc))
                return
        if spec.has_success:
            d.errback(ServerError(f"{spec.name} failed: missing result",
                                  ServerError.MISSING_RESULT))
        else:
            d.callback(None)

    def _next_seqid(self) -> int:
        seqid = self._seqid
        while True:
            seqid = seqid + 1 if seqid < _MAX_SEQID else 1
            if seqid not in self._pending and seqid not in self._abandoned:
                self._seqid = seqid
                return seqid

    def _struct_for(self, name: str, mtype: int, seqid: int) -> Any:
        entry = self._pending.get(seqid)
        if entry is None:
            late = self._abandoned.get(seqid)
            if late is None:
                raise ProtocolError(f"reply {name!r} with seqid {seqid} matches no pending call")
            if late != name:
                raise ProtocolError(
                    f"reply for seqid {seqid} names method {name!r}, the call was {late!r}")
            return None  # read and discarded
        spec = entry[0]
        if name != spec.name:
            raise ProtocolError(
                f"reply for seqid {seqid} names method {name!r}, the call was {spec.name!r}")
        if mtype == REPLY:
            return spec.result_cls()
        if mtype == EXCEPTION:
            return TApplicationException()
        raise ProtocolError(f"unexpected message type {mtype} in a reply to {name!r}")

    # deadlines: one timer for the connection

    def _add_deadline(self, seqid: int, d: defer.Deferred[Any], timeout: float) -> None:
        when = self._clock.seconds() + timeout / 1000.0
        heap = self._deadlines
        heapq.heappush(heap, (when, seqid, d, timeout))
        if len(heap) > 2 * len(self._pending) + 1024:
            # mostly answered calls: keep the live ones (amortised O(1) per call)
            pending = self._pending
            heap[:] = [e for e in heap if (p := pending.get(e[1])) is not None and p[1] is e[2]]
            heapq.heapify(heap)
        if self._timer is None or when < self._timer_at:
            self._arm(when)

    def _stop_timer(self) -> None:
        """The connection is gone: forget every deadline, cancel the timer."""
        self._deadlines = []
        if self._timer is not None:
            timer, self._timer = self._timer, None
            if timer.active():
                timer.cancel()

    def _expire(self) -> None:
        """The timer fired: time out every call past its deadline, re-arm."""
        self._timer = None
        now = self._clock.seconds()
        heap = self._deadlines
        pending = self._pending
        while heap and self._lost is None:
            when, seqid, d, ms = heap[0]
            entry = pending.get(seqid)
            if entry is None or entry[1] is not d:  # answered (or cancelled) already
                heapq.heappop(heap)
                continue
            if when > now:
                self._arm(when)
                return
            heapq.heappop(heap)
            self._abandon(seqid)
            d.errback(TimeoutError(f"{entry[0].name} timed out after {ms} ms"))

    def _arm(self, when: float) -> None:
        """Make the timer fire at ``when`` at the latest."""
        timer = self._timer
        delay = max(0.0, when - self._clock.seconds())
        if timer is None:
            self._timer_at = when
            self._timer = self._clock.callLater(delay, self._expire)
        elif when < self._timer_at:
            self._timer_at = when
            timer.reset(delay)

    def _cancel(self, seqid: int) -> None:
        """The caller cancelled the call (its Deferred fails with CancelledError)."""
        self._abandon(seqid)

    def _abandon(self, seqid: int) -> None:
        """Stop waiting for ``seqid``'s reply.

        If the byte stream is in the middle of a message, later replies cannot
        be trusted to arrive (the stalled one may be this call's, or hold up
        every reply after it): the connection is dropped and the layer above
        reconnects for the next call. Otherwise the late reply will be read
        and discarded.
        """
        entry = self._pending.pop(seqid, None)
        if entry is None or self._lost is not None:
            return
        self._abandoned[seqid] = entry[0].name
        if self._decoder.buffered:
            self._drop(f"{entry[0].name} (seqid {seqid}) was abandoned while "
                       f"{self._decoder.buffered} bytes of a reply were still incomplete")

    def _lost_error(self, sent: bool) -> ConnectionLost:
        if self._lost is not None:
            return ConnectionLost(str(self._lost), reason=self._lost.reason, sent=sent)
        return ConnectionLost("not connected", sent=sent)

    def _drop(self, why: str) -> None:
        """Abort the connection: the byte stream can no longer be trusted."""
        log.info("dropping connection: %s", why)
        self._shutdown(ConnectionLost(f"connection dropped: {why}", sent=True), None)
        self._abort()

    def _protocol_error(self, error: ProtocolError) -> None:
        log.warning("dropping connection: %s", error)
        reason = Failure(error)  # type: ignore[no-untyped-call]
        self._shutdown(ConnectionLost(f"connection dropped: {error}", reason=reason, sent=True),
                       error)
        self._abort()

    def _abort(self) -> None:
        transport = cast(Any, self.transport)
        if transport is not None:
            abort = getattr(transport, "abortConnection", None)
            (abort or transport.loseConnection)()

    def _shutdown(self, lost: ConnectionLost, error: Optional[Exception]) -> None:
        """Mark the connection dead, tell the layers above, fail pending calls."""
        if self._lost is not None:
            return
        self._lost = lost
        self.connected = False
        pending, self._pending = self._pending, {}
        self._abandoned = {}
        self._stop_timer()
        for hook in list(self.on_connection_lost):
            try:
                hook(lost)
            except Exception:
                log.exception("on_connection_lost hook %r failed", hook)
        waiters, self._lost_waiters = self._lost_waiters, []
        for w in waiters:
            w.callback(lost)
        for _, d in pending.values():
            if error is not None:
                d.errback(error)
            else:
                d.errback(ConnectionLost(str(lost), reason=lost.reason, sent=True))
