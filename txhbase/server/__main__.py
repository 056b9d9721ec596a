"""``python -m txhbase.server``: run the embedded HBase Thrift1 gateway.

Prints one line ``txhbase.server listening on HOST:PORT ...`` (flushed) when
ready, and stops cleanly (exit status 0) on SIGINT or SIGTERM.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, List, Optional, Sequence, Tuple


def parse_split(text: str) -> Tuple[bytes, List[bytes]]:
    """``TABLE:KEY,KEY`` -> ``(b"TABLE", [b"KEY", b"KEY"])``."""
    table, sep, keys = text.rpartition(":")
    if not sep or not table:
        raise argparse.ArgumentTypeError(f"--split wants TABLE:KEY[,KEY...], not {text!r}")
    return table.encode(), [k.encode() for k in keys.split(",") if k]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m txhbase.server",
                                description="An embedded HBase-compatible Thrift1 gateway.")
    p.add_argument("--port", type=int, default=9090, help="TCP port (0 = a free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind")
    p.add_argument("--transport", choices=["buffered", "framed", "http", "https"],
                   default="buffered",
                   help="http/https: HBase's HTTP mode (one POST per call)")
    p.add_argument("--tls-cert", default=None, metavar="PEM",
                   help="HTTP mode: serve HTTPS with this certificate")
    p.add_argument("--tls-key", default=None, metavar="PEM",
                   help="HTTP mode: the certificate's private key")
    p.add_argument("--protocol", choices=["binary", "compact"], default="binary")
    p.add_argument("--data-dir", default=None,
                   help="keep data durably in a write-ahead log in this directory")
    p.add_argument("--split", type=parse_split, action="append", default=[],
                   metavar="TABLE:KEY,KEY", help="pre-split a table at these row keys")
    p.add_argument("--scanner-timeout", type=float, default=60.0,
                   help="seconds before an idle scanner expires")
    p.add_argument("--idle-timeout", type=float, default=None,
                   help="close connections idle this many seconds (HBase: 60)")
    p.add_argument("--message-timeout", type=float, default=None,
                   help="close a connection whose call has not arrived whole this many "
                        "seconds after its first byte (default: no deadline)")
    p.add_argument("--wal-recovery", choices=["strict", "salvage"], default="strict",
                   help="strict (default): refuse to start if the write-ahead log is "
                        "corrupt anywhere but in a torn last record; salvage: keep a copy "
                        "of the log and start from every record that verifies")
    p.add_argument("--log-level", default="WARNING")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from twisted.internet import reactor as default_reactor

    from txhbase.server import listen
    from txhbase.server.wal import LogCorrupted

    reactor: Any = default_reactor  # zope interfaces confuse mypy
    try:
        srv = listen(args.port, args.host, reactor=reactor, transport=args.transport,
                     protocol=args.protocol, data_dir=args.data_dir,
                     scanner_timeout=args.scanner_timeout, idle_timeout=args.idle_timeout,
                     message_timeout=args.message_timeout, wal_recovery=args.wal_recovery,
                     tls_cert=args.tls_cert, tls_key=args.tls_key)
    except LogCorrupted as e:
        print(f"txhbase.server: {e}", file=sys.stderr, flush=True)
        return 2
    except ValueError as e:  # an option out of range
        print(f"txhbase.server: {e}", file=sys.stderr, flush=True)
        return 2
    for table, keys in args.split:
        srv.split_table(table, keys)
    reactor.addSystemEventTrigger("before", "shutdown", srv.stop)

    def ready() -> None:
        # only once the reactor runs: its SIGINT/SIGTERM handlers are in place
        print(f"txhbase.server listening on {srv.host}:{srv.port} "
              f"({srv.transport}/{args.protocol}"
              f"{', data-dir ' + args.data_dir if args.data_dir else ''})", flush=True)

    reactor.callWhenRunning(ready)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
