"""The retry policy: classification of failures and back-off delays."""
from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.internet import error as twisted_error

from txhbase import _retry, errors


@pytest.mark.parametrize("kind", [_retry.READ, _retry.IDEMPOTENT, _retry.UNSAFE])
def test_never_sent_is_always_retried_and_not_applied(kind):
    for exc in (errors.ConnectionLost("x", sent=False), twisted_error.ConnectionRefusedError()):
        v = _retry.classify(exc, kind)
        assert v.retry and v.maybe_applied is False and v.server_fault


@pytest.mark.parametrize("exc", [errors.ConnectionLost("x", sent=True), errors.ConnectionLost("x"),
                                 errors.TimeoutError("t"), errors.ProtocolError("p")])
def test_lost_reply_retried_only_when_safe(exc):
    assert _retry.classify(exc, _retry.READ).retry
    assert _retry.classify(exc, _retry.IDEMPOTENT).retry
    unsafe = _retry.classify(exc, _retry.UNSAFE)
    assert not unsafe.retry and unsafe.maybe_applied is True and unsafe.connection_bad


def test_server_errors():
    retryable = errors.HBaseIOError("busy", can_retry=True)
    assert _retry.classify(retryable, _retry.READ).retry
    assert not _retry.classify(retryable, _retry.UNSAFE).retry
    assert not _retry.classify(retryable, _retry.READ).server_fault
    assert not _retry.classify(errors.HBaseIOError("no table", can_retry=False), _retry.READ).retry
    for exc in (errors.IllegalArgument("a"), errors.ServerError("s", 6), TypeError("row"),
                ValueError("v"), errors.NoConnectionsAvailable(), errors.AllServersUnavailable()):
        v = _retry.classify(exc, _retry.READ)
        assert not v.retry and not v.server_fault and not v.connection_bad


def test_cancel_is_not_retried():
    v = _retry.classify(defer.CancelledError(), _retry.READ)
    assert not v.retry and v.connection_bad


def test_method_kinds():
    """The one table of rules, by Thrift method name."""
    inc = (b"t", b"r", b"cf:c", 1)
    assert _retry.method_kind("atomicIncrement", inc) == _retry.UNSAFE        # counter_inc/dec
    assert _retry.method_kind("atomicIncrement", inc[:3] + (0,)) == _retry.READ  # counter_get
    for m in ("append", "checkAndPut", "incrementRows", "createTable", "unknown"):
        assert _retry.method_kind(m) == _retry.UNSAFE
    for m in ("getRowWithColumns", "getRowsWithColumns", "getVer", "scannerOpenWithScan",
              "scannerGetList", "getTableRegions", "getColumnDescriptors"):
        assert _retry.method_kind(m) == _retry.READ
    for m in ("mutateRow", "mutateRowTs", "mutateRows", "deleteAllRow"):  # put, delete, batches
        assert _retry.method_kind(m) == _retry.IDEMPOTENT


def test_backoff_exponential_with_full_jitter_and_cap():
    p = _retry.RetryPolicy(max_retries=5, base=0.1, cap=0.5, random=lambda: 1.0)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    half = _retry.RetryPolicy(base=0.1, cap=1.0, random=lambda: 0.5)
    assert half.delay(2) == pytest.approx(0.1)
    assert _retry.RetryPolicy(random=lambda: 0.0).delay(3) == 0.0


@pytest.mark.parametrize("kw", [{"max_retries": -1}, {"max_retries": 1.5}, {"base": -1},
                                {"base": 1.0, "cap": 0.5}])
def test_policy_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        _retry.RetryPolicy(**kw)


def test_annotate():
    e = errors.ConnectionLost("x", sent=True)
    a = [_retry.Attempt("h:1", e, True, 0.0), _retry.Attempt("h:2", e, True, 1.0)]
    assert _retry.annotate(e, a, True) is e
    assert e.servers == ("h:1", "h:2") and len(e.attempts) == 2 and e.maybe_applied is True


def test_any_error_marked_unsent_is_retried_as_unsent():
    exc = errors.TimeoutError("connecting to h:1 timed out")
    assert _retry.classify(exc, _retry.UNSAFE).maybe_applied is True
    exc.sent = False
    v = _retry.classify(exc, _retry.UNSAFE)
    assert v.retry and v.maybe_applied is False
