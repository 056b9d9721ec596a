"""Shared by the examples: where the gateway is, or an embedded one.

Every example takes ``--host``/``--port``/``--transport``/``--protocol``;
without ``--host`` it starts txhbase's embedded HBase-compatible Thrift
server in its own process, so it runs out of the box.
"""
from __future__ import annotations

import argparse
from typing import Any, Optional

from twisted.internet import defer

import txhbase
from txhbase import server as embedded


def parser(description: Optional[str]) -> argparse.ArgumentParser:
    """An argument parser with the gateway options every example takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", help="gateway host (default: start an embedded server)")
    p.add_argument("--port", type=int, default=9090, help="gateway port (default 9090)")
    p.add_argument("--transport", choices=["buffered", "framed"], default="buffered")
    p.add_argument("--protocol", choices=["binary", "compact"], default="binary")
    return p


class Gateway:
    """The gateway an example talks to: ``host``, ``port``, ``options``, ``stop()``."""

    def __init__(self, args: argparse.Namespace, reactor: Any = None) -> None:
        self.options = {"transport": args.transport, "protocol": args.protocol}
        self.server: Any = None
        if args.host is None:
            self.server = embedded.listen(0, reactor=reactor, **self.options)
            self.host, self.port = self.server.host, self.server.port
        else:
            self.host, self.port = args.host, args.port

    def __str__(self) -> str:
        kind = "embedded" if self.server is not None else "external"
        return f"{kind} gateway {self.host}:{self.port}"

    def stop(self) -> defer.Deferred[Any]:
        """Stop the embedded server, if this example started one."""
        return self.server.stop() if self.server is not None else defer.succeed(None)


async def fresh_table(conn: txhbase.Connection, name: str, families: dict[str, Any]) -> txhbase.Table:
    """Drop a leftover table of this name, then create it."""
    if name.encode() in await conn.tables():
        await conn.delete_table(name, disable=True)
    return await conn.create_table(name, families)
