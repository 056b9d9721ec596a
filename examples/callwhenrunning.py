#!/usr/bin/env python
"""First steps, Twisted style: ``reactor.callWhenRunning`` and ``@inlineCallbacks``.

Creates a table, writes three rows, reads one back and scans them all.

    python examples/callwhenrunning.py                      # embedded server
    python examples/callwhenrunning.py --host gw1 --port 9090
"""
from __future__ import annotations

import sys
from typing import Any, Generator

from twisted.internet import defer, reactor
from twisted.python.failure import Failure

import txhbase
from _gateway import Gateway, parser


@defer.inlineCallbacks
def main(host: str, port: int, options: dict[str, str]) -> Generator[Any, Any, None]:
    conn = txhbase.Connection(host, port, timeout=5000, **options)
    yield conn.open()
    try:
        if b"example_users" in (yield conn.tables()):
            yield conn.delete_table("example_users", disable=True)
        table = yield conn.create_table("example_users", {"cf": {"max_versions": 1}})

        for key, name in [(b"user-1", b"Ada"), (b"user-2", b"Grace"), (b"user-3", b"Alan")]:
            yield table.put(key, {b"cf:name": name})

        row = yield table.row(b"user-2")
        print("row user-2:", row)

        scanner = table.scan(row_prefix=b"user-")
        while True:
            item = yield scanner.get_next()  # (key, data), then None at the end
            if item is None:
                break
            key, data = item
            print("scanned", key.decode(), data[b"cf:name"].decode())
    finally:
        yield conn.close()


def run(argv: list[str]) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    gateway = Gateway(args)
    status = [1]

    def succeeded(_: None) -> None:
        status[0] = 0

    def failed(failure: Failure) -> None:
        print("failed:", failure.getErrorMessage(), file=sys.stderr)

    def start() -> None:
        d = main(gateway.host, gateway.port, gateway.options)
        d.addCallbacks(succeeded, failed)
        d.addBoth(lambda _: gateway.stop())
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    return status[0]


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
