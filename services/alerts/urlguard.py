"""Refuse webhook targets on private, loopback, link-local or otherwise internal addresses
unless the clinic explicitly allows them (a subscription must not turn the dispatcher into a
probe of the clinic's internal network). Checked when a subscription is saved and again at
every send (DNS may change between the two)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeWebhookTarget(ValueError):
    """The URL is malformed, not http(s), or resolves to an address the clinic did not allow."""


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise UnsafeWebhookTarget(f"webhook host {host!r} does not resolve: {error}") from error
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Raise ``UnsafeWebhookTarget`` naming the reason, or return when ``url`` may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookTarget(f"webhook URL must be http or https, got {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise UnsafeWebhookTarget(f"webhook URL has no host: {url!r}")
    if parts.username or parts.password:
        raise UnsafeWebhookTarget("webhook URL must not carry credentials; use the signing secret")
    if allow_private:
        return
    for address in resolve_addresses(parts.hostname):
        if _is_internal(address):
            raise UnsafeWebhookTarget(
                f"webhook host {parts.hostname!r} resolves to {address}, a private/loopback/link-local "
                "address; the clinic's settings must allow private webhooks for this target"
            )


# apprise notifiers that POST to a host the URL names: webhooks under another name.
APPRISE_HTTP_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


def apprise_http_host(url: str) -> str | None:
    """``http://host[:port]/`` for an apprise URL that posts to a host of the subscriber's choosing
    (``json://``, ``xml://``, ``form://`` and their ``s`` forms, a self-hosted ``ntfy://host/…``),
    ``None`` for hosted services (Slack, Teams, ntfy.sh, …) or a URL apprise does not know.
    Check the result with :func:`check_webhook_url`."""
    import apprise

    scheme = url.split("://", 1)[0].lower()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return None
    self_hosted_ntfy = scheme in ("ntfy", "ntfys") and str(getattr(plugin, "mode", "")).lower().endswith("private")
    if scheme not in APPRISE_HTTP_SCHEMES and not self_hosted_ntfy:
        return None
    host = getattr(plugin, "host", None)
    if not host:
        raise UnsafeWebhookTarget(f"apprise URL {scheme}:// has no host")
    port = f":{plugin.port}" if getattr(plugin, "port", None) else ""
    return f"http://[{host}]{port}/" if ":" in host else f"http://{host}{port}/"
