"""Shared option checks: transports, protocols, message size, timeouts.

One home for the lists of accepted values and the checks of the options
that the client (``Connection``, ``protocol.connect``), the server
(``protocol.server``, ``txhbase.server``) and the framing layer all take, so
each raises the same ``TypeError`` / ``ValueError`` naming the option.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from txhbase import _validate

__all__ = [
    "TRANSPORTS", "SOCKET_TRANSPORTS", "HTTP_TRANSPORTS", "PROTOCOLS", "DEFAULT_MAX_MESSAGE_SIZE",
    "transport", "protocol", "host_port", "max_message_size", "timeout_ms", "seconds", "duration",
]

#: Transports of a Thrift1 gateway's socket mode (one message stream per connection).
SOCKET_TRANSPORTS: Tuple[str, ...] = ("buffered", "framed")
#: HBase's HTTP mode: one binary message per POST (``protocol/http.py``).
HTTP_TRANSPORTS: Tuple[str, ...] = ("http", "https")
#: Every transport ``Connection`` takes (one dispatch: ``protocol.connect.open_channel``).
TRANSPORTS: Tuple[str, ...] = SOCKET_TRANSPORTS + HTTP_TRANSPORTS
#: Thrift protocols.
PROTOCOLS: Tuple[str, ...] = ("binary", "compact")
#: Largest message accepted by default (HBase's gateway allows about as much).
DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024
_MAX_MESSAGE_SIZE_LIMIT = 2 ** 62


def _one_of(value: Any, allowed: Tuple[str, ...], name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be a str, not {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"'{name}' must be one of {', '.join(allowed)}, not {value!r}")
    return value


def transport(value: Any, name: str = "transport",
              allowed: Tuple[str, ...] = TRANSPORTS) -> str:
    """A transport name from ``allowed`` (default: every transport)."""
    return _one_of(value, allowed, name)


def protocol(value: Any, name: str = "protocol") -> str:
    """A protocol name from ``PROTOCOLS``."""
    return _one_of(value, PROTOCOLS, name)


def max_message_size(value: Any, name: str = "max_message_size") -> int:
    """A positive int number of bytes (None: the default)."""
    if value is None:
        return DEFAULT_MAX_MESSAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be an int, not {type(value).__name__}")
    if not 0 < value <= _MAX_MESSAGE_SIZE_LIMIT:
        raise ValueError(f"'{name}' must be in 1..{_MAX_MESSAGE_SIZE_LIMIT}, not {value}")
    return value


def timeout_ms(value: Any, name: str = "timeout") -> Optional[float]:
    """A timeout in milliseconds (> 0) or None (the check lives in ``_validate``)."""
    return _validate.timeout(value, name)


def seconds(value: Any, name: str, *, minimum: float = 0.0, inclusive: bool = True,
            allow_none: bool = True) -> Optional[float]:
    """A duration in seconds (>= ``minimum``, or > it when not ``inclusive``)."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"'{name}' must be a number of seconds, not None")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'{name}' must be a number of seconds or None, "
                        f"not {type(value).__name__}")
    ok = value >= minimum if inclusive else value > minimum
    if not ok or value != value:
        raise ValueError(f"'{name}' must be a number {'>=' if inclusive else '>'} {minimum}, "
                         f"not {value!r}")
    return float(value)


def duration(value: Any, name: str) -> float:
    """A number of seconds >= 0 (None refused)."""
    got = seconds(value, name, allow_none=False)
    assert got is not None
    return got


def host_port(host: Any, port: Any) -> Tuple[str, int]:
    """A gateway's ``host`` (a non-empty str) and ``port`` (an int in 1..65535)."""
    if not isinstance(host, str) or not host:
        raise TypeError(f"host must be a non-empty str, not {host!r}")
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port must be an int, not {port!r}")
    if not 0 < port < 65536:
        raise ValueError(f"port must be in 1..65535, not {port}")
    return host, port
