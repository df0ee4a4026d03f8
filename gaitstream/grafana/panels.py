"""Panel pieces shared by the dashboards: classification colours, thresholds, tiles."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.models import common, dashboard

from gaitstream.gait.classification import FLAG_TRUNK_LEAN_REFERENCE_WALKING, Classification
from gaitstream.grafana.influx import InfluxQL, datasource_ref

# Classification colours: green = normal, red = uncompensated Trendelenburg, orange = compensated
# (the trunk hides the drop), blue = not enough steady steps yet.
CLASSIFICATION_COLOURS = {
    Classification.NORMAL: "green",
    Classification.TRENDELENBURG_LEFT: "red",
    Classification.TRENDELENBURG_RIGHT: "red",
    Classification.TRENDELENBURG_BILATERAL: "dark-red",
    Classification.COMPENSATED_TRENDELENBURG_LEFT: "orange",
    Classification.COMPENSATED_TRENDELENBURG_RIGHT: "orange",
    Classification.INSUFFICIENT_DATA: "blue",
}


def classification_mappings() -> list[dashboard.ValueMapping]:
    options = {
        str(label): dashboard.ValueMappingResult(text=str(label).replace("_", " "), color=colour, index=i)
        for i, (label, colour) in enumerate(CLASSIFICATION_COLOURS.items())
    }
    return [dashboard.ValueMap(options=options)]


def caveat_mappings() -> list[dashboard.ValueMapping]:
    """The classification's flags (``gait_status.classification_flags``, comma-separated): shown in
    words, orange; no flag shows nothing."""
    flagged = dashboard.ValueMap(
        options={
            FLAG_TRUNK_LEAN_REFERENCE_WALKING: dashboard.ValueMappingResult(
                text="no standing: one-sided lean may be missed", color="orange", index=len(CLASSIFICATION_COLOURS)
            )
        }
    )
    empty = dashboard.SpecialValueMap(
        options=dashboard.DashboardSpecialValueMapOptions(
            match=dashboard.SpecialValueMatch.EMPTY,
            result=dashboard.ValueMappingResult(text=" ", color="transparent", index=len(CLASSIFICATION_COLOURS) + 1),
        )
    )
    return [flagged, empty]


def thresholds(base: str, *steps: tuple[float, str]) -> dash_b.ThresholdsConfig:
    return (
        dash_b.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                dashboard.Threshold(value=None, color=base),
                *(dashboard.Threshold(value=value, color=colour) for value, colour in steps),
            ]
        )
    )


def threshold_band() -> common_b.GraphThresholdsStyleConfig:
    """Draw the thresholds as a line with the area above it filled (the red band)."""
    return common_b.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE_AND_AREA)


def reduce(calc: str, fields: str = "") -> common_b.ReduceDataOptions:
    return common_b.ReduceDataOptions().calcs([calc]).fields(fields).values(False)


# Series names from InfluxQL aliases: the column ("left", "cadence_spm") or the side tag.
BY_COLUMN = "$col"
BY_SIDE = "$tag_side"


def target(query: str, alias: str | None = None, *, table: bool = False) -> InfluxQL:
    """A raw InfluxQL target; ``table`` keeps the columns as fields named like the columns."""
    built = InfluxQL(query) if alias is None else InfluxQL(query).alias(alias)
    return built.table() if table else built


def stat(
    title: str, query: str, *, width: int, height: int, description: str, alias: str | None = None, table: bool = False
) -> stat_b.Panel:
    """A stat tile over one InfluxQL query, no sparkline unless asked for."""
    return (
        stat_b.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(target(query, alias, table=table))
        .span(width)
        .height(height)
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .text_mode(common.BigValueTextMode.AUTO)
        .justify_mode(common.BigValueJustifyMode.CENTER)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(reduce("lastNotNull"))
    )
