"""PoolService with a fake pool and task.Clock: the lifecycle a daemon relies on."""
from __future__ import annotations

import logging

import pytest
from twisted.application import service
from twisted.internet import defer, task

from txhbase import errors
from txhbase.service import PoolService
from tests.service.fakes import FakePool


def make(grace=5.0, **kw):
    clock = task.Clock()
    pool = FakePool(clock, **kw)
    return clock, pool, PoolService(pool, grace=grace)


def test_start_prefills_the_pool_and_ready_fires():
    _, pool, svc = make()
    assert svc.ready is None
    svc.startService()
    assert svc.running
    assert pool.prefills == 1
    assert svc.ready is not None and svc.ready.called


def test_prefill_false_opens_nothing():
    clock = task.Clock()
    pool = FakePool(clock)
    svc = PoolService(pool, prefill=False)
    svc.startService()
    assert pool.prefills == 0
    assert svc.ready is not None and svc.ready.called


def test_failed_prefill_is_logged_not_fatal(caplog):
    prefill: defer.Deferred = defer.Deferred()
    _, pool, svc = make(prefill_result=prefill)
    svc.startService()
    assert svc.ready is not None and not svc.ready.called
    with caplog.at_level(logging.WARNING, logger="txhbase.service"):
        prefill.errback(errors.AllServersUnavailable("every gateway is down"))
    assert svc.ready.called
    assert "prefill incomplete" in caplog.text
    assert svc.running  # the pool opens connections on demand later


def test_stop_passes_the_grace_to_close():
    _, pool, svc = make(grace=7.5)
    svc.startService()
    d = svc.stopService()
    assert pool.closes == [7.5]
    assert d.called and not svc.running


def test_stop_lets_in_flight_calls_finish_within_the_grace_period():
    clock, pool, svc = make(grace=5.0)
    svc.startService()
    early, late = pool.call(), pool.call()
    stopped = svc.stopService()
    assert not stopped.called

    new = pool.call()  # a call made after the stop fails at once
    failures: list = []
    new.addErrback(failures.append)
    assert failures and failures[0].check(errors.NoConnectionsAvailable)

    results: list = []
    early.addBoth(results.append)
    late.addBoth(results.append)
    clock.advance(2.0)
    pool.finish(early, "applied")
    assert results == ["applied"]
    assert not stopped.called

    clock.advance(3.0)  # grace over: what is left fails with a txhbase error
    assert stopped.called
    assert results[1].check(errors.ConnectionLost)


def test_stop_fires_as_soon_as_the_last_call_finishes():
    clock, pool, svc = make(grace=30.0)
    svc.startService()
    call = pool.call()
    stopped = svc.stopService()
    clock.advance(1.0)
    pool.finish(call)
    assert stopped.called
    assert clock.getDelayedCalls() == []


@pytest.mark.parametrize("grace", [None, 0])
def test_no_grace_closes_at_once(grace):
    _, pool, svc = make(grace=grace)
    svc.startService()
    call = pool.call()
    failures: list = []
    call.addErrback(failures.append)
    stopped = svc.stopService()
    assert stopped.called
    assert pool.closes == [grace]
    assert failures[0].check(errors.ConnectionLost)


def test_stopping_twice_closes_once_and_both_fire():
    clock, pool, svc = make(grace=5.0)
    svc.startService()
    pool.call()
    first = svc.stopService()
    second = svc.stopService()
    assert pool.closes == [5.0]
    assert not first.called and not second.called
    clock.advance(5.0)
    assert first.called and second.called


def test_a_failing_close_is_logged_and_the_stop_still_fires(caplog):
    class BrokenPool(FakePool):
        def close(self, grace=None):
            return defer.fail(RuntimeError("boom"))

    svc = PoolService(BrokenPool(task.Clock()))
    svc.startService()
    with caplog.at_level(logging.ERROR, logger="txhbase.service"):
        d = svc.stopService()
    assert d.called and d.result is None
    assert "closing the pool failed: boom" in caplog.text


def test_multiservice_waits_for_the_pool_to_close():
    clock, pool, svc = make(grace=5.0)
    parent = service.MultiService()
    svc.setServiceParent(parent)
    parent.startService()
    assert pool.prefills == 1
    call = pool.call()
    stopped = parent.stopService()
    assert not stopped.called
    clock.advance(4.0)
    pool.finish(call)
    assert stopped.called


def test_application_from_a_tac_file():
    clock = task.Clock()
    pool = FakePool(clock)
    application = service.Application("example")
    PoolService(pool, grace=1).setServiceParent(application)
    top = service.IService(application)
    top.startService()
    assert pool.prefills == 1
    assert top.stopService().called
    assert pool.closes == [1]


@pytest.mark.parametrize("grace, error", [
    ("5", TypeError), (True, TypeError), (-1, ValueError),
])
def test_bad_grace_is_refused(grace, error):
    with pytest.raises(error, match="grace"):
        PoolService(FakePool(task.Clock()), grace=grace)


def test_bad_prefill_is_refused():
    with pytest.raises(TypeError, match="prefill"):
        PoolService(FakePool(task.Clock()), prefill=1)  # type: ignore[arg-type]
