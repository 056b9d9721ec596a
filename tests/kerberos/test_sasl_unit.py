"""The SASL layer over StringTransport with a fake GSS context: no KDC, no network."""
from __future__ import annotations

import pytest
from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from tests.kerberos.fakegss import (
    CLIENT_TOKEN,
    SERVER_TOKEN,
    FakeContext,
    client_negotiation,
    fake_wrap,
    server_script,
)
from tests.protocol.wire import call_bytes, reply_bytes
from txhbase.errors import AuthenticationError, ConnectionLost, ProtocolError
from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.sasl import (
    BAD,
    COMPLETE,
    ERROR,
    OK,
    QOPS,
    START,
    GSSAPIMechanism,
    SASLClientProtocol,
    sasl_message,
    sasl_options,
)


def inline(f, *args):
    return defer.maybeDeferred(f, *args)


class Deferring:
    """A run_blocking that holds each call until ``release()`` (a thread pool stand-in)."""

    def __init__(self):
        self.calls = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.calls.append((f, args, d))
        return d

    def release(self):
        f, args, d = self.calls.pop(0)
        defer.maybeDeferred(f, *args).chainDeferred(d)


def make(qop="auth-conf", run_blocking=inline, context=None):
    clock = task.Clock()
    inner = HBaseClientProtocol(clock=clock)
    ctx = context or FakeContext()
    layer = SASLClientProtocol(inner, GSSAPIMechanism(ctx, qop), run_blocking)
    tr = StringTransport()
    layer.makeConnection(tr)
    return layer, inner, tr, ctx


def result_of(d):
    out = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    return out[0]


def feed_bytewise(layer, data):
    for i in range(len(data)):
        layer.dataReceived(data[i:i + 1])


def frame(payload):
    return len(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize("qop", ["auth", "auth-int", "auth-conf"])
def test_negotiation_byte_at_a_time_then_pipelined_calls(qop):
    layer, inner, tr, ctx = make(qop)
    layer.authenticated.addCallback(lambda p: seen.append(p))
    seen = []
    script = server_script(offer=QOPS[qop])
    feed_bytewise(layer, script[0] + script[1])
    assert not seen and not inner.connected  # nothing of the application yet
    feed_bytewise(layer, script[2][:-1])
    assert not seen
    layer.dataReceived(script[2][-1:])
    assert seen == [inner] and inner.connected
    assert tr.value() == client_negotiation(QOPS[qop])
    assert ctx.steps == [b"", SERVER_TOKEN]
    tr.clear()

    d1 = inner.call("getTableNames")
    d2 = inner.call("isTableEnabled", b"t")
    assert inner.pending == 2
    prefix = {"auth": b"", "auth-int": b"I:", "auth-conf": b"E:"}[qop]
    assert tr.value() == (frame(prefix + call_bytes("getTableNames", 1, (), "buffered", "binary"))
                          + frame(prefix + call_bytes("isTableEnabled", 2, (b"t",),
                                                      "buffered", "binary")))
    replies = (frame(prefix + reply_bytes("getTableNames", 1, "buffered", "binary",
                                          success=[b"a", b"b"]))
               + frame(prefix + reply_bytes("isTableEnabled", 2, "buffered", "binary",
                                            success=True)))
    feed_bytewise(layer, replies)
    assert result_of(d1) == [b"a", b"b"]
    assert result_of(d2) is True


def test_replies_split_across_frames_are_reassembled():
    layer, inner, tr, _ = make("auth")
    for msg in server_script(QOPS["auth"]):
        layer.dataReceived(msg)
    d = inner.call("getTableNames")
    reply = reply_bytes("getTableNames", 1, "buffered", "binary", success=[b"x"])
    layer.dataReceived(frame(reply[:7]) + frame(reply[7:]))
    assert result_of(d) == [b"x"]


def test_remaining_bytes_after_complete_are_data():
    layer, inner, tr, _ = make("auth-int")
    script = server_script(QOPS["auth-int"])
    layer.dataReceived(b"".join(script[:2]))
    layer.dataReceived(script[2] + frame(b"I:"))  # an empty frame right behind COMPLETE
    assert inner.connected


def test_gss_steps_run_through_run_blocking_and_nothing_is_sent_before():
    runner = Deferring()
    layer, inner, tr, ctx = make("auth", run_blocking=runner)
    assert tr.value() == b"" and len(runner.calls) == 1  # initial step deferred to a thread
    runner.release()
    assert tr.value() == sasl_message(START, b"GSSAPI") + sasl_message(OK, CLIENT_TOKEN)
    script = server_script(QOPS["auth"])
    layer.dataReceived(b"".join(script))  # all at once, while the next step is in a thread
    assert len(runner.calls) == 1
    runner.release()
    assert inner.connected and result_of(layer.authenticated) is inner
    assert runner.calls == []  # unwrap/wrap of the layer offer are not deferred


@pytest.mark.parametrize("status", [BAD, ERROR])
def test_server_refusal_is_authentication_error_with_its_message(status):
    layer, inner, tr, _ = make()
    layer.dataReceived(sasl_message(status, b"GSS initiate failed: Checksum failed"))
    err = result_of(layer.authenticated)
    assert isinstance(err, Failure) and err.check(AuthenticationError)
    assert "Checksum failed" in err.value.message
    assert tr.disconnecting or tr.disconnected or getattr(tr, "aborted", False)
    assert not inner.connected


def test_gss_failure_is_authentication_error():
    layer, inner, tr, _ = make(context=FakeContext(fail_with="No Kerberos credentials"))
    err = result_of(layer.authenticated)
    assert err.check(AuthenticationError) and "No Kerberos credentials" in err.value.message
    assert tr.value() == b""  # nothing sent at all


def test_gateway_without_the_requested_qop_is_refused_client_side():
    layer, inner, tr, _ = make("auth")
    script = server_script(QOPS["auth-conf"])
    layer.dataReceived(script[0] + script[1])
    err = result_of(layer.authenticated)
    assert err.check(AuthenticationError)
    assert "offers qop auth-conf" in err.value.message and "requires auth" in err.value.message
    assert not inner.connected


def test_plain_thrift_bytes_are_not_sasl():
    layer, inner, tr, _ = make()
    # what a plain buffered gateway would send: a binary-protocol reply header
    layer.dataReceived(b"\x80\x01\x00\x02")
    err = result_of(layer.authenticated)
    assert err.check(AuthenticationError) and "not SASL" in err.value.message


def test_huge_negotiation_length_is_not_sasl():
    layer, inner, tr, _ = make()
    layer.dataReceived(b"\x02\x7f\x00\x00\x00")
    assert result_of(layer.authenticated).check(AuthenticationError)


def test_connection_closed_during_negotiation():
    layer, inner, tr, _ = make()
    layer.connectionLost(Failure(ConnectionError("reset")))
    err = result_of(layer.authenticated)
    assert err.check(ConnectionLost) and err.value.sent is False
    assert "during SASL authentication" in str(err.value)


def test_cancel_during_negotiation_aborts_the_connection():
    runner = Deferring()
    layer, inner, tr, _ = make(run_blocking=runner)
    layer.authenticated.cancel()
    assert result_of(layer.authenticated).check(defer.CancelledError)
    assert tr.disconnecting or getattr(tr, "aborted", False) or tr.disconnected
    runner.release()  # the step finishing late sends nothing
    assert tr.value() == b""


def _open(qop="auth-conf"):
    layer, inner, tr, ctx = make(qop)
    for msg in server_script(QOPS[qop]):
        layer.dataReceived(msg)
    tr.clear()
    return layer, inner, tr


def test_connection_lost_after_auth_fails_pending_calls():
    layer, inner, tr = _open()
    d = inner.call("getTableNames")
    layer.connectionLost(Failure(ConnectionError("reset")))
    assert result_of(d).check(ConnectionLost)


def test_unencrypted_frame_under_auth_conf_drops_the_connection():
    layer, inner, tr = _open("auth-conf")
    d = inner.call("getTableNames")
    layer.dataReceived(frame(b"I:" + reply_bytes("getTableNames", 1, "buffered", "binary",
                                                 success=[])))
    assert tr.disconnecting or getattr(tr, "aborted", False)
    layer.connectionLost(Failure(ConnectionError("aborted")))
    f = result_of(d)
    assert f.check(ConnectionLost) and "unencrypted" in str(f.value)


def test_oversized_frame_drops_the_connection():
    layer, inner, tr, ctx = make("auth")
    layer.max_message_size = 100
    for msg in server_script(QOPS["auth"]):
        layer.dataReceived(msg)
    d = inner.call("getTableNames")
    layer.dataReceived((1000).to_bytes(4, "big"))
    layer.connectionLost(Failure(ConnectionError("aborted")))
    f = result_of(d)
    assert f.check(ConnectionLost) and isinstance(f.value.reason.value, ProtocolError)


def test_close_after_auth_closes_the_socket():
    layer, inner, tr = _open()
    inner.close()
    assert tr.disconnecting


def test_complete_before_client_is_done_is_refused():
    layer, inner, tr, _ = make()
    layer.dataReceived(sasl_message(COMPLETE, SERVER_TOKEN))
    assert result_of(layer.authenticated).check(AuthenticationError)


def test_security_layer_offer_of_wrong_size():
    layer, inner, tr, _ = make()
    layer.dataReceived(sasl_message(OK, SERVER_TOKEN) + sasl_message(OK, fake_wrap(b"\x04", False)))
    assert result_of(layer.authenticated).check(AuthenticationError)


# -- options -------------------------------------------------------------------


def test_options_are_checked_before_anything():
    assert sasl_options(None) is None
    o = sasl_options("kerberos", qop="auth-conf", kerberos_host="gw.example")
    assert (o.service, o.host, o.principal, o.qop) == ("hbase", "gw.example", None, "auth-conf")
    with pytest.raises(ValueError, match="auth"):
        sasl_options("digest")
    with pytest.raises(TypeError, match="auth"):
        sasl_options(1)
    with pytest.raises(ValueError, match="qop"):
        sasl_options("kerberos", qop="privacy")
    with pytest.raises(TypeError, match="kerberos_service"):
        sasl_options("kerberos", kerberos_service=1)
    with pytest.raises(ValueError, match="kerberos_principal"):
        sasl_options("kerberos", kerberos_principal="")
    with pytest.raises(ValueError, match="buffered"):
        sasl_options("kerberos", transport="framed")
    with pytest.raises(ValueError, match="SPNEGO"):
        sasl_options("kerberos", transport="https", qop="auth-conf")


def test_connection_passes_kerberos_options():
    from txhbase import Connection

    c = Connection("gw", 9090, auth="kerberos", qop="auth-int", kerberos_principal="me@R")
    assert c.sasl is not None and c.sasl.qop == "auth-int" and c.sasl.principal == "me@R"
    assert Connection("gw").sasl is None
    with pytest.raises(ValueError, match="qop"):
        Connection("gw", auth="kerberos", qop="none")
    with pytest.raises(ValueError, match="kerberos_host"):
        Connection("tcp:host=gw:port=9090", auth="kerberos")
    with pytest.raises(ValueError, match="buffered"):
        Connection("gw", auth="kerberos", transport="framed")
