"""A treadmill station's configuration file (TOML), read by ``gaitstream station run --config``.

What the station is (id, clinic), which sensors it reads and how (LSL stream, channels, units,
axes), where it keeps its spool and control socket, and the session defaults. Credentials are not
written here: ``env_file`` names the ``station.env`` that ``gaitstream access station add --out``
wrote (broker, user, password, CA, signing key), read at start; variables already set in the
environment (e.g. systemd's ``EnvironmentFile=``) win. Example: ``deploy/station/station.toml``.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gaitstream.exceptions import GaitstreamError


class StationConfigError(GaitstreamError):
    """The station's configuration file cannot be used (the message names the file and the key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensorConfig(_Strict):
    """One LSL stream: found by exactly one of name, type or source id."""

    name: str | None = None
    type: str | None = None
    source_id: str | None = None
    channels: tuple[int, int, int, int, int, int] = (0, 1, 2, 3, 4, 5)  # acc x, y, z, gyr x, y, z
    acc_unit: Literal["mps2", "g"] = "mps2"
    gyr_unit: Literal["dps", "rads"] = "dps"
    resolve_timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _one_selector(self) -> SensorConfig:
        given = [k for k in ("name", "type", "source_id") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of name, type, source_id (got {', '.join(given) or 'none'})")
        return self

    @property
    def selector(self) -> tuple[str, str]:
        for prop in ("name", "type", "source_id"):
            if getattr(self, prop):
                return prop, getattr(self, prop)
        raise AssertionError("validated")


class SessionDefaults(_Strict):
    """What a session started without options gets."""

    pelvic_drop_threshold_deg: float = Field(5.0, gt=0, le=30)
    trunk_lean_threshold_deg: float = Field(5.0, gt=0, le=30)
    min_steps_per_side: int = Field(10, ge=1, le=1000)


class StationConfig(_Strict):
    station_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    clinic_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    # Spool, control socket: one directory per station, owned by the station's service user.
    state_dir: Path
    sensor_axes: str = "x=forward,y=left,z=up"
    env_file: Path | None = None
    status_interval_s: float = Field(30.0, gt=0)
    # The spool's limits (GAITSTREAM_STATION_SPOOL_* otherwise).
    spool_max_bytes: int | None = Field(None, gt=0)
    spool_max_age_s: float | None = Field(None, gt=0)
    pelvis: SensorConfig
    trunk: SensorConfig | None = None
    session: SessionDefaults = SessionDefaults()

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "spool"

    @property
    def control_socket(self) -> Path:
        return self.state_dir / "control.sock"


def load_station_config(path: Path) -> StationConfig:
    """Read and check ``path``; relative paths in it are relative to the file."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise StationConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StationConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key in ("state_dir", "env_file"):
        if isinstance(data.get(key), str):
            data[key] = str(path.parent / data[key])
    try:
        return StationConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}" for error in exc.errors()
        )
        raise StationConfigError(f"{path}: {problems}") from exc


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (values shell-quoted, as ``access station add`` writes them); ``#`` comments."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise StationConfigError(f"env_file {path}: cannot be read: {exc.strerror}") from exc
    out = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise StationConfigError(f"env_file {path}, line {number}: expected NAME=value")
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise StationConfigError(f"env_file {path}, line {number}: {exc}") from exc
        out[name.strip()] = parts[0] if parts else ""
    # A relative CA file is beside the env file (``access station add --out`` writes both there).
    ca = out.get("GAITSTREAM_KAFKA_CA_FILE")
    if ca and not Path(ca).is_absolute():
        out["GAITSTREAM_KAFKA_CA_FILE"] = str(path.parent / ca)
    return out
