"""gaitstream: real-time gait quality for rehabilitation treadmills.

Layout (one guess each):
- ``gaitstream.gait``: pure computation (orientation, gait events, pelvic drop,
  trunk lean, classification, simulator); numpy/scipy/imufusion only.
- ``gaitstream.stack``: the local real Kafka + InfluxDB used by development, tests and CI.
- ``pipelines``: the Faust stream processing (frames -> steps -> InfluxDB).
- ``services``: long-running processes a clinic runs (stations, alerts).
"""

__version__ = "0.1.0"
