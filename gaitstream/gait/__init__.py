"""Gait engine: pure computation from sacral (and trunk) IMU samples to per-step metrics.

Start at ``engine.py`` (live) or ``offline.py`` (whole recording); pelvic drop is
computed in ``metrics.py`` from the obliquity of ``signals.py``.
"""
