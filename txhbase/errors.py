"""The txhbase exception hierarchy.

Every failure a txhbase Deferred can fail with is a ``TxHBaseError``.  Errors
the server sends back keep its words: ``HBaseIOError`` (Thrift ``IOError``,
with ``can_retry``), ``IllegalArgument``, ``AlreadyExists`` and ``ServerError``
(a Thrift ``TApplicationException``, with its ``type``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer


class TxHBaseError(Exception):
    """Base class of every txhbase error.

    A ``ConnectionPool`` fills three attributes on the error a pooled call
    finally fails with: ``attempts`` (one record per try: server, error,
    whether it may have been applied), ``servers`` (the ``'host:port'`` of each
    try, in order) and ``maybe_applied`` (``True`` when a call that is never
    retried automatically - counters, append, check_and_put - may have been
    applied by the server before its reply was lost; ``False`` when it surely
    was not; ``None`` when unknown or not set).
    """

    attempts: Tuple[Any, ...] = ()
    servers: Tuple[Optional[str], ...] = ()
    maybe_applied: Optional[bool] = None


class ConnectionLost(TxHBaseError):
    """The connection closed while a call was pending, or before it was sent.

    ``reason`` is the Twisted ``Failure`` (or exception) that closed it.
    ``sent`` says whether the call had been written to the socket, so a
    caller can tell a call that never reached the server from one whose
    reply was lost.
    """

    def __init__(self, message: str = "connection lost", reason: Any = None,
                 sent: Optional[bool] = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.sent = sent


class TimeoutError(TxHBaseError, defer.TimeoutError):
    """A call did not complete within its timeout.

    Also an instance of ``twisted.internet.defer.TimeoutError``, so code that
    catches Twisted's timeouts catches ours.  ``sent`` is False when the call
    was never written (a connection attempt timed out), else None.
    """

    def __init__(self, message: str = "timed out", sent: Optional[bool] = None) -> None:
        super().__init__(message)
        self.sent = sent


class ProtocolError(TxHBaseError):
    """The peer sent bytes that are not a valid reply (the connection is dropped)."""


class MessageTooLarge(ProtocolError):
    """A frame or declared length exceeded the configured maximum message size."""


class HBaseIOError(TxHBaseError):
    """HBase's ``IOError``: ``message`` (often a Java stack trace) and ``can_retry``."""

    def __init__(self, message: str = "", can_retry: Optional[bool] = None) -> None:
        super().__init__(message)
        self.message = message
        self.can_retry = can_retry


class IllegalArgument(TxHBaseError):
    """HBase's ``IllegalArgument``: the server rejected an argument."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class AlreadyExists(TxHBaseError):
    """HBase's ``AlreadyExists``: the table to create exists."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class ServerError(TxHBaseError):
    """A Thrift ``TApplicationException``: the server failed the call.

    ``type`` is the TApplicationException type code (e.g. 1 UNKNOWN_METHOD,
    6 INTERNAL_ERROR); HBase uses it for uncaught server errors such as a bad
    filter string. Over HTTP, a non-200 answer other than 401/403 is a
    ``ServerError`` too, with ``status`` the HTTP status (None otherwise).
    """

    status: Optional[int] = None

    UNKNOWN = 0
    UNKNOWN_METHOD = 1
    INVALID_MESSAGE_TYPE = 2
    WRONG_METHOD_NAME = 3
    BAD_SEQUENCE_ID = 4
    MISSING_RESULT = 5
    INTERNAL_ERROR = 6
    PROTOCOL_ERROR = 7

    def __init__(self, message: str = "", type: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.type = type


class NoConnectionsAvailable(TxHBaseError):
    """A connection pool had no connection to lend before its timeout."""


class AllServersUnavailable(TxHBaseError):
    """No gateway of a pool accepted a connection (each was tried, or is
    marked down and the call's retry budget is spent); ``errors`` maps
    server -> last error."""

    def __init__(self, message: str = "", errors: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.errors: Dict[str, Any] = errors or {}


class BatchError(TxHBaseError):
    """A batch send failed.

    ``reason``: the original exception.  ``mutations``: the
    ``BatchMutation``s (rows with their ``Mutation`` lists) not known to be
    applied; ``increments``: the ``TIncrement``s not known to be applied.
    ``maybe_applied``: False only when nothing of them can have been applied
    (the call never reached the server, or the server refused the whole call
    before applying any row); True when some or all may have been applied
    (a lost reply, or a server-side error from a multi-row ``mutateRows`` /
    ``incrementRows``, which HBase applies row by row, not atomically);
    None when unknown.  Re-sending them with ``Batch.requeue`` repeats
    whatever was applied (harmless for puts and deletes, not for counters).
    """

    def __init__(self, message: str, reason: BaseException, mutations: List[Any],
                 increments: List[Any], maybe_applied: Optional[bool]) -> None:
        super().__init__(message)
        self.reason = reason
        self.mutations = mutations
        self.increments = increments
        self.maybe_applied = maybe_applied


class AuthenticationError(TxHBaseError):
    """The gateway refused our credentials or identity.

    Over HTTP: the answer was 401 or 403; ``status`` is that code and
    ``challenge`` the server's ``WWW-Authenticate`` header (None if absent).
    SASL/GSSAPI failures use it too (``status`` and ``challenge`` None).
    """

    def __init__(self, message: str = "", status: Optional[int] = None,
                 challenge: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.challenge = challenge


class TLSError(ConnectionLost):
    """The TLS handshake failed, e.g. the gateway's certificate did not verify.

    A ``ConnectionLost`` (``sent=False``: nothing reached the gateway), so a
    pool fails over to another gateway as for any unreachable one.
    """
