"""Settings of the session reports (``GAITSTREAM_REPORT_*``), read when a command starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.access.principals import REPORT_GROUP


class ReportSettings(BaseSettings):
    """``out_dir``: where reports go (``<clinic>/<session>.html|.pdf|.fhir.json``); compose mounts
    a volume the alerts API serves them from. ``api_url`` and ``api_key``: the alerts API and a
    key scoped to the clinics, to read each patient's programme (without them a report says the
    programme is not available). ``public_url``: the alerts API as supervisors reach it, for the
    report's own links."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_REPORT_", extra="ignore")

    out_dir: Path = Path("reports")
    group: str = REPORT_GROUP
    # After a session's stop event, wait this long before reading it back: the sink writes within
    # about a second (its batches), a trunk step or a late status a little after.
    settle_s: float = Field(10.0, ge=0)
    # A stop that InfluxDB does not hold yet (the sink is behind, or down) is tried again, settle_s
    # apart, this many times in all.
    attempts: int = Field(12, ge=1)
    api_url: str | None = None
    api_key: SecretStr | None = None
    public_url: str | None = None
    rules_file: Path | None = None
