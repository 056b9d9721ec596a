"""The HTTP(S) options of a Connection, checked once, and the TLS they imply.

``http_options`` is the one place ``http_path``, ``headers``, ``proxy_user``
(HBase's ``doAs`` header), ``http_connections`` and the ``tls_*`` options are
checked (TypeError / ValueError naming the argument, before anything is
sent; certificate files are read here, once); ``tls_creator`` turns them
into the TLS client side of one connection.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional

from txhbase._options import HTTP_TRANSPORTS

__all__ = ["DEFAULT_HTTP_CONNECTIONS", "HTTPOptions", "http_options", "tls_creator"]

#: Persistent connections per gateway unless ``http_connections`` says otherwise.
DEFAULT_HTTP_CONNECTIONS = 4

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_RESERVED = {"content-length", "transfer-encoding", "host", "connection"}


class HTTPOptions:
    """Checked HTTP settings of a Connection (see ``http_options``)."""

    def __init__(self, scheme: str, path: bytes, headers: Dict[bytes, bytes],
                 connections: int, trust: Any, client_cert: Any, verify: bool) -> None:
        self.scheme = scheme
        self.path = path
        self.headers = headers
        self.connections = connections
        self.trust = trust
        self.client_cert = client_cert
        self.verify = verify


def _text(value: Any, argname: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
            raise ValueError(f"'{argname}' is not valid text") from None
    if not isinstance(value, str):
        raise TypeError(f"'{argname}' must be a str, not {type(value).__name__}")
    return value


def _header_value(value: Any, argname: str) -> bytes:
    text = _text(value, argname)
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"'{argname}' must not contain CR, LF or NUL: {text!r}")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"'{argname}' must be Latin-1 text: {text!r}") from None


def _read_pem(path: Any, argname: str) -> bytes:
    if not isinstance(path, str):
        raise TypeError(f"'{argname}' must be a path (str), not {type(path).__name__}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"'{argname}': cannot read {path!r}: {e.strerror}") from None
    if b"-----BEGIN" not in data:
        raise ValueError(f"'{argname}': {path!r} is not a PEM file")
    return data


def _trust_root(path: str) -> Any:
    """Every certificate of the PEM file ``path`` as one trust root."""
    from twisted.internet.ssl import Certificate, trustRootFromCertificates

    data = _read_pem(path, "tls_ca")
    end = b"-----END CERTIFICATE-----"
    certs = []
    for block in data.split(end)[:-1]:
        try:
            certs.append(Certificate.loadPEM(block + end + b"\n"))
        except Exception as e:
            raise ValueError(f"'tls_ca': {path!r} holds a bad certificate: {e}") from None
    if not certs:
        raise ValueError(f"'tls_ca': {path!r} holds no certificate")
    return trustRootFromCertificates(certs)  # type: ignore[no-untyped-call]


def http_options(transport: str, protocol: str = "binary", *, http_path: Any = "/",
                 headers: Optional[Mapping[Any, Any]] = None, tls_ca: Optional[str] = None,
                 tls_client_cert: Optional[str] = None, tls_client_key: Optional[str] = None,
                 tls_verify: bool = True, proxy_user: Optional[str] = None,
                 http_connections: int = DEFAULT_HTTP_CONNECTIONS) -> Optional[HTTPOptions]:
    """Check the HTTP options of a Connection; None for a socket transport.

    The one place these options are checked: wrong types raise TypeError and
    wrong values ValueError, naming the argument, before anything is sent.
    Certificate files are read here (once), so a bad path fails at once.
    """
    if transport not in HTTP_TRANSPORTS:
        given = [name for name, value, default in (
            ("http_path", http_path, "/"), ("headers", headers, None), ("tls_ca", tls_ca, None),
            ("tls_client_cert", tls_client_cert, None), ("tls_client_key", tls_client_key, None),
            ("tls_verify", tls_verify, True), ("proxy_user", proxy_user, None),
            ("http_connections", http_connections, DEFAULT_HTTP_CONNECTIONS),
        ) if value != default]
        if given:
            raise ValueError(f"'{given[0]}' needs transport='http' or 'https', "
                             f"not {transport!r}")
        return None
    if protocol != "binary":
        raise ValueError(f"'protocol' must be 'binary' with transport={transport!r} "
                         f"(HBase's HTTP gateway speaks only the binary protocol), "
                         f"not {protocol!r}")
    path = _text(http_path, "http_path")
    if not path.startswith("/") or any(c.isspace() or c in "#\0" for c in path):
        raise ValueError(f"'http_path' must be a URL path starting with '/', not {path!r}")
    try:
        path_bytes = path.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"'http_path' must be ASCII (percent-encode the rest): {path!r}") \
            from None
    out: Dict[bytes, bytes] = {}
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise TypeError(f"'headers' must be a dict of header names to values, "
                            f"not {type(headers).__name__}")
        for name, value in headers.items():
            text = _text(name, "headers")
            if not _TOKEN.match(text):
                raise ValueError(f"'headers': {text!r} is not a valid header name")
            if text.lower() in _RESERVED:
                raise ValueError(f"'headers': {text!r} is set by the HTTP client, not by you")
            out[text.encode("ascii")] = _header_value(value, f"headers[{text!r}]")
    if proxy_user is not None:
        user = _header_value(proxy_user, "proxy_user")
        if not user:
            raise ValueError("'proxy_user' must not be empty")
        out[b"doAs"] = user  # ThriftHttpServlet reads the header ``doAs``
    if isinstance(http_connections, bool) or not isinstance(http_connections, int):
        raise TypeError(f"'http_connections' must be an int, not {http_connections!r}")
    if not 1 <= http_connections <= 1024:
        raise ValueError(f"'http_connections' must be in 1..1024, not {http_connections}")
    if not isinstance(tls_verify, bool):
        raise TypeError(f"'tls_verify' must be a bool, not {type(tls_verify).__name__}")
    trust = client = None
    if transport == "http":
        for name, value in (("tls_ca", tls_ca), ("tls_client_cert", tls_client_cert),
                            ("tls_client_key", tls_client_key)):
            if value is not None:
                raise ValueError(f"'{name}' needs transport='https', not 'http'")
        if not tls_verify:
            raise ValueError("'tls_verify' needs transport='https', not 'http'")
    else:
        if tls_ca is not None:
            trust = _trust_root(tls_ca)
        if (tls_client_cert is None) != (tls_client_key is None):
            raise ValueError("'tls_client_cert' and 'tls_client_key' go together")
        if tls_client_cert is not None:
            from twisted.internet.ssl import PrivateCertificate

            pem = (_read_pem(tls_client_cert, "tls_client_cert") + b"\n"
                   + _read_pem(tls_client_key, "tls_client_key"))
            try:
                client = PrivateCertificate.loadPEM(pem)  # type: ignore[no-untyped-call]
            except Exception as e:
                raise ValueError(f"'tls_client_cert'/'tls_client_key': cannot load: {e}") \
                    from None
    return HTTPOptions(transport, path_bytes, out, http_connections, trust, client, tls_verify)


class _NoVerify:
    """A TLS connection creator that does not check the server's certificate
    (``tls_verify=False``, asked for explicitly)."""

    def __init__(self, client_cert: Any) -> None:
        from twisted.internet.ssl import CertificateOptions

        kwargs: Dict[str, Any] = {"verify": False}
        if client_cert is not None:
            kwargs.update(certificate=client_cert.original,
                          privateKey=client_cert.privateKey.original)
        self._ctx = CertificateOptions(**kwargs).getContext()

    def clientConnectionForTLS(self, tls_protocol: Any) -> Any:
        from OpenSSL import SSL

        conn = SSL.Connection(self._ctx, None)
        conn.set_app_data(tls_protocol)
        return conn


def tls_creator(host: str, opts: HTTPOptions) -> Any:
    """The TLS connection creator for ``host`` under ``opts`` (CA, client cert, verify)."""
    if not opts.verify:
        from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
        from zope.interface import directlyProvides

        creator = _NoVerify(opts.client_cert)
        directlyProvides(creator, IOpenSSLClientConnectionCreator)
        return creator
    from twisted.internet.ssl import optionsForClientTLS

    return optionsForClientTLS(host, trustRoot=opts.trust, clientCertificate=opts.client_cert)
