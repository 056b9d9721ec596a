"""HBaseServerProtocol/Factory: serve the Hbase Thrift service from a handler.

Each CALL is decoded with the same framing and codec as the client and
dispatched as ``getattr(handler, name)(*args)``, args in IDL field-id order.
The handler returns a value or a Deferred, or raises:

- an IDL exception (``hbase.IOError``, ``IllegalArgument``, ``AlreadyExists``)
  declared by the method goes back in the result struct;
- a ``TApplicationException`` goes back as an EXCEPTION message;
- anything else becomes ``TApplicationException(INTERNAL_ERROR, str(exc))``.

Unknown methods get ``TApplicationException(UNKNOWN_METHOD)``. Replies on one
connection are written in request order even when handler Deferreds fire out
of order (HBase's gateway answers a connection's calls in order, and clients
may rely on it). Malformed input drops the connection.

Two limits keep one client from holding the server's memory or a slot:

- write back-pressure: the protocol registers itself as the transport's
  streaming producer; while the transport's unsent replies exceed its buffer
  size it pauses us, and no further call is read or served on that connection
  until the client has read enough (other connections are served meanwhile);
- ``message_timeout``: a call must arrive whole within that many seconds of
  its first byte (the clock only runs while we are reading), else the
  connection is closed, so a client dribbling bytes cannot keep it forever.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from zope.interface import implementer

from thriftpy2.thrift import TApplicationException
from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from txhbase.errors import ProtocolError
from txhbase.protocol.client import METHODS
from txhbase.protocol.codec import CALL, EXCEPTION, ONEWAY, REPLY, MethodSpec, make_codec
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE, frame, make_decoder

__all__ = ["HBaseServerProtocol", "HBaseServerFactory"]

log = logging.getLogger(__name__)

#: Calls served per reactor turn on one connection (see ``_drain``).
CALLS_PER_TURN = 16


class _Unknown:
    """Marks a call to a method the service does not have."""

    __slots__ = ()


_UNKNOWN = _Unknown()


def _check_timeout(value: Optional[float], name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be > 0 and finite (or None for no deadline), not {value!r}")


@implementer(IPushProducer)
class HBaseServerProtocol(Protocol):
    """One server-side connection: decode calls, dispatch, reply in order.

    ``reactor`` schedules the next slice of a pipelined backlog; ``clock``
    (default: ``reactor``) times ``message_timeout``.
    """

    # a TCP transport in practice: a consumer with pause/resume and abort
    transport: Any

    def __init__(self, handler: Any, transport: str = "buffered", protocol: str = "binary",
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 methods: Optional[Dict[str, MethodSpec]] = None,
                 reactor: Optional[IReactorTime] = None,
                 message_timeout: Optional[float] = None,
                 clock: Optional[IReactorTime] = None) -> None:
        _check_timeout(message_timeout, "message_timeout")
        if reactor is None:
            from twisted.internet import reactor as default_reactor
            reactor = default_reactor
        # Any: Twisted's interfaces are zope Interfaces, which mypy reads wrongly
        self._reactor: Any = reactor
        self._clock: Any = reactor if clock is None else clock
        self.message_timeout = message_timeout
        self._deadline: Optional[Any] = None
        # why reading is paused: backlog being served / client not reading replies
        self._write_paused = False
        self._reading_paused = False
        self.handler = handler
        self._methods = METHODS if methods is None else methods
        self._codec = make_codec(protocol)
        self._decoder = make_decoder(transport, protocol, max_message_size)
        self._framed = transport == "framed"
        # One slot per call in arrival order: [reply bytes or None].
        self._replies: Deque[List[Optional[bytes]]] = deque()
        self._closed = False
        self._queue: Deque[bytes] = deque()
        self._draining = False

    # -- Twisted Protocol ---------------------------------------------------

    def connectionMade(self) -> None:
        # the transport pauses us while its unsent replies exceed its buffer size
        self.transport.registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            calls = self._decoder.feed(data)
        except ProtocolError as e:
            self._drop(e)
            return
        self._queue.extend(calls)
        # a call completed: the bytes still buffered began a new one just now
        self._watch_partial(restart=bool(calls))
        if not self._draining and not self._write_paused:
            self._drain()

    # -- IPushProducer: called by the transport (the consumer of our replies) --

    def pauseProducing(self) -> None:
        """The client is not reading our replies fast enough: stop reading its calls."""
        self._write_paused = True
        self._update_reading()

    def resumeProducing(self) -> None:
        """The client caught up: serve the backlog and read calls again."""
        if not self._write_paused or self._closed:
            return
        self._write_paused = False
        if self._queue and not self._draining:
            self._drain()
        self._update_reading()

    def stopProducing(self) -> None:
        self._closed = True
        self._queue.clear()
        self._cancel_deadline()

    def _update_reading(self) -> None:
        """Read from the socket only while no backlog is served and replies flow."""
        if self._closed or self.transport is None:
            return
        pause = self._draining or self._write_paused
        if pause == self._reading_paused:
            return
        self._reading_paused = pause
        if pause:
            self._cancel_deadline()  # the client cannot finish a call we do not read
            self.transport.pauseProducing()
        else:
            self.transport.resumeProducing()
            self._watch_partial()

    # -- the per-message deadline ---------------------------------------------

    def _watch_partial(self, restart: bool = False) -> None:
        """Start the deadline when part of a call is buffered (``restart``: a new
        call began); cancel it when none is."""
        if self.message_timeout is None or self._closed:
            return
        if self._decoder.buffered:
            if restart:
                self._cancel_deadline()
            if self._deadline is None and not self._reading_paused:
                self._deadline = self._clock.callLater(self.message_timeout, self._too_slow)
        else:
            self._cancel_deadline()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        log.warning("closing a connection that took over %s s to send one call "
                    "(%d bytes of it received)", self.message_timeout, self._decoder.buffered)
        self._closed = True
        self._queue.clear()
        self.transport.abortConnection()

    def _drain(self) -> None:
        """Serve at most ``CALLS_PER_TURN`` queued calls, the rest on a later turn.

        Replies written in this turn go out before the next calls are served,
        so a pipelining client decodes them while this server works on the
        rest: client and server run in parallel instead of in lock step
        (measured: twice the gets/s of serving a whole chunk at once). The
        transport is paused meanwhile, so a flood of calls waits in the
        socket, not in memory.
        """
        queue = self._queue
        try:
            for _ in range(CALLS_PER_TURN):
                if not queue or self._closed or self._write_paused:
                    break
                name, mtype, seqid, args = self._codec.decode(queue.popleft(), self._struct_for)
                self._dispatch(name, mtype, seqid, args)
        except ProtocolError as e:
            self._drop(e)
            return
        if self._closed:
            return
        if queue and not self._write_paused:
            self._draining = True
            self._reactor.callLater(0, self._drain)
        else:
            # done, or waiting for the client to read (resumeProducing goes on)
            self._draining = False
        self._update_reading()

    def close(self) -> None:
        """Close once the replies already written are sent, or at once (abort)
        if the client has stopped reading them: they could not be delivered,
        and waiting would let that client hold the connection forever.

        The producer is unregistered first: a transport does not close while
        a paused producer is registered (it would wait for it forever).
        """
        stalled = self._write_paused
        self._closed = True
        self._queue.clear()
        self._cancel_deadline()
        if self.transport is not None:
            if getattr(self.transport, "producer", None) is self:
                self.transport.unregisterProducer()
            if stalled:
                self.transport.abortConnection()
            else:
                self.transport.loseConnection()

    def _drop(self, e: Exception) -> None:
        log.warning("dropping client connection: %s", e)
        self.close()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        self._closed = True
        self._queue.clear()
        self._replies.clear()
        self._cancel_deadline()

    # -- internals -------------------------------------------------------------

    def _struct_for(self, name: str, mtype: int, seqid: int) -> Any:
        if mtype != CALL and mtype != ONEWAY:
            raise ProtocolError(f"expected a call, got message type {mtype} for {name!r}")
        spec = self._methods.get(name)
        if spec is None:
            return None  # body ignored; answered with UNKNOWN_METHOD
        return spec.args_cls()

    def _dispatch(self, name: str, mtype: int, seqid: int, args: Any) -> None:
        spec = self._methods.get(name)
        oneway = mtype == ONEWAY
        slot: Optional[List[Optional[bytes]]] = None
        if not oneway:
            slot = [None]
            self._replies.append(slot)
        method = getattr(self.handler, name, None) if spec is not None else None
        if method is None or spec is None:
            self._fill(slot, self._exception(
                name, seqid, TApplicationException(
                    TApplicationException.UNKNOWN_METHOD, f"Invalid method name: '{name}'")))
            return
        d: defer.Deferred[Any] = defer.maybeDeferred(
            method, *[getattr(args, a) for a in spec.arg_names])
        if oneway:
            d.addErrback(lambda f: log.error("oneway %s failed: %s", name, f.getErrorMessage()))
            return
        d.addCallbacks(self._encode_success, self._encode_failure,
                       callbackArgs=(spec, seqid), errbackArgs=(spec, seqid))
        d.addCallback(lambda data: self._fill(slot, data))
        d.addErrback(lambda f: log.error("reply to %s lost: %s", name, f.getTraceback()))

    def _encode_success(self, value: Any, spec: MethodSpec, seqid: int) -> bytes:
        result = spec.result_cls()
        if spec.has_success:
            result.success = value
        try:
            return self._codec.encode(spec.name, REPLY, seqid, result)
        except Exception as e:
            log.error("cannot encode %s result %r: %s", spec.name, value, e)
            return self._exception(spec.name, seqid, TApplicationException(
                TApplicationException.INTERNAL_ERROR,
                f"cannot encode {spec.name} result: {e}"))

    def _encode_failure(self, failure: Failure, spec: MethodSpec, seqid: int) -> bytes:
        exc = failure.value
        for field, cls in spec.exceptions:
            if isinstance(exc, cls):
                result = spec.result_cls()
                setattr(result, field, exc)
                try:
                    return self._codec.encode(spec.name, REPLY, seqid, result)
                except Exception as e:
                    exc = e
                break
        if isinstance(exc, TApplicationException):
            app = exc
        else:
            if not isinstance(exc, Exception):  # pragma: no cover - BaseException
                failure.raiseException()
            log.error("%s raised %s", spec.name, failure.getTraceback())
            app = TApplicationException(TApplicationException.INTERNAL_ERROR, str(exc))
        return self._exception(spec.name, seqid, app)

    def _exception(self, name: str, seqid: int, app: TApplicationException) -> bytes:
        return self._codec.encode(name, EXCEPTION, seqid, app)

    def _fill(self, slot: Optional[List[Optional[bytes]]], data: bytes) -> None:
        if slot is None or self._closed:
            return
        slot[0] = self._framed and frame(data) or data
        replies = self._replies
        out: List[bytes] = []
        while replies:
            ready = replies[0][0]
            if ready is None:
                break
            replies.popleft()
            out.append(ready)
        if out:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])


class HBaseServerFactory(Factory):
    """Builds an ``HBaseServerProtocol`` per connection, all sharing ``handler``.

    ``message_timeout`` (seconds, default None = no deadline) closes a
    connection whose call has not arrived whole that long after its first
    byte, timed on ``clock`` (default: ``reactor``).
    """

    def __init__(self, handler: Any, transport: str = "buffered", protocol: str = "binary",
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 reactor: Optional[IReactorTime] = None,
                 message_timeout: Optional[float] = None,
                 clock: Optional[IReactorTime] = None) -> None:
        make_codec(protocol)  # validates
        _check_timeout(message_timeout, "message_timeout")
        if transport not in ("buffered", "framed"):
            raise ValueError(f"transport must be 'buffered' or 'framed', not {transport!r}")
        if (not isinstance(max_message_size, int) or isinstance(max_message_size, bool)
                or max_message_size <= 0):
            raise ValueError("max_message_size must be a positive int")
        self.handler = handler
        self.transport = transport
        self.protocol_name = protocol
        self.max_message_size = max_message_size
        #: where protocols schedule their next batch of calls (default: the reactor)
        self.reactor = reactor
        self.message_timeout = message_timeout
        self.clock = clock

    def protocol_kwargs(self) -> Dict[str, Any]:
        """The keyword arguments every connection's protocol is built with."""
        return dict(reactor=self.reactor, message_timeout=self.message_timeout,
                    clock=self.clock)

    def buildProtocol(self, addr: Any) -> HBaseServerProtocol:
        p = HBaseServerProtocol(self.handler, self.transport, self.protocol_name,
                                self.max_message_size, **self.protocol_kwargs())
        p.factory = self
        return p
