"""The ctypes binding of MIT's GSSAPI (txhbase/_gss.py), without a KDC.

Each test points the library at a ``krb5.conf`` whose default realm has no
KDC (and no DNS lookups), an empty ticket cache and no keytab, so every
failure is the library's own, reached without any network.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import struct
import subprocess
import sys

import pytest

from txhbase import _gss
from txhbase.errors import AuthenticationError

try:
    _gss.require_gssapi()
except ImportError as e:  # pragma: no cover - the MIT runtime is on every Debian/RPM system
    pytest.skip(str(e), allow_module_level=True)

REALM = "NOWHERE.INVALID"
KRB5_CONF = f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
"""
GSS_S_BAD_NAME = 2 << 16
GSS_S_FAILURE = 13 << 16
GSS_S_CALL_INACCESSIBLE_READ = 1 << 24


@pytest.fixture
def krb5_env(tmp_path, monkeypatch):
    """A realm without a KDC, an empty ticket cache, no client keytab."""
    conf = tmp_path / "krb5.conf"
    conf.write_text(KRB5_CONF)
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    monkeypatch.setenv("KRB5CCNAME", "FILE:" + str(tmp_path / "ccache"))
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "missing.keytab"))
    return tmp_path


def write_keytab(path, principal: str, realm: str) -> None:
    """A version-2 keytab with one random aes256 key for ``principal@realm``."""
    def counted(b: bytes) -> bytes:
        return struct.pack(">H", len(b)) + b

    parts = principal.split("/")
    entry = (struct.pack(">H", len(parts)) + counted(realm.encode())
             + b"".join(counted(p.encode()) for p in parts)
             + struct.pack(">IIBH", 1, 0, 1, 18) + counted(os.urandom(32)))
    path.write_bytes(b"\x05\x02" + struct.pack(">i", len(entry)) + entry)


class SpyLib:
    """Forwards to the real library, recording the names of the functions called."""

    def __init__(self, lib):
        self.lib = lib
        self.calls = []

    def __getattr__(self, name):
        fn = getattr(self.lib, name)

        def call(*args):
            self.calls.append(name)
            return fn(*args)
        return call


def test_oids_are_the_der_contents_of_the_standard_oids():
    def der(oid):
        return ctypes.string_at(oid.elements, oid.length)
    assert der(_gss.KRB5_MECH) == b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
    assert der(_gss.NT_HOSTBASED_SERVICE) == b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04"
    assert der(_gss.NT_KRB5_PRINCIPAL) == b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01"
    assert der(_gss.SPNEGO_MECH) == b"\x2b\x06\x01\x05\x05\x02"


def test_display_status_gives_the_library_text_of_every_part():
    assert _gss.display_status(GSS_S_BAD_NAME, 0) == "An invalid name was supplied"
    # a calling error and a routine error: two messages through message_context
    both = _gss.display_status(GSS_S_CALL_INACCESSIBLE_READ | GSS_S_FAILURE, 0)
    assert both.startswith("A required input parameter could not be read: Unspecified GSS failure")
    # a minor code the library does not know is still shown, not dropped
    assert _gss.display_status(GSS_S_FAILURE, 0x1234).endswith("minor status 0x1234")


def test_import_name_then_release_on_garbage_collection(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost")
    ctx._start()  # gss_import_name of hbase@localhost (no KDC needed)
    assert ctx._name
    spy = ctx._lib = SpyLib(ctx._lib)
    del ctx
    gc.collect()
    assert spy.calls == ["gss_release_name"]


def test_close_is_idempotent(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost")
    ctx._start()
    ctx.close()
    assert not ctx._name and not ctx._ctx and not ctx._cred
    spy = ctx._lib = SpyLib(ctx._lib)
    ctx.close()
    del ctx
    gc.collect()
    assert spy.calls == []


def test_no_credentials_is_authentication_error_with_the_library_message(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost")
    with pytest.raises(AuthenticationError) as e:
        ctx.step(b"")
    assert e.value.message.startswith("Kerberos authentication to hbase@localhost failed: ")
    assert "No Kerberos credentials available" in e.value.message
    assert isinstance(e.value.__cause__, _gss.GSSError)
    assert not ctx.complete


def test_unknown_realm_is_authentication_error_with_the_library_message(krb5_env, monkeypatch):
    # a client keytab lets the library ask for a ticket: there is no KDC for the realm
    write_keytab(krb5_env / "client.keytab", "client", REALM)
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(krb5_env / "client.keytab"))
    ctx = _gss.kerberos_context("hbase", "localhost")
    with pytest.raises(AuthenticationError, match=f'Cannot find KDC for realm "{REALM}"'):
        ctx.step(b"")


def test_explicit_principal_without_credentials_names_it(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost", principal=f"nobody@{REALM}")
    with pytest.raises(AuthenticationError,
                       match=f"no Kerberos credentials for nobody@{REALM}: No credentials"):
        ctx.step(b"")


def test_failed_credentials_leave_nothing_behind_and_fail_again(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost", principal=f"nobody@{REALM}")
    for _ in range(2):  # never falls back to the default credentials
        with pytest.raises(AuthenticationError,
                           match=f"no Kerberos credentials for nobody@{REALM}"):
            ctx.step(b"")
        assert not ctx._name and not ctx._cred and not ctx._ctx


def test_wrap_and_unwrap_before_the_context_exists(krb5_env):
    ctx = _gss.kerberos_context("hbase", "localhost")
    with pytest.raises(AuthenticationError, match="GSS wrap failed: .*No context"):
        ctx.wrap(b"data", True)
    with pytest.raises(AuthenticationError, match="GSS unwrap failed: .*No context"):
        ctx.unwrap(b"data")


def test_spnego_token_failure_and_release(krb5_env, monkeypatch):
    released = []
    monkeypatch.setattr(_gss._KerberosContext, "close",
                        lambda self: released.append(self.target))
    with pytest.raises(AuthenticationError,
                       match="SPNEGO authentication to HTTP@localhost failed: No credentials"):
        _gss.spnego_token("HTTP", "localhost")
    assert released[:1] == ["HTTP@localhost"]


def test_missing_library_names_the_packages(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(_gss, "_LIB", None)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    with pytest.raises(ImportError, match=r"libgssapi_krb5\.so\.2.*libgssapi-krb5-2.*krb5-libs"):
        _gss.kerberos_context("hbase", "localhost", "x@Y")  # a half-built context: no error on GC
    gc.collect()


def test_the_library_is_loaded_only_for_kerberos_and_python_gssapi_never():
    code = ("import sys, txhbase, txhbase.protocol.sasl, txhbase._gss as g\n"
            "assert g._LIB is None\n"
            "g.require_gssapi()\n"
            "assert g._LIB is not None and 'gssapi' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_kinit_missing_skips_unless_ci_requires_it(monkeypatch):
    from tests.kerberos.test_real_kerberos import require_kinit

    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("TXHBASE_REQUIRE_HBASE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="kinit is not installed"):
        require_kinit()
    monkeypatch.setenv("TXHBASE_REQUIRE_HBASE", "1")
    with pytest.raises(pytest.fail.Exception, match="kinit is not installed"):
        require_kinit()
