"""Throwaway certificate authorities and certificates for the HTTPS tests.

Made with the ``cryptography`` package (pyOpenSSL, which Twisted's TLS
needs, depends on it): a CA, a server certificate for ``localhost`` and
``127.0.0.1`` signed by it, and a client certificate, all written as PEM
files into a directory.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class TLSFiles:
    """Paths of the PEM files of one throwaway PKI."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: Optional[Tuple[str, Any]],
          *, ca: bool = False, san: Tuple[str, ...] = (), client: bool = False
          ) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, issuer_key = (subject, key) if issuer is None else issuer
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject)).issuer_name(_name(issuer_name))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    else:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if san:
        names: list = []
        for n in san:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                names.append(x509.DNSName(n))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_pki(directory: str, name: str = "test",
             server_names: Tuple[str, ...] = ("localhost", "127.0.0.1")) -> TLSFiles:
    """A CA, a server certificate (for ``server_names``) and a client
    certificate, written as PEM files under ``directory``."""
    os.makedirs(directory, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(f"txhbase {name} CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert(server_names[0], server_key, (f"txhbase {name} CA", ca_key),
                   san=server_names)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert("txhbase-client", client_key, (f"txhbase {name} CA", ca_key), client=True)

    def p(f: str) -> str:
        return os.path.join(directory, f"{name}-{f}")

    pem = serialization.Encoding.PEM
    return TLSFiles(
        ca=_write(p("ca.pem"), ca.public_bytes(pem)),
        server_cert=_write(p("server.pem"), server.public_bytes(pem)),
        server_key=_write(p("server-key.pem"), _key_pem(server_key)),
        client_cert=_write(p("client.pem"), client.public_bytes(pem)),
        client_key=_write(p("client-key.pem"), _key_pem(client_key)),
    )
