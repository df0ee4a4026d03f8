"""The InfluxDB (InfluxQL) pieces the foundation SDK has no builder for: panel targets and
annotation queries. Both serialise to the JSON Grafana's InfluxDB data source stores for a raw
InfluxQL query, and parse back from it (see :func:`register`)."""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

from gaitstream.grafana.settings import DATASOURCE_UID

DATASOURCE_TYPE = "influxdb"
ResultFormat = Literal["time_series", "table"]


def datasource_ref(uid: str = DATASOURCE_UID) -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=uid)


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL panel target (``rawQuery: true``)."""

    def __init__(
        self,
        ref_id: str = "A",
        query: str = "",
        result_format: ResultFormat = "time_series",
        alias: str | None = None,
        hide: bool | None = None,
        datasource: dashboard.DataSourceRef | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.alias = alias
        self.hide = hide
        self.datasource = datasource if datasource is not None else datasource_ref()

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": self.datasource.to_json(),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ds = data.get("datasource") or {}
        return cls(
            ref_id=data.get("refId", "A"),
            query=data.get("query", ""),
            result_format=data.get("resultFormat", "time_series"),
            alias=data.get("alias"),
            hide=data.get("hide"),
            datasource=dashboard.DataSourceRef.from_json(ds) if ds else None,
        )


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder of :class:`InfluxQLQuery`, in the SDK's fluent style."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQLQuery(query=query)

    def build(self) -> InfluxQLQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def table(self) -> Self:
        self._internal.result_format = "table"
        return self

    def alias(self, alias: str) -> Self:
        self._internal.alias = alias
        return self


class InfluxAnnotationTarget(dashboard.AnnotationTarget):
    """An InfluxQL annotation query. The SDK models only the built-in Grafana annotation target
    (limit, matchAny, tags, type); this adds what the InfluxDB data source reads."""

    def __init__(self, query: str = "", text_column: str = "", tags_column: str = "", title_column: str = "") -> None:
        super().__init__()
        self.query = query
        self.text_column = text_column
        self.tags_column = tags_column
        self.title_column = title_column

    def to_json(self) -> dict[str, object]:
        return {
            "refId": "Anno",
            "query": self.query,
            "rawQuery": True,
            "fromAnnotations": True,
            "resultFormat": "table",
            "textColumn": self.text_column,
            "tagsColumn": self.tags_column,
            "titleColumn": self.title_column,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            query=data.get("query", ""),
            text_column=data.get("textColumn", ""),
            tags_column=data.get("tagsColumn", ""),
            title_column=data.get("titleColumn", ""),
        )


def register() -> None:
    """Teach the SDK's runtime to parse InfluxDB targets into :class:`InfluxQLQuery` (idempotent)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=InfluxQLQuery.from_json)
    )


def load_dashboard(data: dict[str, Any]) -> dashboard.Dashboard:
    """Parse dashboard JSON with the SDK, keeping InfluxQL annotation queries the SDK would drop."""
    register()
    model = dashboard.Dashboard.from_json(data)
    raw_annotations = (data.get("annotations") or {}).get("list") or []
    for parsed, raw in zip(model.annotations.list_val or [], raw_annotations, strict=True):
        if (raw.get("datasource") or {}).get("type") == DATASOURCE_TYPE and "target" in raw:
            parsed.target = InfluxAnnotationTarget.from_json(raw["target"])
    return model
