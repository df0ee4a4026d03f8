"""Alert-rule settings: clinic defaults, overridable per patient (pure).

The settings live on a compacted Kafka topic (``<prefix>.alert-settings.v1``, schema
``alert_settings``) with one record per scope, keyed ``clinic/<clinic_id>`` or
``patient/<clinic_id>/<patient_id>``; the pipeline mirrors the topic in a Faust GlobalTable, so
every worker sees every clinic's settings. A ``None`` field means "inherit".

Resolution, field by field: patient record -> clinic record -> built-in default
(:class:`AlertSettings`). The pelvic drop and trunk lean thresholds themselves travel with the
session event (they are the classification's thresholds too); these settings only say how the
rules use them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
KINDS = ("pelvic_drop_sustained", "trunk_lean_sustained", "worsening", "station_silent", "sensor_fault")

# 1. Sustained deviation. GAIT_SPEC's live window is 20 steps per side; an alert opens at >= 70 %
#    of the last 20 steps; resolving at 50 % leaves a margin of 4 steps, so a patient hovering
#    at the threshold does not flap.
DEFAULT_WINDOW_STEPS = 20
DEFAULT_OPEN_FRACTION = 0.7
DEFAULT_RESOLVE_FRACTION = 0.5
# 2. Worsening against the patient's own previous sessions. No minimal detectable change of a
#    lower-back IMU pelvic-drop *median* between sessions was found; the nearest figures: optical
#    whole-gait kinematics between sessions, MDC ~5 deg including marker re-placement (Wilken
#    2012, Gait Posture 35:301, doi:10.1016/j.gaitpost.2011.09.021), and group differences in
#    pathology of only 1.2-1.4 deg (Allison 2016, GAIT_SPEC). A median of 20 steps from the same
#    sensor model is far steadier than one marker-based trial, so 2.0 deg (above the group
#    differences, below the MDC with re-placement) is a clinical default to tune per clinic;
#    resolving at 1.0 deg gives the hysteresis.
DEFAULT_WORSENING_OPEN_MARGIN_DEG = 2.0
DEFAULT_WORSENING_RESOLVE_MARGIN_DEG = 1.0
DEFAULT_WORSENING_MIN_STEPS = 20  # per side, in the current window, before any comparison
DEFAULT_BASELINE_SESSIONS = 5  # the last N sessions kept per patient
DEFAULT_BASELINE_MIN_SESSIONS = 2  # fewer previous sessions: no baseline, no worsening alert
# 3. Station silence: a 100 Hz station sends a frame every 0.1 s; 10 s of nothing is not a
#    network hiccup, and short enough for a supervisor to walk over while the patient walks.
DEFAULT_SILENT_AFTER_S = 10.0
# 4. Sensor faults. Full scale of common rehab IMUs: +-16 g and +-2000 deg/s; a sample within
#    2 % of it is taken as clipped. Walking at the sacrum peaks at 2-4 g, so clipping on 2 % of
#    a 2 s window means a wrong range setting or a loose, knocking sensor.
DEFAULT_ACC_FULL_SCALE_MPS2 = 16 * 9.80665
DEFAULT_GYR_FULL_SCALE_DPS = 2000.0
DEFAULT_SATURATION_LEVEL = 0.98
DEFAULT_SATURATION_FRACTION = 0.02
# A live MEMS axis always toggles a few LSB of noise, and walking moves it by m/s^2; float32 on
# the wire keeps that. An axis spanning less than one LSB of a 16-bit +-16 g (0.0048 m/s^2) or
# +-2000 deg/s (0.061 deg/s) sensor for 3 s is stuck, or the sensor is dead.
DEFAULT_FLAT_AFTER_S = 3.0
DEFAULT_FLAT_ACC_RANGE_MPS2 = 1e-3
DEFAULT_FLAT_GYR_RANGE_DPS = 1e-2
# Lost frames: over 5 % of the expected samples missing in 10 s of data is more than the radio
# gaps the gait engine bridges (ipol-L5 recordings lose ~1 %); it resolves at 1 %.
DEFAULT_DROP_WINDOW_S = 10.0
DEFAULT_DROP_OPEN_FRACTION = 0.05
DEFAULT_DROP_RESOLVE_FRACTION = 0.01
# Any sensor fault resolves only after this much healthy data (no flapping on a loose cable).
DEFAULT_FAULT_RESOLVE_AFTER_S = 10.0
DEFAULT_SEVERITIES: dict[str, Severity] = {
    "pelvic_drop_sustained": "warning",
    "trunk_lean_sustained": "warning",
    "worsening": "warning",
    "station_silent": "critical",
    "sensor_fault": "warning",
}


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    """Resolved settings of one patient's session (every field set)."""

    window_steps: int = DEFAULT_WINDOW_STEPS
    open_fraction: float = DEFAULT_OPEN_FRACTION
    resolve_fraction: float = DEFAULT_RESOLVE_FRACTION
    worsening_open_margin_deg: float = DEFAULT_WORSENING_OPEN_MARGIN_DEG
    worsening_resolve_margin_deg: float = DEFAULT_WORSENING_RESOLVE_MARGIN_DEG
    worsening_min_steps: int = DEFAULT_WORSENING_MIN_STEPS
    baseline_sessions: int = DEFAULT_BASELINE_SESSIONS
    baseline_min_sessions: int = DEFAULT_BASELINE_MIN_SESSIONS
    silent_after_s: float = DEFAULT_SILENT_AFTER_S
    acc_full_scale_mps2: float = DEFAULT_ACC_FULL_SCALE_MPS2
    gyr_full_scale_dps: float = DEFAULT_GYR_FULL_SCALE_DPS
    saturation_level: float = DEFAULT_SATURATION_LEVEL
    saturation_fraction: float = DEFAULT_SATURATION_FRACTION
    flat_after_s: float = DEFAULT_FLAT_AFTER_S
    flat_acc_range_mps2: float = DEFAULT_FLAT_ACC_RANGE_MPS2
    flat_gyr_range_dps: float = DEFAULT_FLAT_GYR_RANGE_DPS
    drop_window_s: float = DEFAULT_DROP_WINDOW_S
    drop_open_fraction: float = DEFAULT_DROP_OPEN_FRACTION
    drop_resolve_fraction: float = DEFAULT_DROP_RESOLVE_FRACTION
    fault_resolve_after_s: float = DEFAULT_FAULT_RESOLVE_AFTER_S
    severities: dict[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    dashboard_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("window_steps", "worsening_min_steps", "baseline_sessions", "baseline_min_sessions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.baseline_min_sessions > self.baseline_sessions:
            raise ValueError(
                f"baseline_min_sessions ({self.baseline_min_sessions}) must be <= baseline_sessions "
                f"({self.baseline_sessions})"
            )
        if not 0.0 <= self.resolve_fraction < self.open_fraction <= 1.0:
            raise ValueError(
                "need 0 <= resolve_fraction < open_fraction <= 1 (hysteresis), got "
                f"resolve_fraction={self.resolve_fraction} open_fraction={self.open_fraction}"
            )
        if not 0.0 <= self.worsening_resolve_margin_deg < self.worsening_open_margin_deg:
            raise ValueError(
                "need 0 <= worsening_resolve_margin_deg < worsening_open_margin_deg (hysteresis), got "
                f"{self.worsening_resolve_margin_deg} and {self.worsening_open_margin_deg}"
            )
        if not 0.0 <= self.drop_resolve_fraction < self.drop_open_fraction <= 1.0:
            raise ValueError(
                "need 0 <= drop_resolve_fraction < drop_open_fraction <= 1 (hysteresis), got "
                f"{self.drop_resolve_fraction} and {self.drop_open_fraction}"
            )
        for name in (
            "silent_after_s",
            "acc_full_scale_mps2",
            "gyr_full_scale_dps",
            "flat_after_s",
            "drop_window_s",
            "fault_resolve_after_s",
            "saturation_fraction",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.5 <= self.saturation_level <= 1.0:
            raise ValueError(f"saturation_level must be within [0.5, 1.0], got {self.saturation_level}")
        for kind, severity in self.severities.items():
            if kind not in KINDS or severity not in SEVERITIES:
                raise ValueError(
                    f"severities maps a kind ({', '.join(KINDS)}) to one of {SEVERITIES}, got {kind}={severity}"
                )

    def severity(self, kind: str) -> Severity:
        return self.severities.get(kind, DEFAULT_SEVERITIES[kind])

    def link(self, session: dict) -> str | None:
        """The patient-session dashboard of ``session`` (None without a Grafana base URL)."""
        if self.dashboard_url is None:
            return None
        link = (
            f"{self.dashboard_url.rstrip('/')}/d/gaitstream-patient-session?var-clinic={session['clinic_id']}"
            f"&var-patient={session['patient_id']}&var-session={session['session_id']}"
        )
        if session.get("time_us") is not None:  # from the session's start (Grafana wants epoch ms)
            link += f"&from={int(session['time_us']) // 1000}&to=now"
        return link

    def to_json(self) -> dict:
        # Flat fields plus one dict: a shallow copy (dataclasses.asdict's deep copy cost ~0.2 ms,
        # twice per station checkpoint).
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["severities"] = dict(self.severities)
        return out

    @classmethod
    def from_json(cls, value: dict | None) -> AlertSettings:
        """Settings stored in rule state (unknown keys from a newer version are ignored)."""
        if not value:
            return cls()
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


# The fields a settings record may set (all but severities, which merge per kind).
OVERRIDABLE = tuple(f.name for f in dataclasses.fields(AlertSettings) if f.name != "severities")


def settings_key(clinic_id: str, patient_id: str | None = None) -> str:
    """Kafka key (and table key) of a settings record."""
    for name, value in (("clinic_id", clinic_id), ("patient_id", patient_id)):
        if value is not None and (not value or "/" in value):
            raise ValueError(f"{name} must be non-empty and contain no '/', got {value!r}")
    return f"clinic/{clinic_id}" if patient_id is None else f"patient/{clinic_id}/{patient_id}"


def settings_record(clinic_id: str, patient_id: str | None = None, *, updated_us: int, **values) -> dict:
    """An ``alert_settings`` wire record; fields not given are null (inherit)."""
    unknown = set(values) - set(OVERRIDABLE) - {"severities"}
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; valid: {', '.join(OVERRIDABLE)}, severities")
    record = {
        "scope": "clinic" if patient_id is None else "patient",
        "clinic_id": clinic_id,
        "patient_id": patient_id,
        "updated_us": updated_us,
    }
    record.update({name: values.get(name) for name in OVERRIDABLE})
    record["severities"] = values.get("severities")
    resolve_settings(record if patient_id is None else None, record if patient_id is not None else None)  # validates
    return record


def resolve_settings(clinic: dict | None, patient: dict | None) -> AlertSettings:
    """Patient override -> clinic -> built-in default, field by field (records may be None)."""
    values: dict = {}
    severities = dict(DEFAULT_SEVERITIES)
    for record in (clinic, patient):  # later wins
        if not record:
            continue
        values.update({name: record[name] for name in OVERRIDABLE if record.get(name) is not None})
        severities.update(record.get("severities") or {})
    return AlertSettings(**values, severities=severities)
