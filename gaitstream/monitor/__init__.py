"""Alert rules of the pipeline (issue 6). Pure modules; ``gaitstream.pipelines.gait.agents`` runs them.

Rules, each opening once and resolving once (hysteresis), with a deterministic ``alert_id``
(session, kind, side or sensor, the step or frame that opened it: a replay reproduces it):

| kind | module | opens | resolves | default severity |
|---|---|---|---|---|
| ``pelvic_drop_sustained`` / ``trunk_lean_sustained`` | ``rules.SustainedDeviation`` | >= 70 % of a side's last 20 stance steps over the session threshold | <= 50 % | warning |
| ``worsening`` | ``worsening.Worsening`` | median of a side's last 20 steps >= baseline + 2.0 deg | <= baseline + 1.0 deg | warning |
| ``station_silent`` | ``rules.StationSilence`` | no frame for 10 s (worker wall clock) in an open session | data again, or the stop | critical |
| ``sensor_fault`` (``saturation``) | ``sensor.SensorHealth`` | >= 2 % of 2 s of an axis at >= 98 % of full scale (16 g, 2000 deg/s) | 10 s healthy | warning |
| ``sensor_fault`` (``flat_signal``) | ``sensor.SensorHealth`` | an axis spanning < 1 LSB for 3 s while the sensor moves, or all six flat | 10 s healthy | warning |
| ``sensor_fault`` (``dropped_frames``) | ``sensor.SensorHealth`` | >= 5 % of 10 s of samples lost between frames | <= 1 % | warning |
| ``sensor_fault`` (``corrupt_samples``) | ``sensor.SensorHealth`` | a non-finite, out-of-range (32 g, 4000 deg/s) or rate-impulse sample in the last second (the engine treats it as missing) | 10 s healthy | warning |

Every open alert of a session resolves at its stop ("session ended"). Why each default is what it
is: ``settings``. Baseline = median of the patient's previous sessions' per-side medians (the last
5, at least 2 with 20 steps on that side), frozen at the session start.

Settings (``settings.AlertSettings``): clinic defaults overridable per patient, resolved field
by field patient -> clinic -> built-in. They travel on the compacted topic
``<prefix>.alert-settings.v1`` (schema ``alert_settings``, key ``clinic/<c>`` or
``patient/<c>/<p>``), written by ``gaitstream alerts settings set`` and mirrored by every worker
in the GlobalTable ``alert-settings``; a change applies from the patient's next session start.
Session summaries (per-side medians and step counts) are appended to the patient's history on
``<prefix>.session-history.v1`` (schema ``session_history``, key ``<clinic>/<patient>``, the last
N sessions), mirrored in the GlobalTable ``session-history``.

Call surface for the agent: ``RollingStatus.evaluate_alerts(step)`` / ``close(time_us)`` /
``summary(time_us)`` (step rules), ``SessionWatch.on_frame(samples, ...)`` / ``check_silence(now_us)``
/ ``resume(now_us)`` / ``close(time_us)`` (frame rules), ``lookup.session_settings``,
``lookup.session_baseline`` and ``lookup.next_history`` (the global tables). Alerts go to
``<prefix>.alerts.v1`` (schema ``alert`` v2) and InfluxDB ``gait_alert``.
"""
