"""End to end: examples/daemon.tac under ``twistd -n`` against an embedded
server process, stopped with SIGTERM while it writes and scans at full load.

What a daemon's operator relies on: the daemon exits 0 soon after SIGTERM;
every call it started either completed or failed with a txhbase error (none
hangs, none fails with anything else); every acknowledged put is in the table.
"""
from __future__ import annotations

import signal

import txhbase.errors
from tests.conftest import start_embedded_subprocess
from tests.service.daemon import Daemon
from tests.service.requires import needs_graceful_close

TXHBASE_ERRORS = {name for name, value in vars(txhbase.errors).items()
                  if isinstance(value, type) and issubclass(value, txhbase.errors.TxHBaseError)}


@needs_graceful_close
def test_sigterm_mid_load_every_call_completes_or_fails_with_a_txhbase_error(tmp_path):
    import happybase

    server, port = start_embedded_subprocess()
    daemon = None
    try:
        daemon = Daemon(tmp_path, gateway=f"127.0.0.1:{port}", writers=16, grace=10.0)
        daemon.wait_for_load(ok_calls=500)
        status = daemon.terminate()
        log = daemon.log()
        # twistd exits 0, or (newer Twisted) re-raises the signal it stopped on.
        assert status in (0, -signal.SIGTERM), log
        assert "closing the pool failed" not in log, log

        outcomes = daemon.outcomes()
        assert outcomes.bugs == [], outcomes.bugs
        assert outcomes.stopped == (len(outcomes.ok), len(outcomes.failed)), log
        for line in outcomes.failed:
            assert line.rsplit(" ", 1)[1] in TXHBASE_ERRORS, line
        # The load service stops starting calls before the pool closes, and the
        # grace period (10 s) outlasts every call in flight: none was cut off.
        assert not [line for line in outcomes.failed if line.endswith(" ConnectionLost")]

        # Nothing acknowledged is lost.
        acknowledged = outcomes.acknowledged_keys()
        conn = happybase.Connection("127.0.0.1", port, autoconnect=True)
        try:
            stored = {key for key, _ in conn.table("example_daemon").scan(
                filter=b"KeyOnlyFilter()")}
        finally:
            conn.close()
        assert len(acknowledged) >= 400  # 500 calls, one in 11 a scan
        assert acknowledged - stored == set()
    finally:
        if daemon is not None:
            daemon.kill()
        server.terminate()
        server.wait(10)
