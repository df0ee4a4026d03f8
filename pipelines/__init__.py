"""Stream processing (Faust): station frames -> gait engine -> steps, status, trace -> InfluxDB.

Run with ``faust -A gaitstream.pipelines.app worker`` or ``gaitstream worker``.
"""
