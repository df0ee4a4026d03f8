"""A long-running station's sessions (pure: no sensor, no broker, no clock read here).

The sensor streams all day; frames only leave while the treadmill operator has a session open.
``StationSessions`` turns the operator's commands and the sensor's frames into the records to
send, in order:

1. ``start``: a session_event start (a session already open is stopped first). The trunk is part
   of the session only when its sensor is delivering at that moment.
2. A frame whose first sample is at or after the session start leaves with the next sequence
   number; frames before it, or with no session open, are not sent.
3. A trunk that falls silent during a session: the frame whose trunk samples are all missing
   ends the session and continues it as a new pelvis-only session (same patient and settings), so
   the pelvis data is not lost with the trunk's (the pipeline removes a sample with a missing value).
4. ``stop``: a session_event stop just after the last sample sent, with what the station
   measured of its sensors (session_event v2).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gaitstream.services.station.frames import SessionInfo, frame_record


@dataclass
class OpenSession:
    info: SessionInfo
    sequence: int = 0
    end_s: float = 0.0  # after the last sample sent, s from the session start
    frames: int = 0


Record = tuple[str, dict]


class StationSessions:
    def __init__(
        self,
        *,
        station_id: str,
        clinic_id: str,
        sampling_rate_hz: float,
        sensor_axes: str,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.station_id, self.clinic_id = station_id, clinic_id
        self.sampling_rate_hz, self.sensor_axes = sampling_rate_hz, sensor_axes
        self.new_id = new_id
        self.open: OpenSession | None = None
        self.splits = 0

    def start(self, *, patient_id: str, now_us: int, trunk: bool, **thresholds) -> list[Record]:
        out = self.stop(now_us) if self.open is not None else []
        info = SessionInfo(
            clinic_id=self.clinic_id,
            station_id=self.station_id,
            session_id=self.new_id(),
            patient_id=patient_id,
            sampling_rate_hz=self.sampling_rate_hz,
            start_time_us=now_us,
            trunk_present=trunk,
            sensor_axes=self.sensor_axes,
            **thresholds,
        )
        self.open = OpenSession(info)
        return [*out, ("session_event", info.event("start", now_us))]

    def stop(self, now_us: int, metadata: dict | None = None) -> list[Record]:
        if self.open is None:
            return []
        session, self.open = self.open, None
        end_us = session.info.start_time_us + round(session.end_s * 1e6) if session.frames else now_us
        return [("session_event", {**session.info.event("stop", end_us), **(metadata or {})})]

    def frame(self, first_epoch_s: float, block: dict[str, np.ndarray], metadata: dict | None = None) -> list[Record]:
        """A sensor frame (times in epoch s); the records it makes (none without a session)."""
        if self.open is None:
            return []
        start_s = self.open.info.start_time_us / 1e6
        if first_epoch_s < start_s:
            return []
        out: list[Record] = []
        if self.open.info.trunk_present and _trunk_missing(block):
            info = self.open.info
            out += self.stop(round(first_epoch_s * 1e6), metadata)
            self.splits += 1
            out += self.start(
                patient_id=info.patient_id,
                now_us=round(first_epoch_s * 1e6),
                trunk=False,
                pelvic_drop_threshold_deg=info.pelvic_drop_threshold_deg,
                trunk_lean_threshold_deg=info.trunk_lean_threshold_deg,
                min_steps_per_side=info.min_steps_per_side,
                feedback_plan=info.feedback_plan,  # the screen's blocks start over with the new session
                target_pelvic_drop_deg=info.target_pelvic_drop_deg,
            )
            start_s = self.open.info.start_time_us / 1e6
        session = self.open
        first_s = first_epoch_s - start_s
        out.append(
            ("imu_frame", frame_record(session.info, sequence=session.sequence, first_sample_s=first_s, block=block))
        )
        session.sequence += 1
        session.frames += 1
        session.end_s = first_s + len(block["time_s"]) / self.sampling_rate_hz
        return out

    def status(self) -> dict:
        if self.open is None:
            return {"session": "none"}
        info = self.open.info
        return {
            "session": "open",
            "session_id": info.session_id,
            "patient": info.patient_id,
            "session_trunk": info.trunk_present,
            "frames": self.open.frames,
            "session_s": round(self.open.end_s),
        }


def _trunk_missing(block: dict[str, np.ndarray]) -> bool:
    trunk = block.get("trunk_acc_x")
    return trunk is None or bool(np.isnan(trunk).all())
