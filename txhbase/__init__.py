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

__version__ = "0.1.0"

__all__ = [
    "AllServersUnavailable",
    "AlreadyExists",
    "ConnectionLost",
    "HBaseIOError",
    "IllegalArgument",
    "MessageTooLarge",
    "NoConnectionsAvailable",
    "ProtocolError",
    "ServerError",
    "TimeoutError",
    "TxHBaseError",
]
