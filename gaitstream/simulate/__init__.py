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

from importlib import import_module

# Names resolved on first use, so that importing a light submodule (config, the CLI) does not
# load the rendering stack (scipy) too: the ``gaitstream`` command starts faster.
_EXPORTS = {
    "SimulationConfig": "gaitstream.simulate.config",
    "PATTERNS": "gaitstream.simulate.patterns",
    "pattern_config": "gaitstream.simulate.patterns",
    "SimulatedSession": "gaitstream.simulate.session",
    "simulate_session": "gaitstream.simulate.session",
    "SessionBlocks": "gaitstream.simulate.stream",
    "iter_session_blocks": "gaitstream.simulate.stream",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gaitstream.simulate' has no attribute {name!r}")
