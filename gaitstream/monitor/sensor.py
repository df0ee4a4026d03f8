"""Sensor faults seen in a station's frames (pure: numpy only).

:class:`SensorHealth` takes every accepted ``imu_frame`` of one session, in order, and returns
``sensor_fault`` alerts when a fault opens or resolves. Windows run on the frames' *sample*
time (not the worker's clock), so a replay at any speed gives the same alerts and ids.

Faults, per sensor location and sensor type (one alert for ``pelvis.acc``, whatever its axes):
1. ``saturation``: at least ``saturation_fraction`` of the last 2 s of samples of an axis at or
   beyond ``saturation_level`` x full scale (settings, or ``acc_range_mps2``/``gyr_range_dps``
   in the session when a station declares them).
2. ``flat_signal``: an axis that did not change by more than ``flat_acc_range_mps2`` /
   ``flat_gyr_range_dps`` (below one LSB of a 16-bit +-16 g / +-2000 deg/s sensor) for
   ``flat_after_s``, while another axis of the sensor moves (walking), or all six axes of the
   location are flat (a dead sensor). A live MEMS axis always toggles a few LSB of noise.
3. ``dropped_frames`` (per station): samples missing between frames (sequence gaps, or sample
   time jumping past the previous frame's end) over ``drop_window_s`` of data at or above
   ``drop_open_fraction``; resolves at ``drop_resolve_fraction`` or below.
4. ``corrupt_samples``: a sample in the last second that is non-finite, far beyond any sensor's
   range or a gyroscope impulse (:func:`gaitstream.gait.sanitize.corrupt_rows`, the engine's own
   rules): the engine treats it as missing, so the values stay right, but a flipped bit or a
   failing link is a sensor fault a supervisor should see. Those samples are left out of the
   other checks' statistics.

Hysteresis: a fault opens once; saturation and flat signal resolve only after
``fault_resolve_after_s`` of continuously healthy data. Data lives in 1-second buckets of
sample time (min, max, clipped count per axis, sample count, corrupt acc and gyr samples), so
the state stays small.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gaitstream.gait.sanitize import (
    ACC_LIMIT_MPS2,
    GYR_LIMIT_DPS,
    IMPULSE_LIMIT_DPS,
    IMPULSE_REFERENCE_RATE_HZ,
    corrupt_rows,
)
from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rules import alert_record
from gaitstream.schemas.imu import WIRE_FIELDS

AXES = ("x", "y", "z")
SATURATION_WINDOW_S = 2.0
# An axis "moves" (the patient walks) when it spans this much within the flat window.
MOVING_ACC_RANGE_MPS2 = 0.5
MOVING_GYR_RANGE_DPS = 5.0
BUCKET_S = 1.0
_NONE_CLIPPED = np.zeros(6, dtype=np.int64)
# Bucket row: min x6, max x6, clipped x6, n, corrupt acc, corrupt gyr (older checkpoints: no counts).
ROW_LENGTH = 21
_LIMITS = np.array([ACC_LIMIT_MPS2] * 3 + [GYR_LIMIT_DPS] * 3)
# Neutral min / max of a second without a usable sample (finite: checkpoints are JSON).
_EMPTY_MIN, _EMPTY_MAX = 1e300, -1e300


@dataclass
class _Fault:
    alert_id: str
    opened_s: float
    healthy_since_s: float | None = None


@dataclass
class SensorHealth:
    """Faults of one session's sensors; feed :meth:`observe` every accepted frame in order."""

    session: dict
    settings: AlertSettings = field(default_factory=AlertSettings)
    # location -> second -> [min x6, max x6, clipped x6, n]
    buckets: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    # second -> [received samples, missing samples]
    drops: dict[int, list[int]] = field(default_factory=dict)
    last_sequence: int | None = None
    expected_next_us: int | None = None
    last_n: int = 0
    current_sec: int | None = None
    open: dict[str, _Fault] = field(default_factory=dict)
    # Samples of the current second, reduced once the second is complete (or at a checkpoint).
    _pending: dict[str, list[np.ndarray]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- helpers
    def _full_scale(self) -> np.ndarray:
        acc = float(self.session.get("acc_range_mps2") or self.settings.acc_full_scale_mps2)
        gyr = float(self.session.get("gyr_range_dps") or self.settings.gyr_full_scale_dps)
        return np.array([acc] * 3 + [gyr] * 3)

    def _keep(self, span_s: float) -> int:
        return math.ceil(span_s / BUCKET_S) + 1

    @staticmethod
    def _window(buckets: dict, now_s: int, span_s: float) -> list:
        first = now_s - math.ceil(span_s / BUCKET_S) + 1
        return [v for sec, v in buckets.items() if sec >= first]

    # ------------------------------------------------------------- processing
    def observe(
        self, frame_samples: dict[str, np.ndarray], *, sequence: int, first_sample_time_us: int, sampling_rate_hz: float
    ) -> list[dict]:
        """One frame: ``frame_samples`` maps a sensor location to its (n, 6) samples (acc x, y, z in
        m/s^2, gyr x, y, z in deg/s). Returns the alerts it opens or resolves.

        The faults are judged once per second of data, when a frame starts a new second: the
        per-frame cost is a min, a max and a count per axis.
        """
        t_s = (int(first_sample_time_us) - int(self.session["time_us"])) / 1e6
        sec = math.floor(t_s / BUCKET_S)
        out = []
        if self.current_sec is not None and sec > self.current_sec:
            self._fold()
            out = self._judge(self.current_sec, sequence)
        if self.current_sec is None or sec > self.current_sec:
            self.current_sec = sec
        n = 0
        for location, data in frame_samples.items():
            n = data.shape[0]
            self._pending.setdefault(location, []).append(data)
        self._count_drops(sequence, int(first_sample_time_us), sec, n, float(sampling_rate_hz))
        return out

    def _fold(self) -> None:
        """Reduce the samples held for the current second into its bucket (min, max and sums
        merge exactly, so folding early for a checkpoint changes no result)."""
        if not self._pending:
            return
        full_scale = self.settings.saturation_level * self._full_scale()
        rate = float(self.session.get("sampling_rate_hz") or 100.0)
        for location, arrays in self._pending.items():
            data = np.vstack(arrays)
            lo, hi = data.min(axis=0), data.max(axis=0)
            bad_acc = bad_gyr = 0
            spread = np.maximum(-lo, hi)
            if not (spread <= _LIMITS).all() or data.shape[0] >= 3 and self._impulsive(data, rate):
                # corrupt samples (rare): counted, and left out of the statistics below
                acc_bad, gyr_bad = corrupt_rows(data, rate)
                bad_acc, bad_gyr = int(acc_bad.sum()), int(gyr_bad.sum())
                data = data[~(acc_bad | gyr_bad)]
                if len(data):
                    lo, hi = data.min(axis=0), data.max(axis=0)
                else:
                    lo, hi = np.full(6, _EMPTY_MIN), np.full(6, _EMPTY_MAX)
                spread = np.maximum(-lo, hi)
            if (spread < full_scale).all():
                clipped = _NONE_CLIPPED  # the common case: nothing near full scale, nothing to count
            else:
                clipped = (np.abs(data) >= full_scale).sum(axis=0)
            per_loc = self.buckets.setdefault(location, {})
            row = per_loc.get(self.current_sec)
            if row is None:
                per_loc[self.current_sec] = [*lo.tolist(), *hi.tolist(), *clipped.tolist(), len(data), bad_acc, bad_gyr]
            else:
                per_loc[self.current_sec] = [
                    *np.minimum(row[0:6], lo).tolist(),
                    *np.maximum(row[6:12], hi).tolist(),
                    *(np.asarray(row[12:18]) + clipped).tolist(),
                    row[18] + len(data),
                    row[19] + bad_acc,
                    row[20] + bad_gyr,
                ]
        self._pending = {}

    @staticmethod
    def _impulsive(data: np.ndarray, rate: float) -> bool:
        """Whether a gyroscope second difference in ``data`` exceeds the impulse limit (cheap test)."""
        gyr = data[:, 3:]
        d2 = np.abs(gyr[2:] - 2.0 * gyr[1:-1] + gyr[:-2]).max()
        return bool(d2 > IMPULSE_LIMIT_DPS * max(1.0, (IMPULSE_REFERENCE_RATE_HZ / rate) ** 2))

    def observe_frame(self, frame: dict) -> list[dict]:
        """:meth:`observe` from a decoded ``imu_frame`` record."""
        samples = {
            block["location"]: np.asarray([block[name] for name in WIRE_FIELDS], dtype=np.float64).T
            for block in frame["sensors"]
        }
        return self.observe(
            samples,
            sequence=frame["sequence"],
            first_sample_time_us=frame["first_sample_time_us"],
            sampling_rate_hz=frame["sampling_rate_hz"],
        )

    def _judge(self, sec: int, sequence: int) -> list[dict]:
        """Faults over the data up to the end of second ``sec`` (complete)."""
        self._trim(sec)
        t_s = (sec + 1) * BUCKET_S
        out = []
        for location, per_loc in sorted(self.buckets.items()):
            if self._nothing_to_judge(location, per_loc, sec):
                continue
            keys = np.fromiter(per_loc, dtype=np.int64, count=len(per_loc))
            rows = np.asarray(list(per_loc.values()), dtype=np.float64)
            out += self._check_saturation(location, keys, rows, sec, t_s, sequence)
            out += self._check_flat(location, keys, rows, sec, t_s, sequence)
            out += self._check_corrupt(location, per_loc.get(sec), t_s, sequence)
        out += self._check_drops(sec, t_s, sequence)
        return out

    def _nothing_to_judge(self, location: str, per_loc: dict[int, list[float]], sec: int) -> bool:
        """The healthy common case, in which the checks below can only return nothing: no fault of
        the location is open, no sample of the saturation window is clipped and every axis spans
        more than the flat range within second ``sec`` (so no window holding it is flat). Plain
        Python on two bucket rows: the checks' array work cost more than the rest of the frame's."""
        if any(key.startswith(location + ".") for key in self.open):
            return False
        row = per_loc.get(sec)
        if row is None or row[19] or row[20]:
            return False
        acc_range, gyr_range = self.settings.flat_acc_range_mps2, self.settings.flat_gyr_range_dps
        for axis in range(6):
            if row[6 + axis] - row[axis] <= (acc_range if axis < 3 else gyr_range):
                return False
        first = sec - math.ceil(SATURATION_WINDOW_S / BUCKET_S)
        return not any(any(r[12:18]) for k, r in per_loc.items() if k > first)

    def _count_drops(self, sequence: int, first_us: int, sec: int, n: int, rate: float) -> None:
        missing = 0
        if self.last_sequence is not None:
            by_sequence = max(0, sequence - self.last_sequence - 1) * self.last_n
            by_time = max(0, round((first_us - self.expected_next_us) * rate / 1e6))
            missing = max(by_sequence, by_time)
        row = self.drops.setdefault(sec, [0, 0])
        row[0] += n
        row[1] += missing
        self.last_sequence, self.last_n = sequence, n
        self.expected_next_us = first_us + round(n * 1e6 / rate)

    def _trim(self, sec: int) -> None:
        oldest = sec - self._keep(max(SATURATION_WINDOW_S, self.settings.flat_after_s)) + 1
        for buckets in self.buckets.values():
            for old in [s for s in buckets if s < oldest]:
                del buckets[old]
        oldest = sec - self._keep(self.settings.drop_window_s) + 1
        for old in [s for s in self.drops if s < oldest]:
            del self.drops[old]

    def _covered(self, buckets: dict, sec: int, span_s: float) -> bool:
        """Whether data reaches back over the whole span (no verdict on a too-short history)."""
        return bool(buckets) and min(buckets) <= sec - math.ceil(span_s / BUCKET_S) + 1

    # ----------------------------------------------------------------- faults
    def _check_saturation(
        self, location: str, keys: np.ndarray, rows: np.ndarray, sec: int, t_s: float, sequence: int
    ) -> list[dict]:
        rows = rows[keys > sec - math.ceil(SATURATION_WINDOW_S / BUCKET_S)]
        if not len(rows):
            return []
        fraction = rows[:, 12:18].sum(axis=0) / max(rows[:, 18].sum(), 1)
        bad = fraction >= self.settings.saturation_fraction
        out = []
        for group, cols in (("acc", slice(0, 3)), ("gyr", slice(3, 6))):
            value = float(fraction[cols].max())
            out += self._hysteresis(
                f"{location}.{group}",
                "saturation",
                bool(bad[cols].any()),
                t_s,
                sequence,
                value,
                self.settings.saturation_fraction,
                lambda cols=cols, value=value, group=group: (
                    f"{location} {group} clipped on {value:.0%} of the last {SATURATION_WINDOW_S:g} s (axes "
                    f"{','.join(AXES[i] for i in np.flatnonzero(bad[cols]))}): range too small or a loose sensor"
                ),
            )
        return out

    def _check_flat(
        self, location: str, keys: np.ndarray, rows: np.ndarray, sec: int, t_s: float, sequence: int
    ) -> list[dict]:
        s = self.settings
        first = sec - math.ceil(s.flat_after_s / BUCKET_S) + 1
        if not len(keys) or keys.min() > first:
            return []  # not yet flat_after_s of data
        rows = rows[keys >= first]
        span = rows[:, 6:12].max(axis=0) - rows[:, 0:6].min(axis=0)
        flat = span <= np.array([s.flat_acc_range_mps2] * 3 + [s.flat_gyr_range_dps] * 3)
        moving = bool((span[0:3] >= MOVING_ACC_RANGE_MPS2).any() or (span[3:6] >= MOVING_GYR_RANGE_DPS).any())
        dead = bool(flat.all())
        out = []
        for group, cols in (("acc", slice(0, 3)), ("gyr", slice(3, 6))):
            bad = flat[cols] & (moving or dead)
            out += self._hysteresis(
                f"{location}.{group}",
                "flat_signal",
                bool(bad.any()),
                t_s,
                sequence,
                float(span[cols].min()),
                s.flat_acc_range_mps2 if group == "acc" else s.flat_gyr_range_dps,
                lambda bad=bad, group=group: (
                    f"{location} {group} axes {','.join(AXES[i] for i in np.flatnonzero(bad))} flat for "
                    f"{s.flat_after_s:g} s while walking: stuck axis or dead sensor"
                ),
            )
        return out

    def _check_corrupt(self, location: str, row: list | None, t_s: float, sequence: int) -> list[dict]:
        out = []
        for group, count in (("acc", row[19] if row else 0), ("gyr", row[20] if row else 0)):
            out += self._hysteresis(
                f"{location}.{group}",
                "corrupt_samples",
                count > 0,
                t_s,
                sequence,
                float(count),
                1.0,
                lambda group=group, count=count: (
                    f"{location} {group}: {count:g} corrupt samples in the last second (not finite, beyond any "
                    f"sensor's range or a rate impulse), treated as missing: check the sensor and its link"
                ),
            )
        return out

    def _check_drops(self, sec: int, t_s: float, sequence: int) -> list[dict]:
        s = self.settings
        if not self._covered(self.drops, sec, s.drop_window_s):
            return []
        rows = self._window(self.drops, sec, s.drop_window_s)
        received, missing = sum(r[0] for r in rows), sum(r[1] for r in rows)
        fraction = missing / max(received + missing, 1)
        key = "-:dropped_frames"
        if key not in self.open:
            failing = fraction >= s.drop_open_fraction
        else:
            failing = fraction > s.drop_resolve_fraction
        return self._hysteresis(
            None,
            "dropped_frames",
            failing,
            t_s,
            sequence,
            fraction,
            s.drop_open_fraction,
            lambda: f"{fraction:.0%} of the samples of the last {s.drop_window_s:g} s lost between frames",
            resolve_after_s=0.0,
        )

    def _hysteresis(
        self,
        sensor: str | None,
        fault: str,
        failing: bool,
        t_s: float,
        sequence: int,
        value: float,
        threshold: float,
        message: Callable[[], str],
        *,
        resolve_after_s: float | None = None,
    ) -> list[dict]:
        key = f"{sensor or '-'}:{fault}"
        current = self.open.get(key)
        if current is None and not failing:
            return []  # the common case, every second of every healthy station: nothing to build
        resolve_after_s = self.settings.fault_resolve_after_s if resolve_after_s is None else resolve_after_s
        time_us = int(self.session["time_us"]) + round(t_s * 1e6)
        common = dict(
            session=self.session,
            kind="sensor_fault",
            time_us=time_us,
            side=None,
            value=value,
            threshold=threshold,
            settings=self.settings,
            sensor=sensor,
            fault=fault,
            metric=fault,
        )
        if current is None:
            if not failing:
                return []
            record = alert_record(
                **common,
                state="open",
                severity=self.settings.severity("sensor_fault"),
                opened_at=f"seq{sequence}",
                message=message(),
            )
            self.open[key] = _Fault(record["alert_id"], t_s)
            return [record]
        if failing:
            current.healthy_since_s = None
            return []
        if current.healthy_since_s is None:
            current.healthy_since_s = t_s
        if t_s - current.healthy_since_s < resolve_after_s:
            return []
        record = alert_record(
            **common,
            state="resolved",
            severity="info",
            message=f"{sensor or 'frames'} {fault.replace('_', ' ')}: healthy again",
        )
        record["alert_id"] = self.open.pop(key).alert_id
        return [record]

    def close(self, time_us: int) -> list[dict]:
        """The session ended: resolve what is still open."""
        out = []
        for key, fault in sorted(self.open.items()):
            sensor, name = key.rsplit(":", 1)
            record = alert_record(
                session=self.session,
                kind="sensor_fault",
                state="resolved",
                severity="info",
                time_us=time_us,
                side=None,
                value=None,
                threshold=None,
                settings=self.settings,
                sensor=None if sensor == "-" else sensor,
                fault=name,
                metric=name,
                message="session ended",
            )
            record["alert_id"] = fault.alert_id
            out.append(record)
        self.open.clear()
        return out

    # ------------------------------------------------------------ checkpoints
    def to_json(self) -> dict:
        self._fold()
        return {
            "buckets": {loc: {str(s): list(row) for s, row in b.items()} for loc, b in self.buckets.items()},
            "drops": {str(s): list(row) for s, row in self.drops.items()},
            "last_sequence": self.last_sequence,
            "expected_next_us": self.expected_next_us,
            "last_n": self.last_n,
            "current_sec": self.current_sec,
            "open": {k: [f.alert_id, f.opened_s, f.healthy_since_s] for k, f in self.open.items()},
        }

    @classmethod
    def from_json(cls, value: dict | None, *, session: dict, settings: AlertSettings) -> SensorHealth:
        health = cls(session=session, settings=settings)
        if not value:
            return health
        # rows of checkpoints written before the corrupt-sample counts get zero counts
        health.buckets = {
            loc: {int(s): [*row, 0, 0][:ROW_LENGTH] for s, row in b.items()} for loc, b in value["buckets"].items()
        }
        health.drops = {int(s): list(row) for s, row in value["drops"].items()}
        health.last_sequence, health.expected_next_us = value["last_sequence"], value["expected_next_us"]
        health.last_n, health.current_sec = value["last_n"], value["current_sec"]
        health.open = {k: _Fault(*v) for k, v in value["open"].items()}
        return health
