"""Snapshot and restore of :class:`~gaitstream.gait.engine.StreamingGaitEngine`.

The snapshot is JSON-serialisable (dicts, lists, floats, str) and bounded: the
raw samples held while calibrating (at most ``max_calibration_buffer_s``),
~3 s of obliquity/lean history, the detectors' short buffers and the undrained
trace. Arrays are packed as base64 float64, so a restored engine continues with
bit-identical data. imufusion cannot set Fusion's acceleration-recovery
counter; with acceleration rejection off (the default) that counter is unused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaitstream.gait.conditioning import MARK_BREAK, MARK_RELEVEL
from gaitstream.gait.config import GaitConfig
from gaitstream.gait.lever_arm import LeverArmCompensation
from gaitstream.gait.orientation import FusionOrientation
from gaitstream.gait.signals import ChunkBuffer, TrunkLean, pack_array, unpack_array

# The engine is passed in (``engine_state(engine)``, ``restore_engine(cls, snap)``), never imported:
# engine.py imports this module, and imports point one way.

# Layout of the snapshot; bumped when it changes (2: arrays packed as base64 float64;
# 3: IC detector's running step interval; provisional-yaw refinement point; IC log;
# 4: the IC before the last one, for the stride reference of a provisional walking start;
# 5: re-levelling after a gap; the sample gate's and time screen's state in "input";
# 6: the trunk sensor's lever-arm compensation).
SNAPSHOT_VERSION = 6


def engine_state(engine: Any) -> dict:
    """The engine's state as JSON-able values (it keeps running unchanged)."""
    e = engine
    trace = np.concatenate(e._trace) if e._trace else np.zeros((0, 3))
    e._trace = [trace] if len(trace) else []
    held = bool(e._cal_times)
    return {
        "version": SNAPSHOT_VERSION,
        "sampling_rate_hz": e.sampling_rate_hz,
        "trunk": e.trunk,
        "axes": e.axes,
        "config": e.config.model_dump(),
        "trace_capacity_s": e.trace_capacity_s,
        "keep_initial_contacts": e.keep_initial_contacts,
        "input": e._input.state(),
        "n": e._n,
        "first_gait": e._first_gait,
        "refine_at": e._refine_at,
        # raw samples held while calibrating
        "cal_times": pack_array(np.concatenate(e._cal_times)) if held else "",
        "cal_rows": pack_array(np.concatenate(e._cal_rows)) if held else "",
        "cal_breaks": np.flatnonzero(np.concatenate(e._cal_breaks) == MARK_BREAK).tolist() if held else [],
        "cal_relevels": np.flatnonzero(np.concatenate(e._cal_breaks) == MARK_RELEVEL).tolist() if held else [],
        "calibration": e.calibration,
        "fusion": e._fusion.state() if e._fusion else None,
        "trunk_fusion": e._trunk_fusion.state() if e._trunk_fusion else None,
        "lean": e._lean.state() if e._lean else None,
        "trunk_lever": e._trunk_lever.state() if e._trunk_lever else None,
        "trunk_lever_method": getattr(e, "_trunk_lever_method", None),
        "phi_leak": e._phi_leak.state(),
        "ic": e._ic.state(),
        "side": e._side.state(),
        "history": e._hist.state(),
        "pending_ics": list(e._pending_ics),
        "last_ic": list(e._last_ic) if e._last_ic else None,
        "last_step_end": e._last_step_end,
        "ic_before_last": e._ic_before_last,
        "typical_step_s": e._typical_step_s,
        "segment_start": e._segment_start,
        "step_index": e._step_index,
        "trace": pack_array(trace),
        "ic_log": [list(x) for x in e._ic_log],
        "feature_mean": e._feature_mean,
        "relevel": None
        if e._relevel is None
        else {
            **{k: v for k, v in e._relevel.items() if k != "rows"},
            "rows": pack_array(np.concatenate(e._relevel["rows"]) if e._relevel["rows"] else np.zeros((0, e._width))),
        },
    }


def _upgrade_from_2(snap: dict) -> dict:
    """A version-2 snapshot (before rhythm gating, provisional yaw and IC log) as version 3.

    The new state starts empty: the detector relearns the step interval from
    its next two peaks, and an engine calibrating in version 2 keeps holding
    samples until its calibration completes, as it would have.
    """
    snap = {
        **snap,
        "version": 3,
        "refine_at": None,
        "keep_initial_contacts": False,
        "ic_log": [],
        "feature_mean": 0.0,
        "ic": {**snap["ic"], "typical_interval": 0.0},
    }
    if snap["calibration"] is not None:
        snap["calibration"] = {**snap["calibration"], "provisional_yaw": False}
    return snap


def _upgrade_from_3(snap: dict) -> dict:
    """A version-3 snapshot as version 4: no IC before the last one is known.

    Version 3 engines had no provisional walking start, so none is in that
    phase and the stride reference is never needed for the steps it has open.
    One still holding samples without standing starts the provisional walking
    calibration if it has not yet seen ``provisional_walking_s`` of walking,
    else it keeps holding until its calibration completes, as it would have.
    """
    return {**snap, "version": 4, "ic_before_last": None}


def _upgrade_from_4(snap: dict) -> dict:
    """A version-4 snapshot as version 5: no re-levelling pending; the input conditioner starts
    its sample gate and counts afresh (its state loads with defaults)."""
    return {**snap, "version": 5, "relevel": None}


def _upgrade_from_5(snap: dict) -> dict:
    """A version-5 snapshot as version 6: its trunk lean had no lever-arm compensation, and an
    engine that was measuring goes on without one (height 0), as it would have."""
    lever = None
    if snap["calibration"] is not None and snap["trunk"] and snap.get("trunk_fusion"):
        axis = np.array(snap["calibration"]["trunk_rotation"], dtype=float)[2]
        lever = {"height_m": 0.0, "axis": axis.tolist(), "previous": None}
    return {**snap, "version": 6, "trunk_lever": lever, "trunk_lever_method": None if lever is None else "assumed"}


def restore_engine(cls: type, snap: dict) -> Any:
    """Rebuild an engine of class ``cls`` from :func:`engine_state` (this version, 5, 4, 3 or 2)."""
    if snap.get("version") == 2:
        snap = _upgrade_from_2(snap)
    if snap.get("version") == 3:
        snap = _upgrade_from_3(snap)
    if snap.get("version") == 4:
        snap = _upgrade_from_4(snap)
    if snap.get("version") == 5:
        snap = _upgrade_from_5(snap)
    if snap.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"unknown snapshot version {snap.get('version')!r}, expected {SNAPSHOT_VERSION}")
    e = cls(
        sampling_rate_hz=snap["sampling_rate_hz"],
        trunk=snap["trunk"],
        config=GaitConfig(**snap["config"]),
        axes=snap["axes"],
        trace_capacity_s=snap["trace_capacity_s"],
        keep_initial_contacts=snap["keep_initial_contacts"],
    )
    e._input.load_state(snap["input"])
    e._n, e._first_gait, e._refine_at = snap["n"], snap["first_gait"], snap["refine_at"]
    if snap["cal_times"]:
        e._cal_times = [unpack_array(snap["cal_times"])]
        e._cal_rows = [unpack_array(snap["cal_rows"], e._width)]
        marks = np.zeros(len(e._cal_times[0]), dtype=np.int8)
        marks[np.array(snap.get("cal_relevels", []), dtype=int)] = MARK_RELEVEL
        marks[np.array(snap["cal_breaks"], dtype=int)] = MARK_BREAK
        e._cal_breaks = [marks]
    e.calibration = snap["calibration"]
    fs, cfg = e.sampling_rate_hz, e.config
    if e.calibration is not None:
        e._rotation = np.array(e.calibration["rotation"], dtype=float)
        e._phi_offset_deg = e.calibration["obliquity_offset_deg"]
        e._fusion = FusionOrientation.from_state(
            snap["fusion"], sampling_rate_hz=fs, gain=cfg.fusion_gain, acc_rejection_deg=cfg.acc_rejection_deg
        )
        if e.trunk:
            e._trunk_fusion = FusionOrientation.from_state(
                snap["trunk_fusion"], sampling_rate_hz=fs, gain=cfg.fusion_gain, acc_rejection_deg=cfg.acc_rejection_deg
            )
            e._lean = TrunkLean(
                rotation=np.array(e.calibration["trunk_rotation"]),
                sampling_rate_hz=fs,
                leak_gain=e._phi_leak.gain,
                leak_time_constant_s=cfg.leak_time_constant_s,
            )
            e._lean.load_state(snap["lean"])
            e._trunk_lever = LeverArmCompensation.from_state(
                snap["trunk_lever"], gyr_bias_dps=e._trunk_fusion.gyr_bias_dps, sampling_rate_hz=fs
            )
            e._trunk_lever_method = snap["trunk_lever_method"]
    e._phi_leak.load_state(snap["phi_leak"])
    e._ic.load_state(snap["ic"])
    e._side.load_state(snap["side"])
    e._hist = ChunkBuffer.from_state(snap["history"], 3)
    e._pending_ics = list(snap["pending_ics"])
    e._last_ic = (snap["last_ic"][0], snap["last_ic"][1]) if snap["last_ic"] else None
    e._last_step_end = snap["last_step_end"]
    e._ic_before_last = snap["ic_before_last"]
    e._typical_step_s = snap["typical_step_s"]
    e._segment_start, e._step_index = snap["segment_start"], snap["step_index"]
    e._ic_log = [list(x) for x in snap["ic_log"]]
    e._feature_mean = snap["feature_mean"]
    if snap["relevel"] is not None:
        rows = unpack_array(snap["relevel"]["rows"], e._width)
        e._relevel = {**snap["relevel"], "rows": [rows] if len(rows) else []}
    if snap["trace"]:
        trace = unpack_array(snap["trace"], 3)
        e._trace, e._trace_len = [trace], len(trace)
    return e
