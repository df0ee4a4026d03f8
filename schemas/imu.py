"""The sample layout of an ``imu_frame`` (the wire contract both sides share; see README.md).

A sensor block carries its samples either as six arrays named by ``WIRE_FIELDS`` (v1 form) or
packed (v2): rows of the same six values as little-endian float32, ``PACKED_ROW_BYTES`` per sample.
"""

from __future__ import annotations

import numpy as np

#: The six arrays of a sensor block: specific force in m/s², angular rate in deg/s.
WIRE_FIELDS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
#: ``samples_f32le``: one row of six float32 (WIRE_FIELDS order) per sample.
PACKED_DTYPE = np.dtype("<f4")
PACKED_COLUMNS = len(WIRE_FIELDS)
PACKED_ROW_BYTES = PACKED_COLUMNS * PACKED_DTYPE.itemsize
