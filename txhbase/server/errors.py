"""HBase's errors as its Thrift1 gateway lets them out, and the store's errors mapped to them.

``ThriftHBaseServiceHandler`` (HBase 2.6) answers IOExceptions with
``hbase.IOError(message, canRetry)`` (``canRetry`` False for DoNotRetry
errors), some IllegalArgumentExceptions with ``hbase.IllegalArgument``, and
lets the rest out as ``TApplicationException(INTERNAL_ERROR)``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from thriftpy2.thrift import TApplicationException

from txhbase.protocol.idl import hbase
from txhbase.server import store as st

__all__ = ["display_name", "internal_error", "io_error", "maps_store_errors",
           "retries_exhausted"]

_F = TypeVar("_F", bound=Callable[..., Any])


def internal_error(message: str) -> TApplicationException:
    """What HBase's gateway answers for an exception it does not catch."""
    return TApplicationException(TApplicationException.INTERNAL_ERROR, message)


def io_error(java_class: str, message: str, can_retry: bool = False) -> Any:
    """An ``hbase.IOError`` carrying the Java exception's class and message."""
    return hbase.IOError(message=f"{java_class}: {message}", canRetry=can_retry)


def retries_exhausted(actions: int, cause: str) -> Any:
    """The retryable IOError of a client batch (HTable.get/put/delete of a List) that failed."""
    return io_error("org.apache.hadoop.hbase.client.RetriesExhaustedWithDetailsException",
                    f"Failed {actions} actions: {cause}", can_retry=True)


def display_name(b: object) -> str:
    """A table, family or row name as Java prints it in messages."""
    return b.decode("utf-8", "replace") if isinstance(b, (bytes, bytearray)) else str(b)


def maps_store_errors(fn: _F) -> _F:
    """Decorate a service method: store errors become HBase's Thrift exceptions."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except st.TableNotFound as e:
            raise io_error("org.apache.hadoop.hbase.TableNotFoundException",
                           display_name(e.args[0]))
        except st.TableNotEnabled as e:
            raise io_error("org.apache.hadoop.hbase.TableNotEnabledException",
                           display_name(e.args[0]) + " is disabled.")
        except st.TableNotDisabled as e:
            raise io_error("org.apache.hadoop.hbase.TableNotDisabledException",
                           display_name(e.args[0]))
        except st.NoSuchFamily as e:
            raise io_error("org.apache.hadoop.hbase.regionserver.NoSuchColumnFamilyException",
                           f"Column family {display_name(e.args[0])} does not exist")
        except st.NotACounter as e:
            raise io_error("org.apache.hadoop.hbase.DoNotRetryIOException", str(e))
    return cast(_F, wrapper)
