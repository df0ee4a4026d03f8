"""Sensor axes stated as body directions (GAIT_SPEC "Frames and signals"): ``"x=forward,y=left,z=up"``.

Shared by the recording loader, the live engine's input conditioning and the engine's settings.
Cheap to import (numpy is imported on first use): the command line imports the settings at start-up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: The body frame itself (x forward, y left, z up).
DEFAULT_AXES = "x=forward,y=left,z=up"

_DIRECTIONS = {
    "forward": (1.0, 0.0, 0.0),
    "backward": (-1.0, 0.0, 0.0),
    "left": (0.0, 1.0, 0.0),
    "right": (0.0, -1.0, 0.0),
    "up": (0.0, 0.0, 1.0),
    "down": (0.0, 0.0, -1.0),
}


def parse_axes(spec: str) -> np.ndarray:
    """Matrix ``M`` with ``v_body = M @ v_sensor`` from ``"x=forward,y=left,z=up"``.

    Each sensor axis names one of forward/backward/left/right/up/down; the three
    must be distinct body axes forming a right-handed frame.
    """
    import numpy as np

    parts = dict(part.strip().split("=", 1) for part in spec.split(",") if "=" in part)
    if sorted(parts) != ["x", "y", "z"] or len(spec.split(",")) != 3:
        raise ValueError(f"axes must be 'x=<dir>,y=<dir>,z=<dir>', got {spec!r}")
    columns = []
    for axis in ("x", "y", "z"):
        direction = parts[axis].strip().lower()
        if direction not in _DIRECTIONS:
            raise ValueError(f"axes: {axis}={direction!r} is not one of {sorted(_DIRECTIONS)}")
        columns.append(_DIRECTIONS[direction])
    matrix = np.array(columns, dtype=float).T
    if not math.isclose(float(np.linalg.det(matrix)), 1.0):
        raise ValueError(f"axes {spec!r} do not form a right-handed frame of distinct axes")
    return matrix
