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


# Every special-purpose block of the IANA registries (RFC 6890 and its successors): none is an
# ordinary public internet host. Transition prefixes (NAT64, 6to4, Teredo) are refused whole:
# they embed an IPv4 address that may be internal.
SPECIAL_PURPOSE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # this network
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.31.196.0/24",  # AS112
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # direct delegation AS112
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",  # limited broadcast
        "::/128",  # unspecified
        "::1/128",  # loopback
        "::ffff:0:0/96",  # IPv4-mapped (checked as IPv4 first)
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo 2001::/32 included)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link local
        "ff00::/8",  # multicast
    )
)


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in SPECIAL_PURPOSE_NETWORKS if network.version == address.version)


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


def check_webhook_url(url: str, *, allow_private: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Raise ``UnsafeWebhookTarget`` naming the reason, or return the addresses ``url``'s host
    resolved to, every one of them allowed: connect to one of these (``pinned``), never resolve
    the name again (DNS rebinding)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookTarget(f"webhook URL must be http or https, got {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise UnsafeWebhookTarget(f"webhook URL has no host: {url!r}")
    if parts.username or parts.password:
        raise UnsafeWebhookTarget("webhook URL must not carry credentials; use the signing secret")
    addresses = resolve_addresses(parts.hostname)
    if allow_private:
        return addresses
    for address in addresses:
        if _is_internal(address):
            raise UnsafeWebhookTarget(
                f"webhook host {parts.hostname!r} resolves to {address}, a private/loopback/link-local or "
                "other special-purpose address (shared, documentation, transition, reserved); the "
                "clinic's settings must allow private webhooks for this target"
            )
    return addresses


def pinned(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[str, dict, dict]:
    """``(url, headers, extensions)`` for httpx that connect to ``address`` (the checked one) while
    the request still names the host: ``Host`` header, and for https the TLS server name (SNI and
    certificate check) through httpcore's ``sni_hostname`` extension."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    target = parts._replace(netloc=netloc).geturl()
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {"Host": host_header}, extensions


# apprise schemes a subscription may use unless the service's settings list others: the hosted
# services the README names, and the generic HTTP ones (checked like webhooks).
DEFAULT_APPRISE_SCHEMES = frozenset(
    {"json", "jsons", "xml", "xmls", "form", "forms", "ntfy", "ntfys", "slack", "msteams"}
)


def allowed_apprise_schemes() -> frozenset[str]:
    """``GAITSTREAM_ALERTS_APPRISE_SCHEMES`` (comma-separated), the defaults when unset."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _Schemes(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="GAITSTREAM_ALERTS_", extra="ignore")
        apprise_schemes: str = ",".join(sorted(DEFAULT_APPRISE_SCHEMES))

    return frozenset(x.strip().lower() for x in _Schemes().apprise_schemes.split(",") if x.strip())


def check_apprise_scheme(url: str, allowed: frozenset[str] | None = None) -> None:
    """Refuse an apprise URL whose scheme is not allow-listed (``gotify://`` or ``mailto://`` to an
    internal host would otherwise pass: apprise reaches many hosts a clinic did not mean)."""
    allowed = allowed_apprise_schemes() if allowed is None else allowed
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in allowed:
        raise UnsafeWebhookTarget(
            f"apprise scheme {scheme or 'none'!r} is not allowed; allowed: {', '.join(sorted(allowed))}"
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
