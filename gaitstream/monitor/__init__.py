"""Live monitoring of a station's session (pure): frames, station state, rolling status, alert rules.

The pipeline's gait agent (``gaitstream.pipelines.gait.agents``) runs these modules; they know
nothing of Kafka or Faust. Alert rules, each opening once and resolving once (hysteresis), with a
deterministic ``alert_id`` (session, kind, side or sensor, the step or frame that opened it: a
replay reproduces it); default severity warning unless said:

- ``pelvic_drop_sustained`` / ``trunk_lean_sustained`` (``rules.SustainedDeviation``): opens when
  >= 70 % of a side's last 20 stance steps are over the session threshold; resolves at <= 50 %.
- ``worsening`` (``worsening.Worsening``): median of a side's last 20 steps >= baseline + 2.0 deg;
  resolves at <= baseline + 1.0 deg.
- ``station_silent`` (``rules.StationSilence``, critical): no frame for 10 s (worker wall clock)
  in an open session; resolves with data again, or the stop.
- ``sensor_fault`` (``sensor.SensorHealth``), resolving after 10 s healthy unless said:
  ``saturation`` (>= 2 % of 2 s of an axis at >= 98 % of full scale, 16 g / 2000 deg/s);
  ``flat_signal`` (an axis spanning < 1 LSB for 3 s while the sensor moves, or all six flat);
  ``dropped_frames`` (>= 5 % of 10 s of samples lost between frames; resolves at <= 1 %);
  ``corrupt_samples`` (a non-finite, out-of-range (32 g, 4000 deg/s) or rate-impulse sample in
  the last second, which the engine treats as missing).

Alerts about the data's way in rather than the patient:

- ``station_clock`` (``door.StationClockFaults``, critical): a message whose sample time is over
  an hour from Kafka's record time (a clock in milliseconds or nanoseconds, a reset RTC) is
  refused; resolves with the station's next message whose clock is right.
- ``frames_refused`` (``refused.RefusedFrames``, raised by the InfluxDB sink from the dead
  letters): 5 of a station's messages refused within 60 s; resolves after 60 s with none.
- ``pipeline_fault`` (``pipeline_fault.PipelineFault``, critical, per clinic): InfluxDB refuses the
  sink itself (token, org, bucket); the sink retries the same batch; resolves when it writes again.

Every open alert of a session resolves at its stop ("session ended"). Why each default is what it
is: ``alert_settings``. Baseline = median of the patient's previous sessions' per-side medians (the last
5, at least 2 with 20 steps on that side), frozen at the session start.

Settings (``alert_settings.AlertSettings``): clinic defaults overridable per patient, resolved field
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
