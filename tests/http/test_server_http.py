"""The embedded gateway in HTTP mode answers as HBase 2.6.1's ThriftHttpServlet
(behind Jetty) does: POST on any path with one binary message, reply
``application/x-thrift``; GET 500, TRACE and OPTIONS 403, PUT 405; a
compact-protocol or truncated body 500. And ``python -m txhbase.server
--transport http`` serves it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from txhbase.protocol.client import METHODS
from txhbase.protocol.codec import CALL, REPLY, make_codec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def srv():
    from txhbase import server as embedded

    s = embedded.listen(0, transport="http")
    yield s
    pytest_twisted.blockon(s.stop())


def body(name, protocol="binary", seqid=7):
    spec = METHODS[name]
    return make_codec(protocol).encode(name, CALL, seqid, spec.args_cls())


async def request(srv, method, data=None, path=b"/"):
    from io import BytesIO

    agent = Agent(reactor)
    producer = FileBodyProducer(BytesIO(data)) if data is not None else None
    resp = await agent.request(method, b"http://127.0.0.1:%d%s" % (srv.port, path),
                               Headers({b"Content-Type": [b"application/x-thrift"]}), producer)
    return resp, await readBody(resp)


@pytest.mark.parametrize("path", [b"/", b"/thrift", b"/a/b?c=d"])
@pytest_twisted.ensureDeferred
async def test_post_on_any_path_is_one_call(srv, path):
    resp, data = await request(srv, b"POST", body("getTableNames"), path)
    assert resp.code == 200
    assert resp.headers.getRawHeaders(b"Content-Type") == [b"application/x-thrift"]
    spec = METHODS["getTableNames"]
    name, mtype, seqid, result = make_codec("binary").decode(
        data, lambda n, m, s: spec.result_cls())
    assert (name, mtype, seqid) == ("getTableNames", REPLY, 7)
    assert isinstance(result.success, list)


@pytest.mark.parametrize("method, code", [(b"GET", 500), (b"TRACE", 403), (b"OPTIONS", 403),
                                          (b"PUT", 405), (b"DELETE", 405)])
@pytest_twisted.ensureDeferred
async def test_other_methods_answer_as_hbase(srv, method, code):
    resp, _ = await request(srv, method, b"" if method in (b"PUT",) else None)
    assert resp.code == code


@pytest.mark.parametrize("data", [body("getTableNames", "compact"), body("getTableNames")[:9],
                                  b""], ids=["compact", "truncated", "empty"])
@pytest_twisted.ensureDeferred
async def test_a_body_that_is_not_one_binary_call_is_500(srv, data):
    resp, _ = await request(srv, b"POST", data)
    assert resp.code == 500
    resp, _ = await request(srv, b"POST", body("getTableNames"))  # still serving
    assert resp.code == 200


@pytest_twisted.ensureDeferred
async def test_it_records_request_headers(srv):
    from io import BytesIO

    agent = Agent(reactor)
    resp = await agent.request(b"POST", b"http://127.0.0.1:%d/" % srv.port,
                               Headers({b"doAs": [b"carol"], b"X-Custom": [b"1"]}),
                               FileBodyProducer(BytesIO(body("getTableNames"))))
    await readBody(resp)
    seen = srv.http_requests[-1]
    assert seen["doas"] == "carol" and seen["x-custom"] == "1"


def test_listen_checks_http_arguments():
    from txhbase import server as embedded

    with pytest.raises(ValueError, match="protocol"):
        embedded.listen(0, transport="http", protocol="compact")
    with pytest.raises(ValueError, match="tls_cert"):
        embedded.listen(0, transport="https")
    with pytest.raises(ValueError, match="tls_cert"):
        embedded.listen(0, transport="buffered", tls_cert="c.pem", tls_key="k.pem")


def _run_cli_then_sample(args, sample_args, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "txhbase.server", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line + proc.stderr.read()
        port = line.split("listening on ")[1].split()[0].rsplit(":", 1)[1]
        out = subprocess.run([sys.executable, os.path.join(ROOT, "sample.py"), "--host",
                              "localhost", "--port", port, *sample_args],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        return line, out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_serves_http_and_sample_runs_against_it(tmp_path):
    line, out = _run_cli_then_sample(["--transport", "http"], ["--transport", "http"], tmp_path)
    assert "(http/binary" in line
    assert out.returncode == 0, out.stdout + out.stderr
    assert "success" in out.stdout


def test_cli_serves_https_and_sample_runs_against_it(tmp_path, pki):
    line, out = _run_cli_then_sample(
        ["--transport", "http", "--tls-cert", pki.server_cert, "--tls-key", pki.server_key],
        ["--transport", "https", "--tls-ca", pki.ca, "--proxy-user", "dave"], tmp_path)
    assert "(https/binary" in line
    assert out.returncode == 0, out.stdout + out.stderr


def test_sample_starts_its_own_http_server(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "sample.py"), "--transport",
                          "http"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest_twisted.ensureDeferred
async def test_https_server_closing_idle_connections_is_seen_by_the_client(pki):
    """close() (stop(), idle close) must reach a TLS client: with the channel
    still registered as its transport's producer, TLS sent no close_notify, the
    connection stayed open but dead, and the next call timed out."""
    import txhbase
    from twisted.internet import task
    from txhbase import server as embedded

    server = embedded.listen(0, transport="https", tls_cert=pki.server_cert,
                             tls_key=pki.server_key)
    try:
        async with txhbase.Connection("127.0.0.1", server.port, transport="https",
                                      tls_ca=pki.ca, timeout=5000) as conn:
            await conn.tables()
            assert server._factory.connections
            for p in list(server._factory.connections):
                p.close()
            for _ in range(100):
                if not server._factory.connections:
                    break
                await task.deferLater(reactor, 0.01, lambda: None)
            assert not server._factory.connections  # closed: the client answered close_notify
            assert await conn.tables() == []  # a new connection, no error
    finally:
        await server.stop()
