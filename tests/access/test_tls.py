"""The clinic CA and the broker certificate: a real TLS handshake with Python's ssl module."""

from __future__ import annotations

import socket
import ssl
import stat
import threading

import pytest

from gaitstream.access.tls import create_tls_files


def _handshake(files, server_name: str, client_context: ssl.SSLContext) -> str:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files.broker_keystore)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with client_context.wrap_socket(raw, server_hostname=server_name) as tls:
                version = tls.version()
                tls.send(b"x")
                return version
    finally:
        thread.join(timeout=5)
        listener.close()


def test_clients_trusting_the_ca_verify_the_broker_by_name_and_address(tmp_path) -> None:
    files = create_tls_files(tmp_path / "tls", ["127.0.0.1", "kafka.clinic.lan"])
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    assert _handshake(files, "127.0.0.1", client) in ("TLSv1.3", "TLSv1.2")
    assert _handshake(files, "kafka.clinic.lan", client)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(files, "elsewhere.example", client)  # a name the certificate does not carry


def test_another_ca_is_not_trusted_and_keys_are_private(tmp_path) -> None:
    files = create_tls_files(tmp_path / "a", ["127.0.0.1"])
    other = create_tls_files(tmp_path / "b", ["127.0.0.1"])
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(files, "127.0.0.1", ssl.create_default_context(cafile=str(other.ca_cert)))
    for private in (files.ca_key, files.broker_keystore):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_existing_files_are_kept(tmp_path) -> None:
    first = create_tls_files(tmp_path / "tls", ["127.0.0.1"])
    ca = first.ca_cert.read_bytes()
    create_tls_files(tmp_path / "tls", ["127.0.0.1"])
    assert first.ca_cert.read_bytes() == ca  # stations already trust it
