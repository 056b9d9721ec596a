"""txhbase: a Twisted, Deferred-based client for Apache HBase's Thrift1 gateway."""
from txhbase.errors import (
    AllServersUnavailable,
    AlreadyExists,
    AuthenticationError,
    ConnectionLost,
    HBaseIOError,
    IllegalArgument,
    MessageTooLarge,
    NoConnectionsAvailable,
    ProtocolError,
    ServerError,
    TimeoutError,
    TLSError,
    TxHBaseError,
)

from txhbase.batch import Batch
from txhbase.errors import BatchError
from txhbase.connection import Connection
from txhbase.logconfig import configure_logging
from txhbase.pool import ConnectionPool, PoolListener, PoolStats
from txhbase.scanner import Scanner
from txhbase.table import Table

__version__ = "0.1.0"

__all__ = [
    "AllServersUnavailable",
    "AlreadyExists",
    "AuthenticationError",
    "Batch",
    "BatchError",
    "Connection",
    "ConnectionLost",
    "ConnectionPool",
    "PoolListener",
    "PoolStats",
    "HBaseIOError",
    "IllegalArgument",
    "MessageTooLarge",
    "NoConnectionsAvailable",
    "ProtocolError",
    "Scanner",
    "ServerError",
    "Table",
    "TimeoutError",
    "TLSError",
    "TxHBaseError",
    "configure_logging",
]
