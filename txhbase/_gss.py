"""The GSSAPI (Kerberos) context the SASL layer needs, behind a small seam.

``GSSContext`` is what ``txhbase.protocol.sasl`` calls: ``step`` (may block on
a KDC round trip: the SASL layer runs it in a thread), ``wrap`` / ``unwrap``
(CPU only) and ``complete``. ``kerberos_context()`` builds one on the
``gssapi`` package (python-gssapi, the ``txhbase[kerberos]`` extra), imported
only here and only when Kerberos is used, so the base install stays free of
it. Tests substitute a fake context with the same four members.

Credentials come from the standard MIT/Heimdal environment: a ticket cache
(``KRB5CCNAME``, e.g. after ``kinit``), or a client keytab
(``KRB5_CLIENT_KTNAME``) from which the library fetches tickets itself, and
``KRB5_CONFIG`` for the realm and KDC. Every GSS failure becomes an
``AuthenticationError`` carrying the library's own message.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Tuple, TypeVar

from txhbase.errors import AuthenticationError

__all__ = ["GSSContext", "kerberos_context", "require_gssapi", "gss_errors", "spnego_token"]

_T = TypeVar("_T")


class GSSContext(Protocol):
    """An initiator's GSS security context (what the SASL GSSAPI mechanism uses)."""

    @property
    def complete(self) -> bool:
        """True once the context is established."""
        ...

    def step(self, token: bytes) -> bytes:
        """Process the acceptor's token (``b''`` first); return the token to send."""
        ...

    def wrap(self, data: bytes, encrypt: bool) -> bytes:
        """Protect ``data`` (integrity, and confidentiality when ``encrypt``)."""
        ...

    def unwrap(self, data: bytes) -> Tuple[bytes, bool]:
        """Check (and decrypt) a wrapped message; returns (data, was_encrypted)."""
        ...


def require_gssapi() -> Any:
    """Import and return the ``gssapi`` module, or raise ImportError saying how to get it."""
    try:
        import gssapi
    except ImportError as e:
        raise ImportError(
            "auth='kerberos' needs the gssapi package: pip install 'txhbase[kerberos]' "
            "(it builds against MIT Kerberos: apt-get install libkrb5-dev gcc)") from e
    return gssapi


def gss_errors(what: str, fn: Callable[..., _T], *args: Any) -> _T:
    """Call ``fn(*args)``, turning any GSS failure into ``AuthenticationError``."""
    try:
        return fn(*args)
    except AuthenticationError:
        raise
    except Exception as e:  # gssapi.exceptions.GSSError and friends
        gen_message = getattr(e, "gen_message", None)
        text = gen_message() if callable(gen_message) else str(e)
        raise AuthenticationError(f"{what}: {' '.join(str(text).split())}") from e


class _KerberosContext:
    """``GSSContext`` on python-gssapi's ``SecurityContext``."""

    def __init__(self, service: str, host: str, principal: Optional[str]) -> None:
        gssapi = require_gssapi()
        self._gssapi = gssapi
        self.target = f"{service}@{host}"
        self.principal = principal
        self._ctx: Any = None

    def _start(self) -> Any:
        gssapi = self._gssapi
        target = gssapi.Name(self.target, gssapi.NameType.hostbased_service)
        creds = None
        if self.principal is not None:
            who = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
            creds = gss_errors(f"no Kerberos credentials for {self.principal}",
                               lambda: gssapi.Credentials(name=who, usage="initiate"))
        flags = [gssapi.RequirementFlag.mutual_authentication,
                 gssapi.RequirementFlag.integrity,
                 gssapi.RequirementFlag.confidentiality]
        return gssapi.SecurityContext(name=target, creds=creds, usage="initiate",
                                      flags=flags)

    @property
    def complete(self) -> bool:
        return bool(self._ctx is not None and self._ctx.complete)

    def step(self, token: bytes) -> bytes:
        what = f"Kerberos authentication to {self.target} failed"
        if self._ctx is None:
            self._ctx = gss_errors(what, self._start)
        out = gss_errors(what, self._ctx.step, token or None)
        return bytes(out or b"")

    def wrap(self, data: bytes, encrypt: bool) -> bytes:
        return bytes(gss_errors("GSS wrap failed", self._ctx.wrap, data, encrypt).message)

    def unwrap(self, data: bytes) -> Tuple[bytes, bool]:
        res = gss_errors("GSS unwrap failed", self._ctx.unwrap, data)
        return bytes(res.message), bool(res.encrypted)


def kerberos_context(service: str, host: str, principal: Optional[str] = None) -> GSSContext:
    """A fresh Kerberos initiator context for ``service@host`` (one per connection).

    ``principal``: the client principal whose credentials to use (None: the
    default one of the ticket cache or client keytab). Raises ImportError when
    ``gssapi`` is missing; nothing else happens until the first ``step``.
    """
    return _KerberosContext(service, host, principal)


#: SPNEGO's mechanism OID (RFC 4178), what HTTP ``Negotiate`` carries.
_SPNEGO_OID = "1.3.6.1.5.5.2"


def spnego_token(service: str, host: str, principal: Optional[str] = None) -> bytes:
    """A fresh SPNEGO initiator token for ``service@host`` (for ``Authorization: Negotiate``).

    Blocking (the first call for a service may ask the KDC for a ticket): run it
    in a thread. A new context every call: HBase's HTTP gateway authenticates
    every request and its replay cache refuses a token seen before.
    Raises ``AuthenticationError`` with the GSS message.
    """
    gssapi = require_gssapi()
    target = f"{service}@{host}"

    def make() -> bytes:
        name = gssapi.Name(target, gssapi.NameType.hostbased_service)
        creds = None
        if principal is not None:
            who = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
            creds = gssapi.Credentials(name=who, usage="initiate")
        mech = gssapi.OID.from_int_seq(_SPNEGO_OID)
        ctx = gssapi.SecurityContext(name=name, creds=creds, usage="initiate", mech=mech,
                                     flags=[gssapi.RequirementFlag.mutual_authentication])
        return bytes(ctx.step(None) or b"")

    return gss_errors(f"SPNEGO authentication to {target} failed", make)
