"""HTTPChannel failure behaviour against servers that stall, drop or refuse:
timeouts on a clock passed in, cancellation, queueing beyond the connection
limit, dropped connections, HTTP status mapping, size limits, TLS refusal."""
from __future__ import annotations

import socket

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

import txhbase
from txhbase import errors
from txhbase.protocol.http import connect_http
from txhbase.protocol.http_options import http_options

from tests.http import fakes


def _opts(**kw):
    return http_options(kw.pop("transport", "http"), **kw)


async def _until(pred, turns=5000):
    """Let the reactor run (real sockets) until ``pred()``, at most ~``turns`` ms."""
    for _ in range(turns):
        if pred():
            return
        await task.deferLater(reactor, 0.001, lambda: None)
    assert pred()


_listening: dict = {}


@pytest.fixture
def stall():
    resource = fakes.Stall()
    port, site = fakes.serve(resource)
    _listening[port.getHost().port] = port
    yield resource, port.getHost().port, site
    site.drop_all()
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


def site_port_stop(number: int):
    """Stop accepting connections on a ``stall`` server (live ones stay)."""
    return defer.maybeDeferred(_listening[number].stopListening)


def _fail_requests(resource):
    for r in resource.requests:
        if not r.finished and not r._disconnected:
            r.setResponseCode(500)
            r.finish()


@pytest_twisted.ensureDeferred
async def test_timeout_on_the_given_clock_fails_and_aborts_the_call(stall):
    resource, port, site = stall
    clock = task.Clock()
    ch = await connect_http(reactor, "127.0.0.1", port, _opts(), clock=clock)
    d = ch.call("getTableNames", timeout=1500)
    await _until(lambda: len(resource.requests) == 1)
    clock.advance(1.4)
    assert not d.called
    clock.advance(0.2)
    with pytest.raises(errors.TimeoutError, match="getTableNames timed out after 1500 ms"):
        await d
    await _until(lambda: len(resource.gone) == 1)  # the request's connection was aborted
    assert ch.pending == 0 and ch.connected
    await ch.close()


@pytest_twisted.ensureDeferred
async def test_cancel_frees_the_slot_for_a_queued_call(stall):
    resource, port, site = stall
    ch = await connect_http(reactor, "127.0.0.1", port, _opts(http_connections=1))
    first = ch.call("getTableNames")
    second = ch.call("getTableNames")
    await _until(lambda: len(resource.requests) == 1)
    assert ch.pending == 2
    for _ in range(5):
        await task.deferLater(reactor, 0, lambda: None)
    assert len(resource.requests) == 1  # one connection: the second call waits
    first.cancel()
    with pytest.raises(defer.CancelledError):
        await first
    await _until(lambda: len(resource.requests) == 2)
    assert ch.pending == 1
    # a queued call cancelled before it was sent is simply withdrawn
    third = ch.call("getTableNames")
    third.cancel()
    with pytest.raises(defer.CancelledError):
        await third
    assert ch.pending == 1
    await ch.close()
    with pytest.raises(errors.ConnectionLost):
        await second


@pytest_twisted.ensureDeferred
async def test_dropped_connections_fail_every_pending_call(stall):
    resource, port, site = stall
    ch = await connect_http(reactor, "127.0.0.1", port, _opts(http_connections=3))
    calls = [ch.call("getTableNames") for _ in range(5)]
    await _until(lambda: len(resource.requests) == 3)
    site.drop_all()
    for ok, r in await defer.DeferredList(calls[:3], consumeErrors=True):
        assert not ok and isinstance(r.value, errors.ConnectionLost) and r.value.sent is True
    # the queued calls went out on new connections once slots freed: they
    # stall again; dropping those fails them too
    await _until(lambda: len(resource.requests) == 5)
    assert ch.pending == 2 and ch.connected
    site.drop_all()
    for ok, r in await defer.DeferredList(calls[3:], consumeErrors=True):
        assert not ok and isinstance(r.value, errors.ConnectionLost) and r.value.sent is True
    assert ch.pending == 0
    await ch.close()


@pytest_twisted.ensureDeferred
async def test_close_fails_pending_calls_at_once_and_later_calls_unsent(stall):
    resource, port, site = stall
    clock = task.Clock()
    ch = await connect_http(reactor, "127.0.0.1", port, _opts(http_connections=1), clock=clock)
    lost = []
    ch.on_connection_lost.append(lost.append)
    inflight, queued = ch.call("getTableNames"), ch.call("getTableNames")
    await _until(lambda: len(resource.requests) == 1)
    closed = ch.close()
    for d in (inflight, queued):
        with pytest.raises(errors.ConnectionLost) as e:
            await d
        assert e.value.sent is True
    assert len(lost) == 1 and not ch.connected
    with pytest.raises(errors.ConnectionLost) as e:
        await ch.call("getTableNames")
    assert e.value.sent is False
    assert not closed.called  # lingering: the stalled call may still finish
    clock.advance(5)  # LINGER_SECONDS: then it is aborted
    await closed
    await _until(lambda: len(resource.gone) == 1)


@pytest_twisted.ensureDeferred
async def test_close_after_the_gateway_went_away_is_bounded(stall):
    # one call stalls on a live connection; then the gateway stops accepting,
    # so the next call's connection is refused and the channel is lost; close()
    # must still fail the stalled call at once and finish within the linger
    resource, port, site = stall
    clock = task.Clock()
    ch = await connect_http(reactor, "127.0.0.1", port, _opts(http_connections=2), clock=clock)
    stalled = ch.call("getTableNames")
    await _until(lambda: len(resource.requests) == 1)
    await site_port_stop(port)
    with pytest.raises(errors.ConnectionLost) as e:
        await ch.call("getTableNames")
    assert e.value.sent is False and not ch.connected
    assert not stalled.called  # its own connection is still up
    closed = ch.close()
    with pytest.raises(errors.ConnectionLost):
        await stalled
    assert not closed.called
    clock.advance(5)
    await closed


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest_twisted.ensureDeferred
async def test_unreachable_gateway_fails_unsent():
    port = _closed_port()
    with pytest.raises(errors.ConnectionLost) as e:
        await connect_http(reactor, "127.0.0.1", port, _opts())
    assert e.value.sent is False
    conn = txhbase.Connection("127.0.0.1", port, transport="http", timeout=5000)
    with pytest.raises(errors.ConnectionLost) as e:
        await conn.tables()
    assert e.value.sent is False


@pytest_twisted.ensureDeferred
async def test_gateway_gone_after_connect_marks_channel_lost():
    resource = fakes.Status(500)
    port, site = fakes.serve(resource)
    ch = await connect_http(reactor, "127.0.0.1", port.getHost().port, _opts())
    lost = []
    ch.on_connection_lost.append(lost.append)
    await port.stopListening()
    site.drop_all()
    await _until(lambda: not site.connections)
    with pytest.raises(errors.ConnectionLost) as e:
        await ch.call("getTableNames")
    assert e.value.sent is False
    assert not ch.connected and len(lost) == 1  # the Connection above reconnects


@pytest.mark.parametrize("code, cls", [(401, errors.AuthenticationError),
                                       (403, errors.AuthenticationError),
                                       (500, errors.ServerError),
                                       (404, errors.ServerError)])
@pytest_twisted.ensureDeferred
async def test_http_status_mapping(code, cls):
    body = b"Authentication Error: no ticket" if code == 401 else b"boom " * 500
    headers = {b"WWW-Authenticate": b"Negotiate"} if code == 401 else {}
    port, site = fakes.serve(fakes.Status(code, body, headers))
    try:
        conn = txhbase.Connection("127.0.0.1", port.getHost().port, transport="http",
                                  timeout=5000)
        with pytest.raises(cls) as e:
            await conn.tables()
        err = e.value
        assert err.status == code
        assert f"HTTP {code}" in str(err)
        if code == 401:
            assert err.challenge == "Negotiate"
            assert "no ticket" in str(err)
        elif code == 403:
            assert err.challenge is None
        else:
            assert len(str(err)) < 700  # an excerpt of the body, not all of it
        assert conn.connected  # an HTTP error answer does not drop the channel
        await conn.close()
    finally:
        await port.stopListening()
        site.drop_all()


@pytest_twisted.ensureDeferred
async def test_reply_larger_than_max_message_size(http_gateway_embedded_http):
    srv = http_gateway_embedded_http
    conn = txhbase.Connection("127.0.0.1", srv.port, transport="http", max_message_size=64,
                              timeout=5000)
    await conn.create_table(b"big_reply_t", {"cf": {}})  # small replies pass
    await conn.table(b"big_reply_t").put(b"r", {b"cf:a": b"x" * 500})
    with pytest.raises(errors.MessageTooLarge):
        await conn.table(b"big_reply_t").row(b"r")
    assert await conn.tables()  # the channel goes on
    await conn.close()


@pytest.fixture
def http_gateway_embedded_http():
    from txhbase import server as embedded

    srv = embedded.listen(0, transport="http")
    yield srv
    pytest_twisted.blockon(srv.stop())


@pytest_twisted.ensureDeferred
async def test_untrusted_certificate_is_refused(pki, other_pki):
    from txhbase import server as embedded

    srv = embedded.listen(0, transport="https", tls_cert=other_pki.server_cert,
                          tls_key=other_pki.server_key)
    try:
        for kwargs in ({"tls_ca": pki.ca}, {}):  # another CA; the system's roots
            conn = txhbase.Connection("localhost", srv.port, transport="https", timeout=5000,
                                      **kwargs)
            with pytest.raises(errors.TLSError, match="certificate") as e:
                await conn.tables()
            assert e.value.sent is False
            assert isinstance(e.value, errors.ConnectionLost)
        # explicitly not verifying works (and so does trusting the right CA)
        for kwargs in ({"tls_verify": False}, {"tls_ca": other_pki.ca}):
            async with txhbase.Connection("localhost", srv.port, transport="https",
                                          timeout=5000, **kwargs) as conn:
                assert isinstance(await conn.tables(), list)
    finally:
        await srv.stop()


@pytest_twisted.ensureDeferred
async def test_hostname_must_match_the_certificate(tmp_path):
    from tests.http.certs import make_pki
    from txhbase import server as embedded

    # a certificate from a trusted CA, but for another name
    elsewhere = make_pki(str(tmp_path), "elsewhere", server_names=("gateway.example",))
    srv = embedded.listen(0, transport="https", tls_cert=elsewhere.server_cert,
                          tls_key=elsewhere.server_key)
    try:
        conn = txhbase.Connection("127.0.0.1", srv.port, transport="https",
                                  tls_ca=elsewhere.ca, timeout=5000)
        with pytest.raises(errors.TLSError):
            await conn.tables()
    finally:
        await srv.stop()


@pytest_twisted.ensureDeferred
async def test_client_certificate_is_presented(pki):
    from twisted.internet import ssl

    from txhbase.server.http import HTTPGateway, ThriftResource
    from txhbase.server import HBaseHandler

    ca = ssl.Certificate.loadPEM(open(pki.ca, "rb").read())
    server_cert = ssl.PrivateCertificate.loadPEM(
        open(pki.server_cert, "rb").read() + open(pki.server_key, "rb").read())
    # a server that requires a client certificate signed by the CA
    options = server_cert.options(ca)
    site = HTTPGateway(ThriftResource(HBaseHandler(clock=reactor)), tls=True, idle_timeout=None,
                       reactor=reactor)
    port = reactor.listenSSL(0, site, options, interface="127.0.0.1")
    try:
        async with txhbase.Connection("localhost", port.getHost().port, transport="https",
                                      tls_ca=pki.ca, tls_client_cert=pki.client_cert,
                                      tls_client_key=pki.client_key, timeout=5000) as conn:
            assert await conn.tables() == []
        conn = txhbase.Connection("localhost", port.getHost().port, transport="https",
                                  tls_ca=pki.ca, timeout=5000)
        with pytest.raises(errors.ConnectionLost):
            await conn.tables()
        await conn.close()
    finally:
        await port.stopListening()
        for p in list(site.connections):
            p.transport.abortConnection()
