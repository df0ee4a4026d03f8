"""Retention per data kind (``GAITSTREAM_RETENTION_*``), enforced by ``gaitstream retention enforce``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.ids import check_id


def check_pseudonym(pseudonym: str) -> str:
    """Every pseudonym the clinic API accepts can be exported and erased (gaitstream.ids)."""
    return check_id("pseudonym", pseudonym)


def check_clinic(clinic_id: str) -> str:
    return check_id("clinic", clinic_id)


class PrivacySettings(BaseSettings):
    """Where the pipeline keeps station checkpoints: its app id names the changelog (the same
    variable as the worker's, ``GAITSTREAM_PIPELINE_APP_ID``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_PIPELINE_", extra="ignore")

    app_id: str = "gaitstream-pipeline"


class AuditKeySettings(BaseSettings):
    """The key of the privacy audit's patient digests (``GAITSTREAM_PRIVACY_AUDIT_KEY`` or, in a
    deployment, ``GAITSTREAM_PRIVACY_AUDIT_KEY_FILE``): a deployment secret, so that whoever reads
    the audit cannot test guessed pseudonyms against it (short patterns like ``p-0042`` are few)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_PRIVACY_", extra="ignore")

    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None

    def key(self) -> bytes:
        if self.audit_key is not None and self.audit_key.get_secret_value():
            return self.audit_key.get_secret_value().encode()
        if self.audit_key_file is not None:
            try:
                value = self.audit_key_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"GAITSTREAM_PRIVACY_AUDIT_KEY_FILE {self.audit_key_file}: {exc}") from exc
            if value:
                return value.encode()
        raise ValueError(
            "GAITSTREAM_PRIVACY_AUDIT_KEY or GAITSTREAM_PRIVACY_AUDIT_KEY_FILE is not set: the audit's "
            "patient digests are keyed (`gaitstream stack env` has it locally; compose: secrets/privacy_audit_key)"
        )


class RetentionSettings(BaseSettings):
    """How long each kind of data is kept, in days. Steps, statuses and sessions: a year (progress
    is compared across weeks and months of a programme); the 20 Hz trace: a month (the drill-down of
    recent sessions); dead letters: two weeks (long enough to investigate a station); the alert
    store: a year; the pipeline's non-compacted topics: a week (a replay window, not an archive)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_RETENTION_", extra="ignore")

    steps_days: float = Field(365.0, gt=0)
    status_days: float = Field(365.0, gt=0)
    sessions_days: float = Field(365.0, gt=0)
    alerts_days: float = Field(365.0, gt=0)
    trace_days: float = Field(30.0, gt=0)
    dead_letters_days: float = Field(14.0, gt=0)
    alert_store_days: float = Field(365.0, gt=0)
    # The API's audit log (every request, refused ones included, and the admin CLI's changes).
    audit_days: float = Field(365.0, gt=0)
    topics_days: float = Field(7.0, gt=0)

    def measurements(self) -> dict[str, float]:
        """InfluxDB measurement -> days kept."""
        return {
            "gait_step": self.steps_days,
            "gait_status": self.status_days,
            "gait_session": self.sessions_days,
            "gait_alert": self.alerts_days,
            "pelvic_trace": self.trace_days,
            "gait_feedback": self.steps_days,  # what the screen showed, kept as long as the steps
            "dead_letter": self.dead_letters_days,
        }
