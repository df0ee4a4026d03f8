"""The clinic's own certificate authority and the broker certificate it signs (PEM files).

Kafka reads PEM directly (``ssl.keystore.type=PEM``), clients verify the broker against the CA
file, so a deployment needs no keytool and no public CA. Created once per deployment: by the
local stack at its first ``up`` and by compose's ``kafka-tls`` service.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

CA_VALIDITY_DAYS = 3650
# Two years: short enough that a lost key expires, long enough for a clinic's maintenance cycle.
SERVER_VALIDITY_DAYS = 730
# The broker's own principal on the mTLS controller listener (super user, see gaitstream.stack.kafka).
BROKER_COMMON_NAME = "gaitstream-broker"


@dataclass(frozen=True)
class TlsFiles:
    """Where a deployment's TLS material lives (one directory, private keys mode 600)."""

    directory: Path
    # The CA's private key elsewhere (compose: a volume only the kafka-tls service mounts).
    ca_key_directory: Path | None = None

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return (self.ca_key_directory or self.directory) / "ca.key"

    @property
    def broker_keystore(self) -> Path:
        """Private key (PKCS#8) + certificate chain, as Kafka's PEM keystore wants. Not encrypted:
        Java 17 cannot read PKCS#8 PBES2 (``PBES2 SecretKeyFactory not available``), and a password
        beside the file would protect nothing; the file is mode 600 (compose: a secret)."""
        return self.directory / "broker-keystore.pem"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.ca_cert, self.ca_key, self.broker_keystore))


def _subject(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gaitstream"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hosts: list[str]):
    from cryptography import x509

    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_ca(common_name: str = "gaitstream clinic CA", *, now: dt.datetime | None = None):
    """A new CA: ``(private_key, certificate)`` (ECDSA P-256, a path length of 0)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _subject(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(ca_key, ca_cert, hosts: list[str], *, common_name: str = BROKER_COMMON_NAME, now=None):
    """A certificate for ``hosts`` (DNS names or IP addresses) signed by the CA, usable as a TLS
    server and as a TLS client (the broker connects to its own controller listener with it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if not hosts:
        raise ValueError("hosts must name at least one DNS name or IP address the broker is reached by")
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(hosts), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def create_tls_files(
    directory: Path,
    hosts: list[str],
    *,
    ca_key_directory: Path | None = None,
    keystore_owner: tuple[int, int] | None = None,
) -> TlsFiles:
    """Write a new CA and a broker keystore for ``hosts`` into ``directory`` (kept when complete:
    stations already trust that CA). ``keystore_owner``: (uid, gid) the broker runs as (compose:
    the kafka image's user). Returns the files."""
    from cryptography.hazmat.primitives import serialization

    files = TlsFiles(directory, ca_key_directory)
    if files.complete():
        return files
    for folder in {directory, ca_key_directory or directory}:
        folder.mkdir(parents=True, exist_ok=True)
    if ca_key_directory is None:
        os.chmod(directory, 0o700)
    ca_key, ca_cert = make_ca()
    key, cert = make_server_cert(ca_key, ca_cert, hosts)
    pem = serialization.Encoding.PEM
    files.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    _write_private(
        files.ca_key,
        ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(
        files.broker_keystore,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem)
        + ca_cert.public_bytes(pem),
    )
    if keystore_owner is not None:
        os.chown(files.broker_keystore, *keystore_owner)
    return files
