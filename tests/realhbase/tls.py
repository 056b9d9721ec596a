"""A throwaway certificate authority and server keystore made with the JDK's ``keytool``.

HBase's Thrift gateway does TLS only in HTTP mode, from a Java keystore. The
harness makes, in a directory of its own:

* ``ca.p12`` / ``ca.pem``: a CA (basicConstraints CA:true); the PEM is what
  clients trust (``tls_ca``);
* ``server.p12``: the gateway's PKCS#12 keystore, a key for ``CN=localhost``
  with ``SAN=dns:localhost,ip:127.0.0.1`` signed by that CA, chain included.

Only ``keytool`` is needed (it comes with the JDK that runs HBase), so CI needs
no openssl and no Python crypto package. Six keytool runs with EC keys; each is
a JVM start (2-3 s on a busy machine), so the harness makes them while HBase
boots.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["TlsFiles", "make_tls"]


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA and the server keystore are, and the keystore's password."""

    directory: str
    ca_pem: str
    ca_keystore: str
    server_keystore: str
    password: str
    keystore_type: str = "pkcs12"

    def gateway_settings(self) -> dict[str, str]:
        """The ``hbase.thrift.ssl.*`` properties serving this keystore."""
        return {
            "hbase.thrift.ssl.enabled": "true",
            "hbase.thrift.ssl.keystore.store": self.server_keystore,
            "hbase.thrift.ssl.keystore.password": self.password,
            "hbase.thrift.ssl.keystore.keypassword": self.password,
            "hbase.thrift.ssl.keystore.type": self.keystore_type,
        }


def _keytool(directory: str, *args: str) -> None:
    tool = shutil.which("keytool")
    if not tool:
        raise RuntimeError("keytool (from the JDK) is not on PATH: cannot make the HTTPS keystore")
    proc = subprocess.run([tool, *args], cwd=directory, capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed ({proc.returncode}): "
                           f"{(proc.stdout + proc.stderr)[-2000:]}")


def make_tls(directory: str, days: int = 30) -> TlsFiles:
    """Create a CA and a CA-signed ``localhost`` keystore in ``directory``."""
    os.makedirs(directory, exist_ok=True)
    pw = secrets.token_hex(12)
    files = TlsFiles(directory, os.path.join(directory, "ca.pem"),
                     os.path.join(directory, "ca.p12"), os.path.join(directory, "server.p12"), pw)
    store = ["-storetype", "pkcs12", "-storepass", pw]
    validity = ["-validity", str(days)]
    _keytool(directory, "-genkeypair", "-alias", "ca", "-dname", "CN=txhbase test CA",
             "-keyalg", "EC", "-groupname", "secp256r1", *validity, "-ext", "bc:c",
             "-keystore", files.ca_keystore, "-keypass", pw, *store)
    _keytool(directory, "-exportcert", "-rfc", "-alias", "ca", "-keystore", files.ca_keystore,
             "-file", files.ca_pem, *store)
    _keytool(directory, "-genkeypair", "-alias", "server", "-dname", "CN=localhost",
             "-keyalg", "EC", "-groupname", "secp256r1", *validity,
             "-keystore", files.server_keystore, "-keypass", pw, *store)
    csr = os.path.join(directory, "server.csr")
    signed = os.path.join(directory, "server.pem")
    _keytool(directory, "-certreq", "-alias", "server", "-keystore", files.server_keystore,
             "-file", csr, *store)
    _keytool(directory, "-gencert", "-alias", "ca", "-keystore", files.ca_keystore,
             "-infile", csr, "-outfile", signed, "-rfc", *validity,
             "-ext", "SAN=dns:localhost,ip:127.0.0.1",
             "-ext", "KU=digitalSignature", "-ext", "EKU=serverAuth", *store)
    # the reply holds only the leaf: keytool needs the CA in the keystore to chain it
    with open(files.ca_pem) as f, open(signed, "a") as out:
        out.write(f.read())
    _keytool(directory, "-importcert", "-noprompt", "-alias", "server", "-file", signed,
             "-keystore", files.server_keystore, *store)
    return files
