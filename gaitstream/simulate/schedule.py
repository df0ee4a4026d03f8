"""Step schedule: initial contacts, sides and per-step targets, generated lazily.

Steps are drawn one after another from their own random stream, so a schedule
extended in small pieces (live streaming) equals one built in a single go. Old
steps can be discarded to keep memory bounded on very long sessions.

The continuous *step phase* ``s(t)`` equals ``k`` at the k-th initial contact
and is a local cubic Hermite interpolant in between (C1, monotonic for the step
time jitter allowed), so every waveform defined on the phase is smooth in time.
"""

from __future__ import annotations

import numpy as np

from gaitstream.simulate.config import SimulationConfig

#: Random stream ids, so steps, noise and bias never share draws.
STREAM_STEPS = 1
#: Jitter draws are clipped at this many standard deviations (no absurd steps).
MAX_JITTER_SD = 3.0
#: Steps generated beyond the latest time asked for (phase needs 2 knots ahead).
LOOKAHEAD_STEPS = 3


class StepSchedule:
    """Lazily generated initial contacts with the side and targets of each step.

    Step ``k`` starts at IC ``k`` (at ``standing_s`` for ``k = 0``) and belongs to
    the stance side of that IC. Index ``k`` is global; ``base_index`` is the
    first step still held in memory.
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self._rng = np.random.default_rng([config.seed, STREAM_STEPS])
        self._mean_step_s = 60.0 / config.cadence_spm
        self._first_is_left = config.first_side == "left"
        self.base_index = 0
        self._ic_s: list[float] = [config.standing_s]
        self._drop_deg: list[float] = []
        self._lean_deg: list[float] = []
        self._intensity: list[float] = []
        self._arrays: tuple[np.ndarray, ...] | None = None

    # -- generation -------------------------------------------------------
    def is_left(self, step_index: np.ndarray | int) -> np.ndarray:
        """True where global step ``step_index`` is a left (stance) step."""
        parity = np.asarray(step_index) % 2 == 0
        return parity if self._first_is_left else ~parity

    def _append_step(self) -> None:
        cfg = self.config
        k = self.base_index + len(self._drop_deg)
        left = bool(self.is_left(k))
        # 1. Step time: side asymmetry, then multiplicative step-to-step jitter.
        half_asym = cfg.step_time_asymmetry_pct / 200.0
        side_step_s = self._mean_step_s * (1.0 + half_asym if left else 1.0 - half_asym)
        z_time, z_drop, z_lean, z_intensity = np.clip(self._rng.standard_normal(4), -MAX_JITTER_SD, MAX_JITTER_SD)
        step_s = side_step_s * (1.0 + cfg.cadence_cv_pct / 100.0 * z_time)
        # 2. Per-step targets around the side's chosen values.
        drop = cfg.pelvic_drop_left_deg if left else cfg.pelvic_drop_right_deg
        lean = cfg.trunk_lean_left_deg if left else cfg.trunk_lean_right_deg
        self._drop_deg.append(drop + cfg.pelvic_drop_jitter_deg * z_drop)
        self._lean_deg.append(0.0 if lean is None else lean + cfg.trunk_lean_jitter_deg * z_lean)
        # 3. Step intensity: scales this step's accelerations and heel strike.
        self._intensity.append(max(0.3, 1.0 + cfg.step_variability_pct / 100.0 * z_intensity))
        self._ic_s.append(self._ic_s[-1] + step_s)
        self._arrays = None

    def extend_until(self, time_s: float) -> None:
        """Generate steps until the schedule covers ``time_s`` with look-ahead."""
        while True:
            ahead = len(self._ic_s) - 1 - int(np.searchsorted(self._ic_s, time_s, side="right"))
            if ahead >= LOOKAHEAD_STEPS:
                return
            self._append_step()

    def discard_before(self, time_s: float) -> None:
        """Forget steps that ended more than two steps before ``time_s``."""
        ic = self._ic_s
        keep_from = int(np.searchsorted(ic, time_s, side="right")) - 3
        if keep_from > 0:
            del self._ic_s[:keep_from]
            del self._drop_deg[:keep_from]
            del self._lean_deg[:keep_from]
            del self._intensity[:keep_from]
            self.base_index += keep_from
            self._arrays = None

    # -- views --------------------------------------------------------------
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ic_s, drop_deg, lean_deg, intensity) of the held steps; ic_s has one more knot."""
        if self._arrays is None:
            self._arrays = (
                np.asarray(self._ic_s),
                np.asarray(self._drop_deg),
                np.asarray(self._lean_deg),
                np.asarray(self._intensity),
            )
        return self._arrays  # type: ignore[return-value]

    def initial_contacts_s(self) -> np.ndarray:
        """Times of the held initial contacts (global index ``base_index`` first)."""
        return self.arrays()[0]

    def phase(self, time_s: np.ndarray) -> np.ndarray:
        """Continuous global step phase ``s(t)`` (negative before walking starts).

        1. Locate each time between two ICs (knots with values k, k+1).
        2. Knot slopes (steps/s): centred ``2/(t[k+1]-t[k-1])``; one-sided at the
           first knot so walking starts with the first step's rate.
        3. Cubic Hermite on the interval; linear before the first knot.
        """
        t = np.asarray(time_s, dtype=float)
        if t.size:
            self.extend_until(float(t.max()))
        ic = self.initial_contacts_s()
        # 1. Interval of each time (rows before the first held knot use it).
        k = np.clip(np.searchsorted(ic, t, side="right") - 1, 0, len(ic) - 2)
        # 2. Slopes at every knot (the last knot reuses its left interval).
        dt = np.diff(ic)
        slope = np.empty(len(ic))
        slope[1:-1] = 2.0 / (ic[2:] - ic[:-2])
        # After discard_before() the first held knot is never evaluated, so its
        # one-sided slope is only a placeholder there.
        slope[0] = 1.0 / dt[0]
        slope[-1] = 1.0 / dt[-1]
        # 3. Hermite basis on x in [0, 1).
        h = dt[k]
        x = (t - ic[k]) / h
        x2, x3 = x * x, x * x * x
        h10 = x3 - 2 * x2 + x
        h01 = -2 * x3 + 3 * x2
        h11 = x3 - x2
        s = h10 * slope[k] * h + h01 + h11 * slope[k + 1] * h
        before = t < ic[0]
        s = np.where(before, (t - ic[0]) * slope[0], s)
        return self.base_index + k + s

    def step_values(self, step_index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(valid, drop_deg, lean_deg, intensity) of global steps; invalid = before walking."""
        _, drop, lean, intensity = self.arrays()
        local = np.asarray(step_index) - self.base_index
        valid = (local >= 0) & (local < len(drop))
        idx = np.clip(local, 0, max(len(drop) - 1, 0))
        return (
            valid,
            np.where(valid, drop[idx], 0.0),
            np.where(valid, lean[idx], 0.0),
            np.where(valid, intensity[idx], 1.0),
        )
