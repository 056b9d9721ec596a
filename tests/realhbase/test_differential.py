"""The embedded server must answer raw Thrift calls exactly like real HBase.

Hypothesis generates sequences of raw ``Hbase`` calls (see differential.py);
each runs through thriftpy2's blocking client on real HBase's buffered/binary
gateway and on the embedded server started as a subprocess, and the
normalised outcomes must be equal. Runs only when the hbase backend is
selected (``--backend hbase|all``, or auto with java and mvn on PATH).

``TXHBASE_DIFF_EXAMPLES`` changes the number of sequences (default 400,
about 20 s when they all agree).

The same comparison runs on a pre-split table as well
(``TXHBASE_DIFF_SPLIT_EXAMPLES`` sequences, default 40): HBase's copy is
created through the harness's Java Admin with split keys between each
sequence's rows (regions on both region servers), the embedded server's with
``--split``; and ``getTableRegions`` must have the same shape on both.

Over HTTP, as a smoke (``TXHBASE_DIFF_HTTP_EXAMPLES`` sequences, default
30): thriftpy2's HTTP client POSTs the same calls to real HBase's HTTP-mode
gateway and to an embedded server started with ``--transport http``.
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
SPLIT_EXAMPLES = int(os.environ.get("TXHBASE_DIFF_SPLIT_EXAMPLES", "40"))
HTTP_EXAMPLES = int(os.environ.get("TXHBASE_DIFF_HTTP_EXAMPLES", "30"))
#: row prefixes (and so split keys) of the pre-split run; a few spare for replays
SPLIT_PLAN = diff.SplitPlan(SPLIT_EXAMPLES + 5)


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
    split_arg = diff.SPLIT_TABLE.decode() + ":" + ",".join(
        k.decode() for k in SPLIT_PLAN.split_keys())
    proc, eport = start_embedded_subprocess(*wire, extra_args=["--split", split_arg])
    candidate = diff.Backend("embedded", lambda: harness.sync_client("127.0.0.1", eport, *wire,
                                                                     timeout_ms=30000))
    try:
        for backend in (reference, candidate):
            backend.reconnect()
            diff.ensure_table(backend.client)
        summary = _Summary(diff.Stats(), getattr(cluster, "version", "?"))
        request.config.pluginmanager.register(summary, "txhbase-differential-summary")
        yield reference, candidate, summary, cluster
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
    reference, _candidate, _summary, _cluster = backends

    @settings(max_examples=15, derandomize=True, database=None, deadline=None,
              phases=["generate"], suppress_health_check=list(HealthCheck))
    @given(seq=diff.sequences)
    def run(seq):
        div = diff.compare(reference, reference, seq)
        assert div is None, div.describe()

    run()


def test_embedded_matches_real_hbase(backends):
    reference, candidate, summary, _cluster = backends
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
    reference, candidate, _summary, _cluster = backends
    div = diff.compare(reference, candidate, diff.REGRESSION_CASES[name])
    assert div is None, f"{name}: embedded server diverges from HBase:\n" + div.describe()


@pytest.fixture(scope="module")
def split_backends(backends):
    """(reference, candidate) on SPLIT_TABLE: split on HBase through the Java
    Admin (recreated: its split keys belong to this run), by --split on the
    embedded server."""
    reference, candidate, _summary, cluster = backends
    if isinstance(cluster, harness.ExternalGateway):
        pytest.skip("pre-splitting needs the harness's cluster (HBase's Java Admin)")
    client = reference.fresh()
    if diff.SPLIT_TABLE in client.getTableNames():
        client.disableTable(diff.SPLIT_TABLE)
        client.deleteTable(diff.SPLIT_TABLE)
    regions = cluster.create_table(diff.SPLIT_TABLE, {f.decode(): v for f, v in diff.FAMILIES.items()},
                                   SPLIT_PLAN.split_keys())
    assert len({(r.host, r.port) for r in regions}) == cluster.regionservers
    split_ref = diff.Backend("hbase", reference.connect, table=diff.SPLIT_TABLE)
    split_cand = diff.Backend("embedded", candidate.connect, table=diff.SPLIT_TABLE)
    try:
        for backend in (split_ref, split_cand):
            backend.reconnect()
            diff.ensure_table(backend.client, diff.SPLIT_TABLE)
        yield split_ref, split_cand
    finally:
        split_ref.close()
        split_cand.close()


def test_table_regions_shape_matches_real_hbase(split_backends):
    reference, candidate = split_backends
    got = {b.name: b.fresh().getTableRegions(diff.SPLIT_TABLE) for b in (reference, candidate)}
    assert len(got["hbase"]) == len(SPLIT_PLAN.prefixes) + 1
    assert diff.region_shape(diff.SPLIT_TABLE, got["embedded"]) == diff.region_shape(
        diff.SPLIT_TABLE, got["hbase"])


def test_embedded_matches_real_hbase_on_a_presplit_table(split_backends):
    reference, candidate = split_backends

    @settings(max_examples=SPLIT_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=["generate"], suppress_health_check=list(HealthCheck))
    @given(seq=diff.sequences)
    def run(seq):
        div = diff.compare(reference, candidate, seq, prefix=SPLIT_PLAN.next())
        assert div is None, ("embedded server diverges from HBase on a pre-split table:\n"
                             + div.describe())

    run()


def _http_client(host: str, port: int, path: str, timeout_ms: int):
    """thriftpy2's blocking HTTP client of the ``Hbase`` service (binary, one POST a call)."""
    from thriftpy2.http import make_client
    from thriftpy2.protocol import TBinaryProtocolFactory

    from txhbase.protocol.idl import hbase

    return make_client(hbase.Hbase, host, port, path=path, scheme="http",
                       proto_factory=TBinaryProtocolFactory(), timeout=timeout_ms)


@pytest.fixture(scope="module")
def http_backends(request):
    """(reference, candidate): real HBase's HTTP gateway and an embedded server
    in HTTP mode, each through thriftpy2's HTTP client (rows under fresh prefixes
    of the shared differential table)."""
    if "hbase" not in selected_backends(request.config):
        pytest.skip("the hbase backend is not selected")
    g = request.getfixturevalue("hbase_http_gateway")
    proc, eport = start_embedded_subprocess("http", "binary")
    reference = diff.Backend("hbase", lambda: _http_client(g.host, g.port, g.path, 90000))
    candidate = diff.Backend("embedded", lambda: _http_client("127.0.0.1", eport, "/", 30000))
    try:
        for backend in (reference, candidate):
            backend.reconnect()
            diff.ensure_table(backend.client)
        yield reference, candidate
    finally:
        reference.close()
        candidate.close()
        proc.terminate()
        try:
            proc.wait(10)
        except Exception:
            proc.kill()


def test_embedded_matches_real_hbase_over_http(http_backends):
    reference, candidate = http_backends

    @settings(max_examples=HTTP_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=["generate"], suppress_health_check=list(HealthCheck))
    @given(seq=diff.sequences)
    def run(seq):
        div = diff.compare(reference, candidate, seq)
        assert div is None, "embedded server over HTTP diverges from HBase:\n" + div.describe()

    run()
