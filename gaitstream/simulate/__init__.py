"""Gait simulator with ground truth (pure computation: numpy and scipy only).

Simulates treadmill walking after quiet standing as seen by a sacral IMU (and an
optional trunk IMU): chosen pelvic drop and trunk lean per stance side, cadence
and its variability, step asymmetry, sensor mounting, axes, noise, bias and
heel-strike transients, with physically consistent accelerometer and gyroscope
signals. The truth follows GAIT_SPEC.md's definitions, computed from the
simulated orientations.

- :func:`simulate_session`: a whole session -> :class:`SimulatedSession`.
- :func:`iter_session_blocks`: the same session in blocks, bounded memory.
- :func:`pattern_config`: named presets (normal, Trendelenburg, compensated).
"""

from gaitstream.simulate.config import SimulationConfig
from gaitstream.simulate.patterns import PATTERNS, pattern_config
from gaitstream.simulate.session import SimulatedSession, simulate_session
from gaitstream.simulate.stream import SessionBlocks, iter_session_blocks

__all__ = [
    "PATTERNS",
    "SessionBlocks",
    "SimulatedSession",
    "SimulationConfig",
    "iter_session_blocks",
    "pattern_config",
    "simulate_session",
]
