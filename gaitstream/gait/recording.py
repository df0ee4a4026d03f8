"""Recording CSV (GAIT_SPEC.md "Recording CSV") -> body-frame arrays.

Loading validates the file and names file, row and column of any problem; the
``--axes`` description and the units are applied here, so every later stage
sees the body frame (x forward, y left, z up), m/s² and deg/s.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitstream.gait.axes import DEFAULT_AXES, parse_axes
from gaitstream.gait.config import AccUnit, GyrUnit
from gaitstream.gait.exceptions import RecordingError, TooShortError

STANDARD_GRAVITY_MPS2 = 9.80665
PELVIS_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
TRUNK_COLUMNS = tuple(f"trunk_{name}" for name in PELVIS_COLUMNS)
# Shortest recording worth analysing: a few strides.
MIN_DURATION_S = 2.0
# A few rows whose time is missing or runs backwards are corrupt samples (the engine drops and
# counts them); more than this share of the rows means the file itself is wrong (e.g. unsorted).
MAX_BAD_TIME_FRACTION = 0.01


def to_body_frame(
    acc: np.ndarray, gyr: np.ndarray, *, axes: str = DEFAULT_AXES, acc_unit: AccUnit = "mps2", gyr_unit: GyrUnit = "dps"
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate sensor axes into the body frame and convert to m/s² and deg/s."""
    matrix = parse_axes(axes)
    acc_mps2 = np.asarray(acc, dtype=float) @ matrix.T
    gyr_dps = np.asarray(gyr, dtype=float) @ matrix.T
    if acc_unit == "g":
        acc_mps2 = acc_mps2 * STANDARD_GRAVITY_MPS2
    if gyr_unit == "rads":
        gyr_dps = np.degrees(gyr_dps)
    return acc_mps2, gyr_dps


@dataclass(frozen=True)
class Recording:
    """One recording in the body frame: ``time_s`` (n,), ``acc_mps2``/``gyr_dps`` (n, 3)."""

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    trunk_acc_mps2: np.ndarray | None
    trunk_gyr_dps: np.ndarray | None
    sampling_rate_hz: float
    source: str | None = None

    @property
    def duration_s(self) -> float:
        finite = self.time_s[np.isfinite(self.time_s)]
        return float(finite.max() - finite.min()) if len(finite) else 0.0

    @property
    def has_trunk(self) -> bool:
        return self.trunk_acc_mps2 is not None


def infer_sampling_rate_hz(time_s: np.ndarray) -> float:
    """Sampling rate from the median sample interval (robust to gaps and corrupt times)."""
    dt_s = np.diff(time_s)
    return float(1.0 / np.median(dt_s[np.isfinite(dt_s) & (dt_s > 0)]))


def load_recording_csv(
    path: str | Path, *, axes: str = DEFAULT_AXES, acc_unit: AccUnit = "mps2", gyr_unit: GyrUnit = "dps"
) -> Recording:
    """Load and validate a recording CSV; raise :class:`RecordingError` naming the problem.

    Empty cells and ``nan`` are kept as NaN (missing samples, handled by the
    engine); any other non-numeric value, a missing required column and a
    ``time_s`` that does not increase are errors.
    """
    path = Path(path)
    source = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"cannot open: {exc.strerror}", path=source) from exc
    with handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        for name in ("time_s", *PELVIS_COLUMNS):
            if name not in header:
                raise RecordingError(f"missing required column {name!r}", path=source, column=name)
        has_trunk = all(name in header for name in TRUNK_COLUMNS)
        wanted = ["time_s", *PELVIS_COLUMNS, *(TRUNK_COLUMNS if has_trunk else ())]
        index = [header.index(name) for name in wanted]
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            values = []
            for name, col in zip(wanted, index, strict=True):
                cell = row[col].strip() if col < len(row) else ""
                try:
                    values.append(float(cell) if cell else math.nan)
                except ValueError as exc:
                    raise RecordingError(f"non-numeric value {cell!r}", path=source, row=line_no, column=name) from exc
            rows.append(values)
    data = np.array(rows, dtype=float).reshape(-1, len(wanted))
    time_s = data[:, 0]
    # rows with a missing or backwards time: a few are corrupt samples (kept: the engine drops and
    # counts them), many mean a broken file
    # (a decrease between neighbours: one time far ahead is one decrease, not a run of them)
    invalid = ~np.isfinite(time_s)
    backwards = np.concatenate([[False], time_s[1:] < time_s[:-1]])
    for mask, problem in (
        (invalid, "time_s is empty, NaN or infinite"),
        (backwards, "time_s decreases (non-monotonic time)"),
    ):
        if not mask.any():
            continue
        first = int(np.flatnonzero(mask)[0]) + 2
        if mask.sum() > MAX_BAD_TIME_FRACTION * len(time_s):
            raise RecordingError(f"{problem} on {int(mask.sum())} rows", path=source, row=first, column="time_s")
        warnings.warn(
            f"{source}: {problem} on {int(mask.sum())} rows (first at row {first}): treated as corrupt samples",
            stacklevel=2,
        )
    duplicate = np.concatenate([[False], np.diff(time_s) == 0])
    if duplicate.any():
        # a repeated packet (seen in real Xsens exports): the engine keeps the first copy and counts it
        warnings.warn(
            f"{source}: {int(duplicate.sum())} rows repeat the previous time_s "
            f"(first at row {int(np.flatnonzero(duplicate)[0]) + 2}): the first copy is kept",
            stacklevel=2,
        )
    finite_time = time_s[np.isfinite(time_s)]
    if len(finite_time) < 3 or finite_time.max() - finite_time.min() < MIN_DURATION_S:
        raise TooShortError(
            f"recording too short: {len(time_s)} samples, need at least {MIN_DURATION_S} s", path=source
        )
    acc, gyr = to_body_frame(data[:, 1:4], data[:, 4:7], axes=axes, acc_unit=acc_unit, gyr_unit=gyr_unit)
    trunk_acc = trunk_gyr = None
    if has_trunk:
        trunk_acc, trunk_gyr = to_body_frame(
            data[:, 7:10], data[:, 10:13], axes=axes, acc_unit=acc_unit, gyr_unit=gyr_unit
        )
    return Recording(
        time_s=time_s,
        acc_mps2=acc,
        gyr_dps=gyr,
        trunk_acc_mps2=trunk_acc,
        trunk_gyr_dps=trunk_gyr,
        sampling_rate_hz=infer_sampling_rate_hz(time_s),
        source=source,
    )
