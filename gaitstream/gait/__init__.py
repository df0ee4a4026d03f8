"""Gait engine: pure computation from sacral (and trunk) IMU samples to per-step metrics.

Where things are (numpy, scipy and imufusion only; no I/O services):
- ``engine.py``: :class:`StreamingGaitEngine`, live, frame by frame; ``offline.py``
  runs it over a whole recording and builds the analyzer JSON of GAIT_SPEC.md.
- ``recording.py`` loads recording CSVs; ``conditioning.py`` puts samples on a
  uniform body-frame grid; ``calibration.py`` estimates the sensor mounting.
- ``orientation.py`` (x-io Fusion) and ``signals.py`` give the pelvic obliquity
  and trunk lean; ``events.py`` finds initial contacts, ``laterality.py`` their
  side; ``metrics.py`` computes pelvic drop per step and the summary;
  ``classification.py`` labels the walk; ``snapshot.py`` saves/restores engines.
- ``cli.py`` adds ``gaitstream analyze``.
"""
