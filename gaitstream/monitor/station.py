"""One station's live state: its session, its gait engine, its rolling status (with the alert
rules' state) and what has been consumed (pure). Checkpointed as one value, so after a restore
the engine and the status window agree exactly and replayed frames reproduce the same steps,
statuses and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitstream.gait.config import GaitConfig
from gaitstream.gait.engine import StepMetrics, StreamingGaitEngine
from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.frames import EngineInput
from gaitstream.monitor.rolling import RollingStatus
from gaitstream.monitor.watch import SessionWatch

# The drill-down view needs a smooth line, not every sample (GAIT_SPEC trace at ~20 Hz).
TRACE_RATE_HZ = 20.0
# A session with a patient feedback screen: its live indicator needs more than 20 updates a second.
FEEDBACK_TRACE_RATE_HZ = 25.0
# The largest checkpoint the pipeline stores (its changelog topic's max.message.bytes and the
# producer's request size). Its largest part is the raw data held while calibrating: at most
# GaitConfig.max_calibration_buffer_s (30 s) at the highest rate (1000 Hz) of two sensors, 12
# float64 columns in base64: 30 * 1000 * 12 * 8 * 4/3 = 3.84 MB; the rest is tens of kB (about
# 25 kB at 100 Hz). tests/monitor/test_station_checkpoint.py measures the worst case against it.
CHECKPOINT_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class StationState:
    """Checkpointed to a Faust table; restored after a restart or a rebalance."""

    session: dict
    engine: StreamingGaitEngine
    rolling: RollingStatus
    # Frame-level alert rules (station silence, sensor faults): gaitstream.monitor.watch.
    watch: SessionWatch
    last_sequence: int = -1
    # Steps counted since the last write to the steps-per-window table (written with each status).
    steps_not_windowed: int = 0
    # 20 Hz bucket of the last trace sample kept (checkpointed, so a restore keeps the same grid).
    last_trace_bucket: int | None = None
    trace_t_s: list[float] = field(default_factory=list)
    trace_phi_deg: list[float] = field(default_factory=list)
    trace_lean_deg: list[float] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        session: dict,
        *,
        settings: AlertSettings | None = None,
        baseline: dict[str, float] | None = None,
        now_us: int | None = None,
    ) -> StationState:
        """A new session; ``settings`` and ``baseline`` of the alert rules (defaults: built-in, none),
        ``now_us`` the worker's wall clock (station silence counts from it)."""
        settings = settings or AlertSettings()
        config = GaitConfig(
            pelvic_drop_threshold_deg=session["pelvic_drop_threshold_deg"],
            trunk_lean_threshold_deg=session["trunk_lean_threshold_deg"],
            min_steps_per_side=session["min_steps_per_side"],
            axes=session["sensor_axes"],
        )
        engine = StreamingGaitEngine(
            sampling_rate_hz=session["sampling_rate_hz"],
            trunk=session["trunk_present"],
            config=config,
            axes=session["sensor_axes"],
        )
        return cls(
            session=session,
            engine=engine,
            rolling=RollingStatus(session=session, settings=settings, baseline=dict(baseline or {})),
            watch=SessionWatch.start(session, settings=settings, now_us=now_us),
        )

    # -------------------------------------------------------------- processing
    def push(self, data: EngineInput) -> list[StepMetrics]:
        steps = self.engine.push(data.time_s, data.acc_mps2, data.gyr_dps, data.trunk_acc_mps2, data.trunk_gyr_dps)
        self._collect_trace()
        return steps

    def finish(self) -> list[StepMetrics]:
        steps = self.engine.finish()
        self._collect_trace()
        return steps

    def _collect_trace(self) -> None:
        t, phi, lean = self.engine.drain_trace()
        if not len(t):
            return
        # Keep the first sample of each 50 ms (40 ms with a feedback screen) bucket of session time:
        # the same whatever the frame cuts.
        rate_hz = FEEDBACK_TRACE_RATE_HZ if self.session.get("feedback_plan") else TRACE_RATE_HZ
        buckets = np.floor(t * rate_hz + 1e-6).astype(np.int64)
        previous = buckets[0] - 1 if self.last_trace_bucket is None else self.last_trace_bucket
        keep = np.flatnonzero(np.diff(buckets, prepend=previous) > 0)
        if not len(keep):
            return
        self.last_trace_bucket = int(buckets[keep[-1]])
        self.trace_t_s.extend(t[keep].tolist())
        self.trace_phi_deg.extend(phi[keep].tolist())
        if lean is not None:
            self.trace_lean_deg.extend(lean[keep].tolist())

    def take_trace(self) -> tuple[list[float], list[float], list[float] | None]:
        out = (self.trace_t_s, self.trace_phi_deg, self.trace_lean_deg if self.session["trunk_present"] else None)
        self.trace_t_s, self.trace_phi_deg, self.trace_lean_deg = [], [], []
        return out

    # ------------------------------------------------------------- wire records
    def step_record(self, step: StepMetrics) -> dict:
        s = self.session
        start_us = s["time_us"] + round(step.start_s * 1e6)
        end_us = s["time_us"] + round(step.end_s * 1e6)
        return {
            "clinic_id": s["clinic_id"],
            "station_id": s["station_id"],
            "session_id": s["session_id"],
            "patient_id": s["patient_id"],
            "step_index": step.index,
            "side": step.side,
            "start_time_us": start_us,
            "end_time_us": end_us,
            "step_time_s": float(step.duration_s),
            "pelvic_drop_deg": float(step.pelvic_drop_deg),
            "trunk_lean_deg": None if step.trunk_lean_deg is None else float(step.trunk_lean_deg),
            "cadence_spm": 60.0 / step.duration_s if step.duration_s > 0 else None,
        }

    def trace_record(self, t_s: list[float], phi: list[float], lean: list[float] | None) -> dict:
        s = self.session
        return {
            "clinic_id": s["clinic_id"],
            "station_id": s["station_id"],
            "session_id": s["session_id"],
            "patient_id": s["patient_id"],
            "first_time_us": s["time_us"] + round(t_s[0] * 1e6),
            # Times are kept exactly: gaps (lost packets) make the trace non-uniform.
            "time_offsets_us": [round((t - t_s[0]) * 1e6) for t in t_s],
            "pelvic_obliquity_deg": phi,
            "trunk_lateral_lean_deg": lean,
        }

    # ------------------------------------------------------------- checkpoints
    def checkpoint(self) -> dict:
        """JSON value for the station-state table (trace is flushed before a checkpoint)."""
        return {
            "session": self.session,
            "last_sequence": self.last_sequence,
            "engine": self.engine.snapshot(),
            "rolling": self.rolling.to_json(),
            "watch": self.watch.to_json(),
            "last_trace_bucket": self.last_trace_bucket,
            "closed": False,
        }

    @classmethod
    def restore(cls, value: dict) -> StationState:
        rolling = (
            RollingStatus.from_json(value["rolling"]) if "rolling" in value else RollingStatus(session=value["session"])
        )  # a checkpoint from before the fold
        watch = SessionWatch.from_json(value.get("watch"), session=value["session"])
        return cls(
            session=value["session"],
            engine=StreamingGaitEngine.restore(value["engine"]),
            rolling=rolling,
            watch=watch,
            last_sequence=value["last_sequence"],
            last_trace_bucket=value["last_trace_bucket"],
        )
