"""Chat and push services through apprise (Slack ``slack://``, Teams ``workflows://``/``msteams://``,
ntfy ``ntfy://``, and the rest apprise knows), one URL per subscription.

Apprise's generic HTTP notifiers (``json://``, ``xml://``, ``form://`` and their ``s`` forms)
and a self-hosted ntfy are webhooks under another name: their host goes through the same
``urlguard`` check as our webhooks (refused on private/loopback addresses unless the clinic
allows), at every send. Hosted services (Slack, Teams, ntfy.sh, ...) are reached at their
vendors' addresses.
"""

from __future__ import annotations

from gaitstream.services.alerts.dispatch.channels import Target
from gaitstream.services.alerts.dispatch.exceptions import DeliveryError
from gaitstream.services.alerts.dispatch.messages import Message
from gaitstream.services.alerts.urlguard import (
    UnsafeWebhookTarget,
    apprise_http_host,
    check_apprise_scheme,
    check_webhook_url,
)


def _guard(target: Target) -> None:
    """The API's rule at subscription time (``urlguard.apprise_http_host``), again at every send."""
    try:
        check_apprise_scheme(target.address)
        host_url = apprise_http_host(target.address)
        if host_url is not None:
            check_webhook_url(host_url, allow_private=target.allow_private)
    except UnsafeWebhookTarget as exc:
        raise DeliveryError(f"refused target: {exc}", retryable=False) from exc


class AppriseChannel:
    """One ``apprise.Apprise`` per send (the URL differs per subscription; building one is cheap)."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def send(self, message: Message, target: Target) -> None:
        import apprise

        # No redirects, whatever the URL says (``?redirect=yes``): the guard checked the host named in
        # the URL, and a redirect could send the request on to an address it refused (link-local,
        # the clinic's network), as the webhook channel refuses to.
        asset = apprise.AppriseAsset(http_redirects=False)
        plugin = apprise.Apprise.instantiate(target.address, asset=asset)
        if plugin is None:
            raise DeliveryError("apprise does not recognise this URL (see apprise's list of services)", retryable=False)
        plugin.redirects = False
        _guard(target)
        notifier = apprise.Apprise(asset=asset)
        notifier.add(plugin)
        notify_type = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING}.get(
            message.severity, apprise.NotifyType.INFO
        )
        result = notifier.notify(
            body=message.text, title=message.title, notify_type=notify_type, timeout=self.timeout_s
        )
        if not result:
            # Apprise does not say whether the service's answer was temporary: retry, bounded by
            # max_attempts.
            details = "; ".join(str(getattr(entry, "message", entry)) for entry in result.logs())[-300:]
            raise DeliveryError(f"apprise status {result.status.name}: {details}", retryable=True)

    def close(self) -> None:
        pass
