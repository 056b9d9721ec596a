"""The embedded server must answer raw Thrift calls exactly like real HBase.

Hypothesis generates sequences of raw ``Hbase`` calls (see differential.py);
each runs through thriftpy2's blocking client on real HBase's buffered/binary
gateway and on the embedded server started as a subprocess, and the
normalised outcomes must be equal. Runs only when the hbase backend is
selected (``--backend hbase|all``, or auto with java and mvn on PATH).

``TXHBASE_DIFF_EXAMPLES`` changes the number of sequences (default 400,
about 20 s when they all agree).
"""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import selected_backends, start_embedded_subprocess
from tests.realhbase import differential as diff
from tests.realhbase import harness

EXAMPLES = int(os.environ.get("TXHBASE_DIFF_EXAMPLES", "400"))


class _Summary:
    """pytest plugin printing what the differential test compared (for the README)."""

    def __init__(self, stats: diff.Stats, version: str):
        self.stats = stats
        self.version = version
        self.seconds = 0.0

    def pytest_terminal_summary(self, terminalreporter):
        s = self.stats
        if s.sequences:
            terminalreporter.write_line(
                f"txhbase differential: {s.sequences} sequences ({s.ops} calls) compared "
                f"between the embedded server and HBase {self.version} in {self.seconds:.0f} s; "
                f"{s.divergent} divergent (counting hypothesis shrinking)")


@pytest.fixture(scope="module")
def backends(request):
    """(reference real-HBase Backend, embedded Backend, summary), tables ensured."""
    if "hbase" not in selected_backends(request.config):
        pytest.skip("the hbase backend is not selected")
    cluster = request.getfixturevalue("real_hbase")
    if isinstance(cluster, harness.ExternalGateway):
        wire = (cluster.transport, cluster.protocol)
    else:
        wire = ("buffered", "binary")
    host, port = cluster.address(*wire)
    reference = diff.Backend("hbase", lambda: harness.sync_client(host, port, *wire,
                                                                   timeout_ms=90000))
    proc, eport = start_embedded_subprocess(*wire)
    candidate = diff.Backend("embedded", lambda: harness.sync_client("127.0.0.1", eport, *wire,
                                                                     timeout_ms=30000))
    try:
        for backend in (reference, candidate):
            backend.reconnect()
            diff.ensure_table(backend.client)
        summary = _Summary(diff.Stats(), getattr(cluster, "version", "?"))
        request.config.pluginmanager.register(summary, "txhbase-differential-summary")
        yield reference, candidate, summary
    finally:
        reference.close()
        candidate.close()
        proc.terminate()
        try:
            proc.wait(10)
        except Exception:
            proc.kill()


def test_normalisation_is_stable_on_real_hbase(backends):
    """HBase compared with itself (other rows) must never diverge: checks the
    timestamp/prefix normalisation the main test relies on."""
    reference, _candidate, _summary = backends

    @settings(max_examples=15, derandomize=True, database=None, deadline=None,
              phases=["generate"], suppress_health_check=list(HealthCheck))
    @given(seq=diff.sequences)
    def run(seq):
        div = diff.compare(reference, reference, seq)
        assert div is None, div.describe()

    run()


def test_embedded_matches_real_hbase(backends):
    reference, candidate, summary = backends
    started = time.monotonic()

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(seq=diff.sequences)
    def run(seq):
        div = diff.compare(reference, candidate, seq, summary.stats)
        assert div is None, "embedded server diverges from HBase:\n" + div.describe()

    try:
        run()
    finally:
        summary.seconds = time.monotonic() - started


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=diff.KNOWN_OPEN[n], strict=True))
    if n in diff.KNOWN_OPEN else n
    for n in sorted(diff.REGRESSION_CASES)])
def test_regression_case(backends, name):
    """Divergences found earlier (and HBase quirks worth pinning), checked every run."""
    reference, candidate, _summary = backends
    div = diff.compare(reference, candidate, diff.REGRESSION_CASES[name])
    assert div is None, f"{name}: embedded server diverges from HBase:\n" + div.describe()
