"""Sample-exact rendering of a session: any range of samples, same values.

A :class:`SessionModel` turns the body kinematics into recording columns for
samples ``[n0, n1)`` and gives the truth of any completed step. Every sample is a
function of its index alone: time ``n / sampling_rate_hz``, the analytic motion,
and noise drawn per fixed chunk of ``NOISE_CHUNK_SAMPLES`` from a generator
seeded by ``(seed, stream, chunk)``. The whole-session simulation and the
streaming blocks are therefore identical however the session is split.
"""

from __future__ import annotations

import numpy as np

from gaitstream.simulate.config import SimulationConfig
from gaitstream.simulate.imu import add_errors, body_signals, mounting_rotation, parse_axes, to_sensor_frame
from gaitstream.simulate.kinematics import BodyKinematics
from gaitstream.simulate.schedule import StepSchedule
from gaitstream.simulate.truth import (
    MIN_STANDING_FOR_BASELINE_S,
    STEADY_FROM_STEP,
    lateral_lean_deg,
    obliquity_deg,
    step_extremes,
)

#: Noise is drawn in chunks of this many samples, each from its own generator.
NOISE_CHUNK_SAMPLES = 4096
#: Random stream ids (steps use 1, see schedule.py).
STREAM_NOISE = 2
STREAM_BIAS = 3
STREAM_LOSS = 5
#: Lost radio packets come in bursts of 1 to this many samples (as in ipol-L5).
MAX_LOSS_BURST_SAMPLES = 5
#: Grid of the obliquity median used as reference when there is no standing.
BASELINE_GRID_HZ = 200.0

PELVIS_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
TRUNK_COLUMNS = tuple(f"trunk_{c}" for c in PELVIS_COLUMNS)


class SessionModel:
    """Signals and truth of one configured session, evaluated on demand.

    ``baseline_window_s`` bounds the walking time whose median obliquity is the
    reference when the session has no quiet standing (GAIT_SPEC.md: median during
    walking); ``None`` means the whole session.
    """

    def __init__(self, config: SimulationConfig, *, baseline_window_s: float | None = None) -> None:
        self.config = config
        self.schedule = StepSchedule(config)
        self.kinematics = BodyKinematics(self.schedule)
        self.axes_matrix = parse_axes(config.axes)
        self.mounting = mounting_rotation(*config.mounting_deg)
        self.trunk_mounting = mounting_rotation(*config.trunk_mounting_deg)
        bias_rng = np.random.default_rng([config.seed, STREAM_BIAS])
        self.gyr_bias_dps = bias_rng.uniform(-1.0, 1.0, size=(2, 3)) * config.gyr_bias_dps
        self.columns = PELVIS_COLUMNS + (TRUNK_COLUMNS if config.has_trunk else ())
        self._noise_cache: tuple[int, np.ndarray] = (-1, np.empty((0, 12)))
        self.last_time_s = (config.n_samples - 1) / config.sampling_rate_hz
        self.obliquity_baseline_deg, self.calibration_method = self._baseline(baseline_window_s)

    # -- reference posture -------------------------------------------------
    def _baseline(self, window_s: float | None) -> tuple[float, str]:
        cfg = self.config
        if cfg.standing_s >= MIN_STANDING_FOR_BASELINE_S:
            start_s, end_s, method = 0.0, cfg.standing_s, "standing"
        else:
            end_s = self.last_time_s if window_s is None else min(self.last_time_s, cfg.standing_s + window_s)
            start_s, method = cfg.standing_s, "walking"
        grid = np.arange(start_s, max(end_s, start_s + 1e-9), 1.0 / BASELINE_GRID_HZ)
        baseline = float(np.median(obliquity_deg(self.kinematics.pelvis_rotation(grid))))
        return baseline, method

    def obliquity_at(self, time_s: np.ndarray) -> np.ndarray:
        """Pelvic obliquity (deg, relative to the reference posture) at times."""
        return obliquity_deg(self.kinematics.pelvis_rotation(time_s)) - self.obliquity_baseline_deg

    def lean_at(self, time_s: np.ndarray) -> np.ndarray:
        """Trunk lateral lean (deg) at times."""
        return lateral_lean_deg(self.kinematics.trunk_rotation(time_s))

    # -- signals -------------------------------------------------------------
    def _noise(self, n0: int, n1: int) -> np.ndarray:
        """(n1 - n0, 12) standard normal draws of samples [n0, n1)."""
        chunks = []
        for c in range(n0 // NOISE_CHUNK_SAMPLES, (n1 - 1) // NOISE_CHUNK_SAMPLES + 1):
            if self._noise_cache[0] != c:  # small blocks reuse their chunk
                rng = np.random.default_rng([self.config.seed, STREAM_NOISE, c])
                self._noise_cache = (c, rng.standard_normal((NOISE_CHUNK_SAMPLES, 12)))
            chunks.append(self._noise_cache[1])
        start = n0 - (n0 // NOISE_CHUNK_SAMPLES) * NOISE_CHUNK_SAMPLES
        return np.concatenate(chunks)[start : start + (n1 - n0)]

    def render(self, n0: int, n1: int) -> dict[str, np.ndarray]:
        """Recording columns (CSV contract names) of samples ``[n0, n1)``.

        1. Times; body-frame specific force and angular rate of each sensor.
        2. Mounting and axes mapping into each sensor frame.
        3. Noise, bias and clipping.
        4. Lost packets (``packet_loss_pct``): their rows are left out.
        """
        cfg = self.config
        if not 0 <= n0 < n1 <= cfg.n_samples:
            raise ValueError(f"sample range must satisfy 0 <= n0 < n1 <= {cfg.n_samples}, got [{n0}, {n1})")
        # 1. Times and body-frame signals.
        time_s = np.arange(n0, n1) / cfg.sampling_rate_hz
        out: dict[str, np.ndarray] = {"time_s": time_s}
        noise = self._noise(n0, n1)
        kin = self.kinematics
        sensors = [("", kin.pelvis_rotation, kin.pelvis_acc_world_mps2, self.mounting, 0)]
        if cfg.has_trunk:
            sensors.append(("trunk_", kin.trunk_rotation, kin.trunk_acc_world_mps2, self.trunk_mounting, 1))
        for prefix, rotation_at, acc_at, mounting, i in sensors:
            acc_body, gyr_body = body_signals(rotation_at, acc_at, time_s, gyro_period_s=1.0 / cfg.sampling_rate_hz)
            # 2. Sensor frame.
            acc = to_sensor_frame(acc_body, mounting, self.axes_matrix)
            gyr = to_sensor_frame(gyr_body, mounting, self.axes_matrix)
            # 3. Errors.
            acc = add_errors(
                acc,
                noise_sd=cfg.acc_noise_mps2,
                bias=np.zeros(3),
                noise=noise[:, 6 * i : 6 * i + 3],
                full_range=cfg.acc_range_mps2,
            )
            gyr = add_errors(
                gyr,
                noise_sd=cfg.gyr_noise_dps,
                bias=self.gyr_bias_dps[i],
                noise=noise[:, 6 * i + 3 : 6 * i + 6],
                full_range=cfg.gyr_range_dps,
            )
            for axis, name in enumerate("xyz"):
                out[f"{prefix}acc_{name}"] = acc[:, axis]
                out[f"{prefix}gyr_{name}"] = gyr[:, axis]
        # 4. Lost packets: rows removed, leaving gaps in time_s.
        keep = self._kept(n0, n1)
        return {c: out[c][keep] for c in ("time_s",) + self.columns}

    def _kept(self, n0: int, n1: int) -> np.ndarray:
        """Boolean mask of samples [n0, n1) that are not lost (drawn per chunk)."""
        loss = self.config.packet_loss_pct / 100.0
        if loss == 0.0:
            return np.ones(n1 - n0, dtype=bool)
        masks = []
        mean_burst = (1 + MAX_LOSS_BURST_SAMPLES) / 2.0
        for c in range(n0 // NOISE_CHUNK_SAMPLES, (n1 - 1) // NOISE_CHUNK_SAMPLES + 1):
            rng = np.random.default_rng([self.config.seed, STREAM_LOSS, c])
            bursts = rng.poisson(loss * NOISE_CHUNK_SAMPLES / mean_burst)
            starts = rng.integers(0, NOISE_CHUNK_SAMPLES, bursts)
            lengths = rng.integers(1, MAX_LOSS_BURST_SAMPLES + 1, bursts)
            mask = np.ones(NOISE_CHUNK_SAMPLES, dtype=bool)
            for start, length in zip(starts, lengths, strict=True):
                mask[start : start + length] = False
            if c == 0:
                mask[0] = True  # the recording starts with a sample
            masks.append(mask)
        start = n0 - (n0 // NOISE_CHUNK_SAMPLES) * NOISE_CHUNK_SAMPLES
        return np.concatenate(masks)[start : start + (n1 - n0)]

    # -- truth ---------------------------------------------------------------
    def completed_steps(self, first_step: int, until_s: float) -> tuple[list[dict], list[dict]]:
        """Truth (steps, strides) of steps ``>= first_step`` ending at or before ``until_s``.

        A stride starting at step k is returned with step k+1 (its second half).
        """
        sched = self.schedule
        sched.extend_until(until_s)
        ic = sched.initial_contacts_s()
        k_all = np.arange(sched.base_index, sched.base_index + len(ic) - 1)
        done = (k_all >= max(first_step - 1, 0)) & (ic[1:] <= until_s)
        k_done = k_all[done]
        if k_done.size == 0:
            return [], []
        local = k_done - sched.base_index
        starts, ends = ic[local], ic[local + 1]
        phi_max, phi_min = step_extremes(self.obliquity_at, starts, ends)
        lean_max, lean_min = step_extremes(self.lean_at, starts, ends) if self.config.has_trunk else (None, None)
        left = sched.is_left(k_done)
        steps, strides = [], []
        for i, k in enumerate(k_done):
            side = "left" if left[i] else "right"
            lean = None
            if lean_max is not None:
                lean = lean_max[i] if left[i] else -lean_min[i]
            step = {
                "side": side,
                "start_s": float(starts[i]),
                "end_s": float(ends[i]),
                "duration_s": float(ends[i] - starts[i]),
                "pelvic_drop_deg": float(phi_max[i] if left[i] else -phi_min[i]),
                "trunk_lean_deg": None if lean is None else float(lean),
                "steady": bool(k >= STEADY_FROM_STEP),
            }
            if k >= first_step:
                steps.append(step)
            if i > 0 and k >= first_step:
                strides.append(
                    {
                        "side": "right" if left[i] else "left",
                        "start_s": float(starts[i - 1]),
                        "end_s": float(ends[i]),
                        "duration_s": float(ends[i] - starts[i - 1]),
                        "obliquity_rom_deg": float(max(phi_max[i - 1], phi_max[i]) - min(phi_min[i - 1], phi_min[i])),
                        "steady": bool(k - 1 >= STEADY_FROM_STEP),
                    }
                )
        return steps, strides
