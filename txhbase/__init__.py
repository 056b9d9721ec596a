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

from txhbase.batch import Batch
from txhbase.errors import BatchError
from txhbase.connection import Connection
from txhbase.logconfig import configure_logging
from txhbase.pool import ConnectionPool
from txhbase.scanner import Scanner
from txhbase.table import Table

__version__ = "0.1.0"

__all__ = [
    "AllServersUnavailable",
    "AlreadyExists",
    "Batch",
    "BatchError",
    "Connection",
    "ConnectionLost",
    "ConnectionPool",
    "HBaseIOError",
    "IllegalArgument",
    "MessageTooLarge",
    "NoConnectionsAvailable",
    "ProtocolError",
    "Scanner",
    "ServerError",
    "Table",
    "TimeoutError",
    "TxHBaseError",
    "configure_logging",
]
