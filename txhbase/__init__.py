"""txhbase: a Twisted, Deferred-based client for Apache HBase's Thrift1 gateway."""
from txhbase.errors import (
    AllServersUnavailable,
    AlreadyExists,
    ConnectionLost,
    HBaseIOError,
    IllegalArgument,
    MessageTooLarge,
    NoConnectionsAvailable,
    ProtocolError,
    ServerError,
    TimeoutError,
    TxHBaseError,
)

from txhbase.pool import ConnectionPool

__version__ = "0.1.0"

__all__ = [
    "AllServersUnavailable",
    "AlreadyExists",
    "ConnectionLost",
    "ConnectionPool",
    "HBaseIOError",
    "IllegalArgument",
    "MessageTooLarge",
    "NoConnectionsAvailable",
    "ProtocolError",
    "ServerError",
    "TimeoutError",
    "TxHBaseError",
]
