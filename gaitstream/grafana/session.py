"""Patient session: one patient's session, live, step by step.

Answers: how the pelvis moves right now (obliquity trace, trunk lean trace), whether each
step's pelvic drop stays inside the threshold band on each side, how the trunk compensates,
how regular the gait is (cadence, step-time asymmetry), how the classification evolved, and
which alerts fired (annotations and a table from ``gait_alert``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import statetimeline as timeline_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.models import common, dashboard

from gaitstream.grafana import queries, variables
from gaitstream.grafana.influx import InfluxAnnotationTarget, InfluxQL, datasource_ref
from gaitstream.grafana.panels import BY_COLUMN, BY_SIDE, classification_mappings, target, threshold_band, thresholds
from gaitstream.grafana.settings import DEFAULT_REPORTS_URL

BY_SCHEDULE = "$tag_schedule"
UID = "gaitstream-patient-session"
# The session report (services/report), served by the alerts API where compose publishes it
# (ALERTS_API_BIND/PORT); `push` and `clinics sync` rewrite it to the clinic's (report_links).
REPORT_LINK = DEFAULT_REPORTS_URL + "/v1/clinics/${clinic}/sessions/${session}/report.html"
REFRESH = "5s"
SIDE_COLOURS = {"left": "blue", "right": "purple"}


def _series(
    title: str, query: str, *, unit: str, width: int, height: int, description: str, alias: str = BY_COLUMN
) -> ts_b.Panel:
    return (
        ts_b.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(target(query, alias))
        .unit(unit)
        .span(width)
        .height(height)
        .legend(
            common_b.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .tooltip(common_b.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.NONE))
    )


def _per_step(title: str, query: str, threshold_deg: float, description: str) -> ts_b.Panel:
    """One point per step and side, the threshold drawn as a band (red above)."""
    panel = (
        _series(title, query, unit="degree", width=12, height=8, description=description, alias=BY_SIDE)
        .draw_style(common.GraphDrawStyle.POINTS)
        .point_size(5)
        .show_points(common.VisibilityMode.ALWAYS)
        .thresholds(thresholds("transparent", (threshold_deg, "red")))
        .thresholds_style(threshold_band())
    )
    for side, colour in SIDE_COLOURS.items():
        # By regexp: the series is named "<side>" by the alias (Grafana's own default names
        # "gait_step.<field> {side: <side>}" match too).
        panel = panel.override_by_regexp(
            f".*{side}.*", [dashboard.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})]
        )
    return panel


def _alert_annotation() -> dash_b.AnnotationQuery:
    return (
        dash_b.AnnotationQuery()
        .name("gaitstream alerts")
        .datasource(datasource_ref())
        .enable(True)
        .icon_color("red")
        .target(
            _Fixed(
                InfluxAnnotationTarget(
                    query=queries.SESSION_ALERTS,
                    text_column="message",
                    tags_column="kind,severity,state",
                    title_column="kind",
                )
            )
        )
    )


class _Fixed(dash_b.AnnotationTarget):
    """Hands a prebuilt annotation target to the SDK's AnnotationQuery builder."""

    def __init__(self, target: InfluxAnnotationTarget) -> None:
        self._target = target

    def build(self) -> InfluxAnnotationTarget:
        return self._target


def build() -> dashboard.Dashboard:
    builder = (
        dash_b.Dashboard("gaitstream: patient session")
        .uid(UID)
        .tags(["gaitstream"])
        .description("One patient's session, step by step.")
        .refresh(REFRESH)
        .time("now-15m", "now")
        .timezone("browser")
        .readonly()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .timepicker(dash_b.TimePicker().refresh_intervals(["1s", "5s", "10s", "30s", "1m"]))
        .with_variable(variables.clinic())
        .with_variable(variables.patient())
        .with_variable(variables.session())
        .annotation(_alert_annotation())
        .link(
            dash_b.DashboardLink("Session report")
            .type(dashboard.DashboardLinkType.LINK)
            .url(REPORT_LINK)
            .tooltip("PDF/HTML report of this session (made when it stops; the API key is the password)")
            .target_blank(True)
            .icon("doc")
        )
    )
    builder = builder.with_panel(
        _series(
            "Pelvic obliquity and trunk lean (live)",
            queries.SESSION_OBLIQUITY,
            unit="degree",
            width=24,
            height=8,
            description="Pelvic obliquity (positive = left side higher) and trunk lateral lean "
            "(positive = leaning left), about 20 Hz.",
        )
        .interval("50ms")
        .line_width(1)
        .fill_opacity(0)
        .show_points(common.VisibilityMode.NEVER)
    )
    builder = builder.with_panel(
        _per_step(
            "Pelvic drop per step",
            queries.SESSION_PELVIC_DROP,
            queries.PELVIC_DROP_THRESHOLD_DEG,
            "Pelvic drop of every stance step, left and right; the red band is above the clinic threshold.",
        )
    )
    builder = builder.with_panel(
        _per_step(
            "Trunk lean per step",
            queries.SESSION_TRUNK_LEAN,
            queries.TRUNK_LEAN_THRESHOLD_DEG,
            "Trunk lean toward the stance side of every step (compensated Trendelenburg).",
        )
    )
    builder = builder.with_panel(
        _series(
            "Cadence and step-time asymmetry",
            queries.SESSION_CADENCE_ASYMMETRY,
            unit="short",
            width=12,
            height=8,
            description="Cadence (steps/min) and step-time asymmetry 100·|L−R|/mean (%), "
            "over the last 20 steps per side.",
        ).override_by_regexp(
            ".*step_time_asymmetry_pct.*",
            [
                dashboard.DynamicConfigValue(id_val="unit", value="percent"),
                dashboard.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
    )
    builder = builder.with_panel(
        timeline_b.Panel()
        .title("Classification over time")
        .datasource(datasource_ref())
        .description("Live classification after each step.")
        .with_target(target(queries.SESSION_CLASSIFICATION, BY_COLUMN))
        .mappings(classification_mappings())
        .span(12)
        .height(8)
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
    )
    builder = builder.with_panel(
        _series(
            "Pelvic drop per step, by feedback schedule",
            queries.SESSION_FEEDBACK_STEPS,
            unit="degree",
            width=12,
            height=8,
            description="Every step of a session with a feedback screen, coloured by the schedule of its block "
            "(none = a probe without cues).",
            alias=BY_SCHEDULE,
        )
        .draw_style(common.GraphDrawStyle.POINTS)
        .point_size(5)
        .show_points(common.VisibilityMode.ALWAYS)
    )
    builder = builder.with_panel(
        table_b.Panel()
        .title("Feedback blocks")
        .datasource(datasource_ref())
        .description(
            "The session's feedback blocks in order: schedule, steps, dose (share of steps whose cue a screen "
            "showed) and median pelvic drop. A none block is a probe of what the patient does without cues."
        )
        .with_target(InfluxQL(queries.SESSION_FEEDBACK_BLOCKS).table())
        .span(12)
        .height(8)
        .decimals(2)
    )
    builder = builder.with_panel(
        table_b.Panel()
        .title("Alerts")
        .datasource(datasource_ref())
        .description("Alerts of this session (measurement gait_alert, written by the alert service).")
        .with_target(InfluxQL(queries.SESSION_ALERTS).table())
        .span(24)
        .height(6)
    )
    return builder.build()
