"""The GSSAPI (Kerberos) context the SASL layer needs, behind a small seam.

``GSSContext`` is what ``txhbase.protocol.sasl`` calls: ``step`` (may block on
a KDC round trip: the SASL layer runs it in a thread), ``wrap`` / ``unwrap``
(CPU only) and ``complete``. ``kerberos_context()`` builds one with ``ctypes``
over the system's MIT Kerberos library (``libgssapi_krb5.so.2``), loaded only
when Kerberos is used: no compiler and no Python package is needed, and the
base install stays free of it. Tests substitute a fake context with the same
four members.

Credentials come from the standard MIT environment: a ticket cache
(``KRB5CCNAME``, e.g. after ``kinit``), or a client keytab
(``KRB5_CLIENT_KTNAME``) from which the library fetches tickets itself, and
``KRB5_CONFIG`` for the realm and KDC. Every GSS failure becomes an
``AuthenticationError`` carrying the library's own message.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from ctypes import POINTER, byref, c_int, c_size_t, c_uint32, c_void_p
from typing import Any, Callable, List, Optional, Protocol, Tuple, TypeVar

from txhbase.errors import AuthenticationError

__all__ = ["GSSContext", "GSSError", "display_status", "gss_errors", "kerberos_context",
           "require_gssapi", "spnego_token"]

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


# -- the C API (RFC 2744) ---------------------------------------------------

class _Buffer(ctypes.Structure):
    """``gss_buffer_desc``."""
    _fields_ = [("length", c_size_t), ("value", c_void_p)]


class _OID(ctypes.Structure):
    """``gss_OID_desc``."""
    _fields_ = [("length", c_uint32), ("elements", c_void_p)]


def _oid(dotted: str) -> _OID:
    """A ``gss_OID_desc`` for a dotted OID (its DER contents octets, kept alive here)."""
    arcs = [int(a) for a in dotted.split(".")]
    der = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        septets = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            septets.append(0x80 | (arc & 0x7F))
        der += bytes(reversed(septets))
    elements = ctypes.create_string_buffer(bytes(der), len(der))
    _KEEP.append(elements)
    return _OID(len(der), ctypes.cast(elements, c_void_p))


_KEEP: List[Any] = []
NT_HOSTBASED_SERVICE = _oid("1.2.840.113554.1.2.1.4")  # GSS_C_NT_HOSTBASED_SERVICE
NT_KRB5_PRINCIPAL = _oid("1.2.840.113554.1.2.2.1")     # GSS_KRB5_NT_PRINCIPAL_NAME
KRB5_MECH = _oid("1.2.840.113554.1.2.2")               # what SASL GSSAPI uses
SPNEGO_MECH = _oid("1.3.6.1.5.5.2")                     # what HTTP Negotiate carries (RFC 4178)

_MUTUAL, _CONF, _INTEG = 2, 16, 32                      # GSS_C_*_FLAG
_INITIATE = 1                                           # GSS_C_INITIATE
_INDEFINITE = 0xFFFFFFFF                                # GSS_C_INDEFINITE
_GSS_CODE, _MECH_CODE = 1, 2                            # gss_display_status types
_CONTINUE_NEEDED = 1


def _failed(major: int) -> bool:
    """GSS_ERROR(): a calling or routine error (the low 16 bits are informatory)."""
    return bool(major & 0xFFFF0000)


_u32p, _bufp, _oidp = POINTER(c_uint32), POINTER(_Buffer), POINTER(_OID)
_handlep = POINTER(c_void_p)  # gss_name_t *, gss_cred_id_t *, gss_ctx_id_t *
_PROTOTYPES = {
    "gss_import_name": (_u32p, _bufp, _oidp, _handlep),
    "gss_acquire_cred": (_u32p, c_void_p, c_uint32, c_void_p, c_int, _handlep, c_void_p, c_void_p),
    "gss_init_sec_context": (_u32p, c_void_p, _handlep, c_void_p, _oidp, c_uint32, c_uint32,
                             c_void_p, _bufp, c_void_p, _bufp, _u32p, c_void_p),
    "gss_wrap": (_u32p, c_void_p, c_int, c_uint32, _bufp, POINTER(c_int), _bufp),
    "gss_unwrap": (_u32p, c_void_p, _bufp, _bufp, POINTER(c_int), _u32p),
    "gss_display_status": (_u32p, c_uint32, c_int, c_void_p, _u32p, _bufp),
    "gss_release_buffer": (_u32p, _bufp),
    "gss_release_name": (_u32p, _handlep),
    "gss_release_cred": (_u32p, _handlep),
    "gss_delete_sec_context": (_u32p, _handlep, c_void_p),
}
_LIB: Optional[ctypes.CDLL] = None
_LIB_LOCK = threading.Lock()


def require_gssapi() -> ctypes.CDLL:
    """Load (once) and return MIT's ``libgssapi_krb5``.

    Raises ImportError naming the package to install when it is missing.
    """
    global _LIB
    if _LIB is not None:  # the fast path of every wrap / unwrap
        return _LIB
    with _LIB_LOCK:
        if _LIB is None:
            name = ctypes.util.find_library("gssapi_krb5") or "libgssapi_krb5.so.2"
            try:
                lib = ctypes.CDLL(name)
                for fn, argtypes in _PROTOTYPES.items():
                    getattr(lib, fn).argtypes = argtypes
                    getattr(lib, fn).restype = c_uint32
            except (OSError, AttributeError) as e:
                raise ImportError(
                    f"auth='kerberos' needs the MIT Kerberos GSSAPI library ({name}): "
                    f"apt-get install libgssapi-krb5-2 (Debian/Ubuntu), "
                    f"dnf install krb5-libs (RPM): {e}") from e
            _LIB = lib
        return _LIB


class GSSError(Exception):
    """A failed GSS call; ``str()`` is the library's own major and minor messages."""

    def __init__(self, message: str, major: int, minor: int) -> None:
        super().__init__(message)
        self.major = major
        self.minor = minor


def _take(buf: _Buffer) -> bytes:
    """The bytes of a buffer the library allocated, which is then released."""
    try:
        return ctypes.string_at(buf.value, buf.length) if buf.length else b""
    finally:
        require_gssapi().gss_release_buffer(byref(c_uint32()), byref(buf))


def _in(data: bytes) -> _Buffer:
    """A buffer pointing into ``data`` (the caller keeps ``data`` alive during the call)."""
    return _Buffer(len(data), ctypes.cast(ctypes.c_char_p(data), c_void_p))


def display_status(major: int, minor: int) -> str:
    """The library's text for a status: every major message, then every minor one."""
    lib = require_gssapi()
    texts = []
    for code, kind in ((major, _GSS_CODE), (minor, _MECH_CODE)):
        more = c_uint32(0)
        while code:
            buf = _Buffer()
            if _failed(lib.gss_display_status(byref(c_uint32()), code, kind, None,
                                              byref(more), byref(buf))):
                texts.append(f"{'major' if kind == _GSS_CODE else 'minor'} status {code:#x}")
                break
            text = _take(buf).rstrip(b"\0").decode("utf-8", "replace")
            texts.append(" ".join(text.split()))
            if not more.value:
                break
    return ": ".join(t for t in texts if t)


def _call(fn: str, *args: Any, detail: str = "") -> int:
    """Call ``fn(&minor, *args)``; raise GSSError (``detail: message``) on failure."""
    minor = c_uint32()
    major: int = getattr(require_gssapi(), fn)(byref(minor), *args)
    if _failed(major):
        text = display_status(major, minor.value)
        raise GSSError(f"{detail}: {text}" if detail else text, major, minor.value)
    return major


def gss_errors(what: str, fn: Callable[..., _T], *args: Any) -> _T:
    """Call ``fn(*args)``, turning a ``GSSError`` into ``AuthenticationError("what: ...")``."""
    try:
        return fn(*args)
    except GSSError as e:
        raise AuthenticationError(f"{what}: {e}") from e


class _KerberosContext:
    """``GSSContext`` on ``gss_init_sec_context`` / ``gss_wrap`` / ``gss_unwrap``.

    Owns a target name, maybe a credential, and the context handle; all are
    released by ``close()`` (idempotent), at the latest on garbage collection.
    """

    def __init__(self, service: str, host: str, principal: Optional[str],
                 mech: _OID = KRB5_MECH, flags: int = _MUTUAL | _INTEG | _CONF) -> None:
        self._lib = require_gssapi()
        self.target = f"{service}@{host}"
        self.principal = principal
        self._mech, self._flags = mech, flags
        self._name, self._cred, self._ctx = c_void_p(), c_void_p(), c_void_p()
        self._complete = False

    @property
    def complete(self) -> bool:
        return self._complete

    def _import(self, text: str, name_type: _OID, out: c_void_p) -> None:
        data = text.encode()
        _call("gss_import_name", byref(_in(data)), byref(name_type), byref(out),
              detail=f"bad name {text!r}")

    def _start(self) -> None:
        """The target name and, for an explicit principal, its credentials."""
        self._import(self.target, NT_HOSTBASED_SERVICE, self._name)
        if self.principal is not None:
            who = c_void_p()
            self._import(self.principal, NT_KRB5_PRINCIPAL, who)
            try:
                _call("gss_acquire_cred", who, _INDEFINITE, None, _INITIATE, byref(self._cred),
                      None, None, detail=f"no Kerberos credentials for {self.principal}")
            finally:
                self._lib.gss_release_name(byref(c_uint32()), byref(who))

    def _step(self, token: bytes) -> bytes:
        if not self._name:
            try:
                self._start()
            except GSSError:
                self.close()  # a later step must not go on without the principal's credentials
                raise
        out = _Buffer()
        try:
            major = _call("gss_init_sec_context", self._cred, byref(self._ctx), self._name,
                          byref(self._mech), self._flags, 0, None,
                          byref(_in(token)) if token else None, None, byref(out), None, None)
        finally:
            reply = _take(out)  # released even when the call failed (an error token)
        self._complete = not major & _CONTINUE_NEEDED
        return reply

    def step(self, token: bytes) -> bytes:
        return gss_errors(f"Kerberos authentication to {self.target} failed", self._step, token)

    def wrap(self, data: bytes, encrypt: bool) -> bytes:
        out, conf = _Buffer(), c_int()
        try:
            gss_errors("GSS wrap failed", _call, "gss_wrap", self._ctx, int(encrypt), 0,
                       byref(_in(data)), byref(conf), byref(out))
        finally:
            wrapped = _take(out)
        return wrapped

    def unwrap(self, data: bytes) -> Tuple[bytes, bool]:
        out, conf = _Buffer(), c_int()
        try:
            gss_errors("GSS unwrap failed", _call, "gss_unwrap", self._ctx,
                       byref(_in(data)), byref(out), byref(conf), None)
        finally:
            plain = _take(out)
        return plain, bool(conf.value)

    def close(self) -> None:
        """Release the context, credential and name (each once; NULL handles are skipped)."""
        lib, minor = self._lib, c_uint32()
        if self._ctx:
            lib.gss_delete_sec_context(byref(minor), byref(self._ctx), None)
        if self._cred:
            lib.gss_release_cred(byref(minor), byref(self._cred))
        if self._name:
            lib.gss_release_name(byref(minor), byref(self._name))
        self._complete = False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown, or __init__ failed half-way
            pass


def kerberos_context(service: str, host: str, principal: Optional[str] = None) -> GSSContext:
    """A fresh Kerberos initiator context for ``service@host`` (one per connection).

    ``principal``: the client principal whose credentials to use (None: the
    default one of the ticket cache or client keytab). Raises ImportError when
    the GSSAPI library is missing; nothing else happens until the first ``step``.
    """
    return _KerberosContext(service, host, principal)


def spnego_token(service: str, host: str, principal: Optional[str] = None) -> bytes:
    """A fresh SPNEGO initiator token for ``service@host`` (for ``Authorization: Negotiate``).

    Blocking (the first call for a service may ask the KDC for a ticket): run it
    in a thread. A new context every call: HBase's HTTP gateway authenticates
    every request and its replay cache refuses a token seen before.
    Raises ``AuthenticationError`` with the GSS message.
    """
    ctx = _KerberosContext(service, host, principal, SPNEGO_MECH, _MUTUAL)
    try:
        return gss_errors(f"SPNEGO authentication to {ctx.target} failed", ctx._step, b"")
    finally:
        ctx.close()
