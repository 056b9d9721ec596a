"""Run every example in examples/ as a user would, and check what it prints.

Each script runs twice: with no arguments (it starts an embedded server in
its own process) and with ``--host/--port`` pointing at an embedded server
process (``python -m txhbase.server``), as it would at a real gateway.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import start_embedded_subprocess
from tests.service.daemon import Daemon
from tests.service.requires import needs_graceful_close, needs_memory_gateway

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# script -> (extra arguments, regular expressions its output must match)
SCRIPTS = {
    "callwhenrunning.py": ([], [r"row user-2: \{b'cf:name': b'Grace'\}",
                                r"scanned user-1 Ada\nscanned user-2 Grace\nscanned user-3 Alan"]),
    "react_async.py": ([], [r"event-042: \{b'cf:n': b'42'\}", r"scanned 100 rows"]),
    "batch_loader.py": (["--rows", "3000", "--batch-size", "200"],
                        [r"loaded 3000 rows in", r"rows in the table: 3000"]),
    "timeouts.py": ([], [r"default timeout: TimeoutError\nper-call timeout: TimeoutError\n"
                         r"cancelled: CancelledError\nmissing table: HBaseIOError\n"
                         r"table exists: AlreadyExists\n"
                         r"argument check: ValueError: column b'no-family' in 'data' has no family",
                         r"argument check: TypeError: value of column b'cf:q' in 'data' must be bytes"]),
    "parallel_scan.py": (["--rows", "2000"], [r"scanners saw \[.*\] rows: 2000 in all"]),
}


def run_example(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], env=env, cwd=str(ROOT), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


@pytest.fixture(scope="module")
def server_port():
    proc, port = start_embedded_subprocess()
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


@pytest.mark.parametrize("where", ["embedded-in-process", "--host"])
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_script(script, where, request):
    extra, expected = SCRIPTS[script]
    args = [str(EXAMPLES / script), *extra]
    if where == "--host":
        args += ["--host", "127.0.0.1", "--port", str(request.getfixturevalue("server_port"))]
    done = run_example(args)
    assert done.returncode == 0, done.stdout + done.stderr
    # No unhandled errors (a slow-call WARNING from a loaded machine may appear).
    assert "Traceback" not in done.stderr and "Unhandled" not in done.stderr, done.stderr
    for pattern in expected:
        assert re.search(pattern, done.stdout), (pattern, done.stdout)


def test_every_example_is_run_here():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    covered = set(SCRIPTS) | {"daemon_app.py", "test_visits.py"}
    assert scripts == covered


@needs_memory_gateway
def test_memory_gateway_example_passes_its_own_tests():
    done = run_example(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                        str(EXAMPLES / "test_visits.py")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout


@needs_graceful_close
def test_daemon_tac_writes_scans_and_stops_cleanly(tmp_path):
    daemon = Daemon(tmp_path, writers=4, grace=5.0)  # its own embedded server
    try:
        daemon.wait_for_load(ok_calls=100)
        assert daemon.terminate() in (0, -signal.SIGTERM), daemon.log()
    finally:
        daemon.kill()
    outcomes = daemon.outcomes()
    assert outcomes.bugs == []
    assert any(line.startswith("ok scan") for line in outcomes.ok)
    assert outcomes.stopped == (len(outcomes.ok), len(outcomes.failed))


DOCS = ROOT / "docs"
INCLUDED_FILES_RUN_HERE = {"examples", "logger.conf", "README.md"}


def test_every_code_example_in_the_docs_is_executed():
    """Python in the docs comes only from examples/ by literalinclude (which
    the tests above run); no untested inline Python."""
    inline = re.compile(r"^(```|:::)\s*(\{code-block\}\s*)?(python|py|pycon|python3)\b", re.M)
    include = re.compile(r"^```\{(literalinclude|include)\}\s+(\S+)", re.M)
    for page in DOCS.glob("*.md"):
        if page.name == "DESIGN.md":  # the design notes: a layer diagram, no code
            continue
        text = page.read_text()
        assert not inline.search(text), f"{page.name}: inline Python; literalinclude an example"
        for _, target in include.findall(text):
            path = (DOCS / target).resolve()
            assert path.exists(), f"{page.name}: {target} does not exist"
            top = path.relative_to(ROOT).parts[0]
            assert top in INCLUDED_FILES_RUN_HERE, f"{page.name}: {target} is not run by CI"
