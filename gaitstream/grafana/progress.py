"""Patient progress: does the patient's gait improve across sessions and weeks?

Answers: per side, the median pelvic drop and trunk lean of each day's session against the
threshold, and a table of every session (median and 90th percentile of the drop, median lean,
median cadence, steps) for the therapist's notes.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.models import common, dashboard

from gaitstream.grafana import queries, variables
from gaitstream.grafana.influx import InfluxQL, datasource_ref
from gaitstream.grafana.panels import BY_SIDE, target, threshold_band, thresholds

UID = "gaitstream-patient-progress"


def _trend(
    title: str, query: str, threshold_deg: float, description: str, alias: str = BY_SIDE, width: int = 12
) -> ts_b.Panel:
    return (
        ts_b.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(target(query, alias))
        .unit("degree")
        .span(width)
        .height(9)
        .draw_style(common.GraphDrawStyle.LINE)
        .show_points(common.VisibilityMode.ALWAYS)
        .point_size(7)
        .span_nulls(True)
        .thresholds(thresholds("transparent", (threshold_deg, "red")))
        .thresholds_style(threshold_band())
        .legend(
            common_b.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )


def build() -> dashboard.Dashboard:
    builder = (
        dash_b.Dashboard("gaitstream: patient progress")
        .uid(UID)
        .tags(["gaitstream"])
        .description("One patient's sessions across weeks, per side.")
        .time("now-90d", "now")
        .timezone("browser")
        .readonly()
        .with_variable(variables.clinic())
        .with_variable(variables.patient())
    )
    builder = builder.with_panel(
        _trend(
            "Pelvic drop, median per session",
            queries.PROGRESS_PELVIC_DROP,
            queries.PELVIC_DROP_THRESHOLD_DEG,
            "Median pelvic drop per stance side of each day's session (UTC days); falling = the exercises work.",
        )
    )
    builder = builder.with_panel(
        _trend(
            "Trunk lean, median per session",
            queries.PROGRESS_TRUNK_LEAN,
            queries.TRUNK_LEAN_THRESHOLD_DEG,
            "Median trunk lean toward the stance side per session; falling with a level pelvis = less compensation.",
        )
    )
    builder = builder.with_panel(
        _trend(
            "Pelvic drop with feedback and in the no-feedback probes",
            queries.PROGRESS_FEEDBACK,
            queries.PELVIC_DROP_THRESHOLD_DEG,
            "Median pelvic drop per day in each feedback schedule's blocks. The none series is the probes "
            "without cues: when it stays low as the cues are withdrawn, the patient no longer needs them.",
            alias="$tag_schedule",
            width=24,
        )
        .with_target(target(queries.PROGRESS_DOSE, "$col"))
        .override_by_name(
            "dose",
            [
                dashboard.DynamicConfigValue(id_val="unit", value="percentunit"),
                dashboard.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
    )
    builder = builder.with_panel(
        table_b.Panel()
        .title("Sessions")
        .datasource(datasource_ref())
        .description("Every session of the patient per side: medians, 90th percentile, cadence, steps.")
        .with_target(InfluxQL(queries.PROGRESS_SESSIONS).table())
        .span(24)
        .height(10)
        .decimals(1)
    )
    return builder.build()
