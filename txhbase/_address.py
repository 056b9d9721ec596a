"""Gateway addresses: what ``Connection``'s ``host``/``port`` (and the pool's
``servers``) may say, normalised into ``Address`` tuples.

``host`` is ``'host'``, ``'host:port'``, ``'[v6]:port'``, a Twisted client
endpoint string (``tcp:...``, ``tls:...``, ``unix:...``) or a list of those;
wrong types raise TypeError and wrong values ValueError, naming the argument.
"""
from __future__ import annotations

from typing import Any, List, Tuple

from txhbase.protocol.connect import Address

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "describe", "parse_addresses"]

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 9090
_ENDPOINT_TYPES = ("tcp:", "tcp6:", "unix:", "tls:", "ssl:")



def _split_host_port(text: str, default_port: int, argname: str) -> Tuple[str, int]:
    """``'host:port'``, ``'[v6]:port'`` or ``'host'`` -> (host, port)."""
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"'{argname}': bad address {text!r}")
        host = text[1:end]
        rest = text[end + 1:]
        if rest.startswith(":"):
            port_text = rest[1:]
        elif rest:
            raise ValueError(f"'{argname}': bad address {text!r}")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host:
        raise ValueError(f"'{argname}': empty host in {text!r}")
    if port_text is None:
        return host, default_port
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"'{argname}': bad port in {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"'{argname}': port out of range in {text!r}")
    return host, port


def parse_addresses(host: Any, port: Any) -> List[Address]:
    """Normalise Connection's ``host``/``port`` into a list of addresses."""
    if port is None:
        port = DEFAULT_PORT
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"'port' must be an int, not {type(port).__name__}")
    if not 0 < port < 65536:
        raise ValueError(f"'port' must be in 1..65535, not {port}")
    if host is None:
        host = DEFAULT_HOST
    if isinstance(host, bytes):
        host = host.decode("ascii")
    if isinstance(host, str):
        if not host:
            raise ValueError("'host' must not be empty")
        if "=" in host or host.startswith(_ENDPOINT_TYPES):
            return [("endpoint", host, None)]
        h, p = _split_host_port(host, port, "host")
        return [("tcp", h, p)]
    if isinstance(host, (list, tuple)):
        if not host:
            raise ValueError("'host' must list at least one address")
        out: List[Address] = []
        for i, item in enumerate(host):
            if isinstance(item, (list, tuple)) and len(item) == 2:
                h, p = item
                out.extend(parse_addresses(h, p))
            elif isinstance(item, (str, bytes)):
                out.extend(parse_addresses(item, port))
            else:
                raise TypeError(f"'host[{i}]' must be a 'host:port' str, "
                                f"not {type(item).__name__}")
        return out
    raise TypeError(f"'host' must be a str or a list of 'host:port' str, "
                    f"not {type(host).__name__}")


def describe(addr: Address) -> str:
    """``'host:port'``, or the endpoint string, of ``addr`` (for logs and errors)."""
    kind, where, port = addr
    return where if kind == "endpoint" else f"{where}:{port}"
