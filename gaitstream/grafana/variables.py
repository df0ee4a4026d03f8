"""Template variables: clinic, station, patient, session (all from InfluxDB tag values)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard

from gaitstream.grafana import queries
from gaitstream.grafana.influx import datasource_ref


def _query_variable(name: str, label: str, query: str, *, multi: bool) -> dash_b.QueryVariable:
    variable = (
        dash_b.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(datasource_ref())
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.NATURAL_ASC)
    )
    if multi:
        variable = variable.multi(True).include_all(True)
    return variable


def clinic() -> dash_b.QueryVariable:
    return _query_variable("clinic", "Clinic", queries.VAR_CLINIC, multi=False)


def station() -> dash_b.QueryVariable:
    return _query_variable("station", "Station", queries.VAR_STATION, multi=True)


def patient() -> dash_b.QueryVariable:
    return _query_variable("patient", "Patient", queries.VAR_PATIENT, multi=False)


def session() -> dash_b.QueryVariable:
    return _query_variable("session", "Session", queries.VAR_SESSION, multi=False)
