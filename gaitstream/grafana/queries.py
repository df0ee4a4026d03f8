"""Every InfluxQL query of the dashboards and alert rules, as named constants.

The dashboards and alert rules embed these strings unchanged, and the tests run the very same
text against the real InfluxDB after substituting what Grafana substitutes: ``$timeFilter``
(``time >= <from>ms and time <= <to>ms``), ``$__interval`` and the template variables ``$clinic``,
``$station``, ``$patient``, ``$session`` (as regular expressions: Grafana writes a multi-value
selection as ``(a|b)``).

Measurements, tags and fields are those of ``pipelines/sink/points.py``; ``gait_alert`` (tags
clinic, station, patient, session; fields kind, severity, message, state) is written by the
alert service. InfluxQL only, so the same text runs on InfluxDB 1.8+, 2.x through a
DBRP mapping, and 3.x.
"""

from __future__ import annotations

from gaitstream.gait.config import GaitConfig

# GAIT_SPEC's default pelvic drop threshold (a clinic setting; the per-session value is not
# stored in InfluxDB, so dashboards and alert rules use the clinic default).
PELVIC_DROP_THRESHOLD_DEG = GaitConfig().pelvic_drop_threshold_deg
TRUNK_LEAN_THRESHOLD_DEG = GaitConfig().trunk_lean_threshold_deg
# The obliquity trace arrives at about 20 Hz: 200 samples per 10 s bucket while a station is live.
LIVE_SAMPLES_PER_10S = 200

_STATION = '"clinic" =~ /^$clinic$/ AND "station" =~ /^$station$/'
_SESSION = '"clinic" =~ /^$clinic$/ AND "patient" =~ /^$patient$/ AND "session" =~ /^$session$/'
_PATIENT = '"clinic" =~ /^$clinic$/ AND "patient" =~ /^$patient$/'

# --- template variables -------------------------------------------------------------------
VAR_CLINIC = 'SHOW TAG VALUES FROM "gait_step" WITH KEY = "clinic"'
VAR_STATION = 'SHOW TAG VALUES FROM "gait_step" WITH KEY = "station" WHERE "clinic" =~ /^$clinic$/'
VAR_PATIENT = 'SHOW TAG VALUES FROM "gait_step" WITH KEY = "patient" WHERE "clinic" =~ /^$clinic$/'
VAR_SESSION = (
    'SHOW TAG VALUES FROM "gait_step" WITH KEY = "session" WHERE "clinic" =~ /^$clinic$/ AND "patient" =~ /^$patient$/'
)

# --- Clinic overview (one repeated row per station) -------------------------------------
OVERVIEW_NOW = (
    'SELECT last("classification") AS "classification", "classification_flags" AS "caveat", "patient", '
    f'"session" FROM "gait_status" WHERE {_STATION} AND $timeFilter'
)
OVERVIEW_PELVIC_DROP = (
    'SELECT mean("pelvic_drop_deg_median_left") AS "left", '
    'mean("pelvic_drop_deg_median_right") AS "right" FROM "gait_status" '
    f"WHERE {_STATION} AND $timeFilter GROUP BY time($__interval) fill(none)"
)
OVERVIEW_TRUNK_LEAN = (
    'SELECT mean("trunk_lean_deg_median_left") AS "left", '
    'mean("trunk_lean_deg_median_right") AS "right" FROM "gait_status" '
    f"WHERE {_STATION} AND $timeFilter GROUP BY time($__interval) fill(none)"
)
OVERVIEW_CADENCE = (
    'SELECT mean("cadence_spm") AS "cadence_spm" FROM "gait_status" '
    f"WHERE {_STATION} AND $timeFilter GROUP BY time($__interval) fill(none)"
)
OVERVIEW_LAST_DATA = (
    'SELECT last("pelvic_obliquity_deg") AS "pelvic_obliquity_deg" FROM "pelvic_trace" '
    f"WHERE {_STATION} AND $timeFilter"
)
# Samples per 10 s bucket averaged over the last two buckets (the current one is partial):
# about 200 while the 20 Hz trace flows, 0 after 10-20 s of silence.
OVERVIEW_LIVE_SAMPLES = (
    'SELECT moving_average(count("pelvic_obliquity_deg"), 2) AS "samples_per_10s" '
    f'FROM "pelvic_trace" WHERE {_STATION} AND $timeFilter GROUP BY time(10s) fill(0)'
)

# Messages of the station refused (dead-lettered) in the time range, whatever the reason.
OVERVIEW_REFUSED = f'SELECT sum("count") AS "refused" FROM "dead_letter" WHERE {_STATION} AND $timeFilter'

# --- Patient session -----------------------------------------------------------------------
SESSION_OBLIQUITY = (
    'SELECT mean("pelvic_obliquity_deg") AS "pelvic_obliquity_deg", '
    'mean("trunk_lateral_lean_deg") AS "trunk_lateral_lean_deg" FROM "pelvic_trace" '
    f"WHERE {_SESSION} AND $timeFilter GROUP BY time($__interval) fill(none)"
)
SESSION_PELVIC_DROP = f'SELECT "pelvic_drop_deg" FROM "gait_step" WHERE {_SESSION} AND $timeFilter GROUP BY "side"'
SESSION_TRUNK_LEAN = f'SELECT "trunk_lean_deg" FROM "gait_step" WHERE {_SESSION} AND $timeFilter GROUP BY "side"'
SESSION_CADENCE_ASYMMETRY = (
    f'SELECT "cadence_spm", "step_time_asymmetry_pct" FROM "gait_status" WHERE {_SESSION} AND $timeFilter'
)
SESSION_CLASSIFICATION = f'SELECT "classification" FROM "gait_status" WHERE {_SESSION} AND $timeFilter'
SESSION_ALERTS = f'SELECT "kind", "severity", "state", "message" FROM "gait_alert" WHERE {_SESSION} AND $timeFilter'

# --- The patient's feedback screen (measurement gait_feedback, one point per step) ---
# Per block of the session: its schedule, steps, dose (share of steps with a cue shown) and the
# median pelvic drop; the blocks in order show a probe, the feedback and the probe after it.
SESSION_FEEDBACK_BLOCKS = (
    'SELECT count("cue") AS "steps", mean("shown") AS "dose", median("pelvic_drop_deg") AS "pelvic_drop_deg_median" '
    f'FROM "gait_feedback" WHERE {_SESSION} AND $timeFilter GROUP BY "block", "schedule"'
)
SESSION_FEEDBACK_STEPS = (
    f'SELECT "pelvic_drop_deg" FROM "gait_feedback" WHERE {_SESSION} AND $timeFilter GROUP BY "schedule"'
)

# --- Patient progress (one point per side and UTC day: clinics hold one session a day) ----
PROGRESS_PELVIC_DROP = (
    'SELECT median("pelvic_drop_deg") AS "pelvic_drop_deg_median" FROM "gait_step" '
    f'WHERE {_PATIENT} AND $timeFilter GROUP BY time(1d), "side" fill(none)'
)
PROGRESS_TRUNK_LEAN = (
    'SELECT median("trunk_lean_deg") AS "trunk_lean_deg_median" FROM "gait_step" '
    f'WHERE {_PATIENT} AND $timeFilter GROUP BY time(1d), "side" fill(none)'
)
PROGRESS_SESSIONS = (
    'SELECT median("pelvic_drop_deg") AS "pelvic_drop_deg_median", '
    'percentile("pelvic_drop_deg", 90) AS "pelvic_drop_deg_p90", '
    'median("trunk_lean_deg") AS "trunk_lean_deg_median", '
    'median("cadence_spm") AS "cadence_spm_median", count("pelvic_drop_deg") AS "steps" '
    f'FROM "gait_step" WHERE {_PATIENT} AND $timeFilter '
    'GROUP BY time(1d), "session", "side" fill(none)'
)

# Retention, what the programme is after: per day, the median pelvic drop in each schedule's
# blocks; the "none" series is the no-feedback probes (does the patient keep the pelvis level
# without cues?), and the daily dose shows the cues being withdrawn.
PROGRESS_FEEDBACK = (
    'SELECT median("pelvic_drop_deg") AS "pelvic_drop_deg_median" FROM "gait_feedback" '
    f'WHERE {_PATIENT} AND $timeFilter GROUP BY time(1d), "schedule" fill(none)'
)
PROGRESS_DOSE = (
    'SELECT mean("shown") AS "dose" FROM "gait_feedback" '
    f"WHERE {_PATIENT} AND \"schedule\" != 'none' AND $timeFilter GROUP BY time(1d) fill(none)"
)

# --- The pipeline's dead-man's switch (the one Grafana rule; gaitstream/grafana/alerts.py) ----
# Obliquity samples per clinic and minute over the rule's range, 0 for minutes without any:
# the last bucket falls to 0 once no station's data reaches InfluxDB.
ALERT_PIPELINE_SAMPLES = (
    'SELECT count("pelvic_obliquity_deg") AS "samples" FROM "pelvic_trace" '
    'WHERE $timeFilter GROUP BY time(1m), "clinic" fill(0)'
)
# Sessions of a clinic still open (gait_session.active: 1 at the start event, 0 at the stop).
ALERT_OPEN_SESSIONS = (
    'SELECT sum("active") AS "open_sessions" FROM (SELECT last("active") AS "active" '
    'FROM "gait_session" WHERE $timeFilter GROUP BY "clinic", "session") GROUP BY "clinic"'
)


def all_queries() -> dict[str, str]:
    """Every query constant of this module by name (for the README and the tests)."""
    return {
        name: value
        for name, value in globals().items()
        if name.isupper() and isinstance(value, str) and value.startswith(("SELECT ", "SHOW "))
    }
