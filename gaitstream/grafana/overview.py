"""Clinic overview: one row per station, repeated over the ``station`` variable.

Each row answers, for the patient on that treadmill now: who (patient id), how (live
classification, coloured), how much (pelvic drop and trunk lean, left and right, as the median
of the last 20 steps of each side, with their history as a sparkline), how fast (cadence), and
whether the data is live (time of the last sample; samples in the last 10 s, red at zero), and
whether its messages are being refused (dead letters in the time range).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import common, dashboard

from gaitstream.grafana import progress, queries, session, variables
from gaitstream.grafana.panels import BY_COLUMN, caveat_mappings, classification_mappings, reduce, stat, thresholds

UID = "gaitstream-clinic-overview"
# Supervisors glance at the wall screen: 5 s is the slowest refresh that still feels live.
REFRESH = "5s"
TILE_HEIGHT = 4


def _angle_pair(title: str, query: str, threshold_deg: float, description: str):
    return (
        stat(title, query, width=5, height=TILE_HEIGHT, description=description, alias=BY_COLUMN)
        .unit("degree")
        .decimals(1)
        .graph_mode(common.BigValueGraphMode.AREA)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .thresholds(thresholds("green", (threshold_deg, "red")))
    )


def _patient_links() -> list[dash_b.DashboardLink]:
    """From a station's patient to that patient's live session and progress dashboards."""
    patient = "var-clinic=${clinic}&var-patient=${__data.fields.patient}"
    return [
        dash_b.DashboardLink("Patient session").url(
            f"/d/{session.UID}?{patient}&var-session=${{__data.fields.session}}"
        ),
        dash_b.DashboardLink("Patient progress").url(f"/d/{progress.UID}?{patient}"),
    ]


def build() -> dashboard.Dashboard:
    row = dash_b.Row("Station $station").repeat("station")
    builder = (
        dash_b.Dashboard("gaitstream: clinic overview")
        .uid(UID)
        .tags(["gaitstream"])
        .description("Every treadmill station of the clinic, live.")
        .refresh(REFRESH)
        .time("now-5m", "now")
        .timezone("browser")
        .readonly()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .timepicker(dash_b.TimePicker().refresh_intervals(["1s", "5s", "10s", "30s", "1m"]))
        .with_variable(variables.clinic())
        .with_variable(variables.station())
        .with_row(row)
    )
    builder = builder.with_panel(
        stat(
            "Patient",
            queries.OVERVIEW_NOW,
            width=3,
            height=TILE_HEIGHT,
            table=True,
            description="Pseudonymous id of the patient on this station now.",
        )
        .reduce_options(reduce("lastNotNull", "/^patient$/"))
        .text_mode(common.BigValueTextMode.VALUE)
        .data_links(_patient_links())
        .color_mode(common.BigValueColorMode.NONE)
    )
    builder = builder.with_panel(
        stat(
            "Classification",
            queries.OVERVIEW_NOW,
            width=3,
            height=TILE_HEIGHT,
            table=True,
            description="Live classification over the last 20 steps per side (GAIT_SPEC), and its caveat: "
            "without quiet standing at the start the trunk lean is relative to the mean walking "
            "posture, where a lean to one side only reads small (compensated Trendelenburg may be "
            "missed).",
        )
        .reduce_options(reduce("lastNotNull", "/^(classification|caveat)$/"))
        .mappings(classification_mappings() + caveat_mappings())
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .text_mode(common.BigValueTextMode.VALUE)
    )
    builder = builder.with_panel(
        _angle_pair(
            "Pelvic drop L/R",
            queries.OVERVIEW_PELVIC_DROP,
            queries.PELVIC_DROP_THRESHOLD_DEG,
            "Median pelvic drop of the last 20 steps of each stance side; red above the clinic threshold.",
        )
    )
    builder = builder.with_panel(
        _angle_pair(
            "Trunk lean L/R",
            queries.OVERVIEW_TRUNK_LEAN,
            queries.TRUNK_LEAN_THRESHOLD_DEG,
            "Median trunk lean toward the stance side, last 20 steps per side (needs a trunk sensor).",
        )
    )
    builder = builder.with_panel(
        stat(
            "Cadence",
            queries.OVERVIEW_CADENCE,
            width=2,
            height=TILE_HEIGHT,
            description="Steps per minute from the median step times of both sides.",
        )
        .unit("short")
        .decimals(0)
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.NONE)
    )
    builder = builder.with_panel(
        stat(
            "Last data",
            queries.OVERVIEW_LAST_DATA,
            width=2,
            height=TILE_HEIGHT,
            description="When the last obliquity sample of this station arrived.",
        )
        .reduce_options(reduce("lastNotNull", "Time"))
        .unit("dateTimeFromNow")
        .color_mode(common.BigValueColorMode.NONE)
    )
    builder = builder.with_panel(
        stat(
            "Live",
            queries.OVERVIEW_LIVE_SAMPLES,
            width=2,
            height=TILE_HEIGHT,
            description="Obliquity samples per 10 s (about 200 while live); red when the station is silent.",
        )
        .decimals(0)
        .no_value("0")
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .thresholds(thresholds("red", (1, "orange"), (queries.LIVE_SAMPLES_PER_10S // 2, "green")))
    )
    builder = builder.with_panel(
        stat(
            "Refused",
            queries.OVERVIEW_REFUSED,
            width=2,
            height=TILE_HEIGHT,
            description="Messages of this station refused (dead-lettered) in the time range; orange from one. "
            "Each is kept in the dead-letter topic with its reason (InfluxDB measurement dead_letter).",
        )
        .decimals(0)
        .no_value("0")
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .thresholds(thresholds("green", (1, "orange")))
    )
    return builder.build()
