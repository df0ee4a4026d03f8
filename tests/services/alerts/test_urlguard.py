"""Webhook and apprise targets: every special-purpose range refused, the connection pinned to the
address that was checked (real HTTP and HTTPS servers), apprise schemes allow-listed."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from gaitstream.services.alerts.urlguard import (
    UnsafeWebhookTarget,
    check_apprise_scheme,
    check_webhook_url,
    pinned,
)
from tests.postgres import free_port

REFUSED = [
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b:1::1",
    "100::1",
    "2001::1",
    "2001:db8::1",
    "2002:a00:1::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
]
ALLOWED = ["93.184.215.14", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_every_special_purpose_address_is_refused_unless_allowed(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeWebhookTarget, match="special-purpose"):
        check_webhook_url(f"https://{host}/hook", allow_private=False)
    assert check_webhook_url(f"https://{host}/hook", allow_private=True) == [ipaddress.ip_address(address)]


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    assert check_webhook_url(f"https://{host}/hook", allow_private=False) == [ipaddress.ip_address(address)]


@pytest.mark.parametrize("url", ["gotify://10.0.0.5/token", "mailto://user:pw@10.0.0.5", "pbul://x", "file:///etc"])
def test_apprise_schemes_outside_the_allow_list_are_refused(url: str, monkeypatch) -> None:
    monkeypatch.delenv("GAITSTREAM_ALERTS_APPRISE_SCHEMES", raising=False)
    with pytest.raises(UnsafeWebhookTarget, match="not allowed"):
        check_apprise_scheme(url)
    check_apprise_scheme("ntfy://ntfy.sh/topic")
    monkeypatch.setenv("GAITSTREAM_ALERTS_APPRISE_SCHEMES", "gotify")
    check_apprise_scheme("gotify://hooks.clinic.example/token")
    with pytest.raises(UnsafeWebhookTarget):
        check_apprise_scheme("ntfy://ntfy.sh/topic")


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Recorder.seen.append(self.headers["Host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _serve(tls: ssl.SSLContext | None = None):
    server = HTTPServer(("127.0.0.1", free_port()), _Recorder)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def test_the_request_goes_to_the_checked_address_and_never_resolves_the_name_again() -> None:
    """The host name does not resolve at all (.invalid): the request still reaches the address that
    was checked, naming the host in its Host header. A rebinding answer has nothing to change."""
    server = _serve()
    port = server.server_address[1]
    try:
        url, headers, extensions = pinned(f"http://hooks.clinic.invalid:{port}/hook", ipaddress.ip_address("127.0.0.1"))
        assert url == f"http://127.0.0.1:{port}/hook"
        with httpx.Client(timeout=5) as client:
            response = client.send(
                client.build_request("POST", url, content=b"{}", headers=headers, extensions=extensions)
            )
        assert response.status_code == 204
        assert _Recorder.seen[-1] == f"hooks.clinic.invalid:{port}"
    finally:
        server.shutdown()


def test_https_keeps_checking_the_certificate_against_the_host_name(tmp_path) -> None:
    from gaitstream.access.tls import create_tls_files

    files = create_tls_files(tmp_path / "tls", ["hooks.clinic.invalid"])
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(files.broker_keystore)
    server = _serve(server_tls)
    port = server.server_address[1]
    client_tls = ssl.create_default_context(cafile=str(files.ca_cert))
    try:
        address = ipaddress.ip_address("127.0.0.1")
        url, headers, extensions = pinned(f"https://hooks.clinic.invalid:{port}/hook", address)
        with httpx.Client(verify=client_tls, timeout=5) as client:
            request = client.build_request("POST", url, content=b"{}", headers=headers, extensions=extensions)
            assert client.send(request).status_code == 204
            # Pinned under another name, the certificate does not match: no blind TLS.
            url, headers, extensions = pinned(f"https://elsewhere.invalid:{port}/hook", address)
            with pytest.raises(httpx.ConnectError):
                client.send(client.build_request("POST", url, content=b"{}", headers=headers, extensions=extensions))
    finally:
        server.shutdown()
