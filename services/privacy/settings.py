"""Retention per data kind (``GAITSTREAM_RETENTION_*``), enforced by ``gaitstream retention enforce``."""

from __future__ import annotations

import re

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Pseudonyms as the stations send them: no quotes, spaces or separators that a query could misread.
PSEUDONYM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_pseudonym(pseudonym: str) -> str:
    if not PSEUDONYM_PATTERN.fullmatch(pseudonym):
        raise ValueError(f"pseudonym {pseudonym!r} must be 1-100 letters, digits, '.', '_' or '-' (never a name)")
    return pseudonym


def check_clinic(clinic_id: str) -> str:
    """A clinic id as the stations and the API use it (the same characters as a pseudonym)."""
    if not PSEUDONYM_PATTERN.fullmatch(clinic_id):
        raise ValueError(f"clinic {clinic_id!r} must be 1-100 letters, digits, '.', '_' or '-'")
    return clinic_id


class PrivacySettings(BaseSettings):
    """Where the pipeline keeps station checkpoints: its app id names the changelog (the same
    variable as the worker's, ``GAITSTREAM_PIPELINE_APP_ID``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_PIPELINE_", extra="ignore")

    app_id: str = "gaitstream-pipeline"


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
