"""Pure building of the wire records a station sends (no Kafka here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitstream.schemas.imu import PACKED_DTYPE, WIRE_FIELDS

PELVIS_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


@dataclass(frozen=True, kw_only=True)
class SessionInfo:
    """Who walks on which station, and how the sensors sit. ``patient_id`` is a pseudonym."""

    clinic_id: str
    station_id: str
    session_id: str
    patient_id: str
    sampling_rate_hz: float
    start_time_us: int
    trunk_present: bool = False
    sensor_axes: str = "x=forward,y=left,z=up"
    pelvic_drop_threshold_deg: float = 5.0
    trunk_lean_threshold_deg: float = 5.0
    min_steps_per_side: int = 10
    feedback_plan: str | None = None  # the patient's screen (services/feedback/schedule.py text form)
    target_pelvic_drop_deg: float | None = None
    extra: dict = field(default_factory=dict)

    def event(self, kind: str, time_us: int) -> dict:
        """A ``session_event`` record (``kind`` is start or stop)."""
        return {
            "station_id": self.station_id,
            "session_id": self.session_id,
            "event": kind,
            "time_us": time_us,
            "clinic_id": self.clinic_id,
            "patient_id": self.patient_id,
            "sampling_rate_hz": self.sampling_rate_hz,
            "sensor_axes": self.sensor_axes,
            "trunk_present": self.trunk_present,
            "pelvic_drop_threshold_deg": self.pelvic_drop_threshold_deg,
            "trunk_lean_threshold_deg": self.trunk_lean_threshold_deg,
            "min_steps_per_side": self.min_steps_per_side,
            "feedback_plan": self.feedback_plan,
            "target_pelvic_drop_deg": self.target_pelvic_drop_deg,
        }


def frame_samples_for(session: SessionInfo, *, frame_samples: int, feedback_frame_samples: int) -> int:
    """Samples per frame for this session: a session with a plan has a patient screen showing it
    live, and its own frame size (StationSettings.feedback_frame_samples)."""
    return feedback_frame_samples if session.feedback_plan else frame_samples


def frame_record(
    session: SessionInfo, *, sequence: int, first_sample_s: float, block: dict[str, np.ndarray], packed: bool = True
) -> dict:
    """An ``imu_frame`` record from a block of recording columns (GAIT_SPEC CSV names).

    ``packed`` (imu_frame v2): each sensor's samples as one float32 byte string; else the six
    per-axis arrays of v1 (what a station without the packed form sends).
    """
    make = _packed_block if packed else _sensor_block
    sensors = [make("pelvis", block, "")]
    if session.trunk_present:
        sensors.append(make("trunk", block, "trunk_"))
    return {
        "station_id": session.station_id,
        "session_id": session.session_id,
        "sequence": sequence,
        "first_sample_time_us": session.start_time_us + round(first_sample_s * 1_000_000),
        "sampling_rate_hz": session.sampling_rate_hz,
        "sensors": sensors,
    }


def _packed_block(location: str, block: dict[str, np.ndarray], prefix: str) -> dict:
    rows = np.column_stack([block[prefix + column] for column in PELVIS_COLUMNS]).astype(PACKED_DTYPE)
    out: dict = {"location": location, "samples_f32le": rows.tobytes()}
    for wire in WIRE_FIELDS:
        out[wire] = []
    return out


def _sensor_block(location: str, block: dict[str, np.ndarray], prefix: str) -> dict:
    out: dict = {"location": location}
    for column, wire in zip(PELVIS_COLUMNS, WIRE_FIELDS, strict=True):
        out[wire] = np.asarray(block[prefix + column], dtype=np.float32).tolist()
    return out
