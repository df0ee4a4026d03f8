"""E-mail over SMTP (``smtplib``): plain text, optional STARTTLS and login.

The Message-ID is derived from the delivery id and the content, so a resend after a crash
carries the same Message-ID and mail systems that deduplicate on it show it once.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from pydantic import SecretStr

from gaitstream.services.alerts.dispatch.channels import Target
from gaitstream.services.alerts.dispatch.channels.webhook import encode_body
from gaitstream.services.alerts.dispatch.exceptions import DeliveryError
from gaitstream.services.alerts.dispatch.messages import Message


def message_id(message: Message, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(encode_body(message)).hexdigest()[:16]
    return f"<gaitstream.delivery.{message.delivery_id}.{digest}@{domain}>"


def build_email(message: Message, *, sender: str, recipient: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = message.title
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(message, sender)
    mail["X-Gaitstream-Delivery"] = str(message.delivery_id)
    if message.severity == "critical":
        mail["X-Priority"] = "1"
    mail.set_content(message.text)
    return mail


def _quit(smtp: smtplib.SMTP) -> None:
    """Once the server accepted the message it is delivered: a failing QUIT must not make it a
    retry (a second copy)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class EmailChannel:
    """One SMTP connection per message: alerts are rare enough, and no idle connection to keep."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout_s = username, password, starttls, timeout_s

    def send(self, message: Message, target: Target) -> None:
        if "@" not in target.address:
            raise DeliveryError(f"not an e-mail address: {target.address!r}", retryable=False)
        mail = build_email(message, sender=self.sender, recipient=target.address)
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            try:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password.get_secret_value() if self.password else "")
                smtp.send_message(mail)
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"recipient refused: {exc.recipients}", retryable=all(400 <= code < 500 for code in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=400 <= exc.smtp_code < 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc

    def close(self) -> None:
        pass
