"""Chat and push services through apprise (Slack ``slack://``, Teams ``workflows://``/``msteams://``,
ntfy ``ntfy://``, and the rest apprise knows), one URL per subscription.

Apprise's generic HTTP notifiers (``json://``, ``xml://``, ``form://`` and their ``s`` forms)
and a self-hosted ntfy are webhooks under another name: their host goes through the same
``urlguard`` check as our webhooks (refused on private/loopback addresses unless the clinic
allows). Hosted services (Slack, Teams, ntfy.sh, ...) are reached at their vendors' addresses.
"""

from __future__ import annotations

from services.alerts.dispatch.channels import Target
from services.alerts.dispatch.exceptions import DeliveryError
from services.alerts.dispatch.messages import Message
from services.alerts.urlguard import UnsafeWebhookTarget, check_webhook_url

GUARDED_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


def _guard(plugin, target: Target) -> None:
    schema = str(getattr(plugin, "secure_protocol", "") if getattr(plugin, "secure", False)
                 else getattr(plugin, "protocol", "")).lower()
    url = target.address.lower()
    scheme = url.split("://", 1)[0]
    self_hosted_ntfy = scheme in ("ntfy", "ntfys") and str(getattr(plugin, "mode", "")).lower().endswith("private")
    if scheme not in GUARDED_SCHEMES and not self_hosted_ntfy:
        return
    host = getattr(plugin, "host", None)
    if not host:
        raise DeliveryError(f"apprise URL has no host: scheme {schema or scheme}", retryable=False)
    port = f":{plugin.port}" if getattr(plugin, "port", None) else ""
    try:
        check_webhook_url(f"http://{host}{port}/", allow_private=target.allow_private)
    except UnsafeWebhookTarget as exc:
        raise DeliveryError(f"refused target: {exc}", retryable=False) from exc


class AppriseChannel:
    """One ``apprise.Apprise`` per send (the URL differs per subscription; building one is cheap)."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def send(self, message: Message, target: Target) -> None:
        import apprise

        plugin = apprise.Apprise.instantiate(target.address)
        if plugin is None:
            raise DeliveryError("apprise does not recognise this URL (see apprise's list of services)",
                                retryable=False)
        _guard(plugin, target)
        notifier = apprise.Apprise()
        notifier.add(plugin)
        notify_type = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING}.get(
            message.severity, apprise.NotifyType.INFO)
        result = notifier.notify(body=message.text, title=message.title, notify_type=notify_type,
                                 timeout=self.timeout_s)
        if not result:
            # Apprise does not say whether the service's answer was temporary: retry, bounded by
            # max_attempts.
            details = "; ".join(str(getattr(entry, "message", entry)) for entry in result.logs())[-300:]
            raise DeliveryError(f"apprise status {result.status.name}: {details}", retryable=True)

    def close(self) -> None:
        pass
