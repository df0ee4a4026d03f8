"""Settings of the Grafana tooling (``GAITSTREAM_GRAFANA_*``).

The API token has no default: ``push`` fails when it is neither passed nor set. The uids are
the ones the provisioning files declare, so a pushed Grafana and a provisioned one agree.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The uid of the InfluxDB data source in provisioning/datasources/influxdb.yaml; dashboards and
# alert rules reference it by this uid, never by name.
DATASOURCE_UID = "gaitstream-influxdb"
# The folder dashboards and alert rules live in (provisioning/dashboards/gaitstream.yaml).
FOLDER_UID = "gaitstream"
FOLDER_TITLE = "gaitstream"
# Where the dashboards' "Session report" links point: the alerts API as compose publishes it
# (ALERTS_API_BIND/PORT). The provisioned files keep this address; `push` and `clinics sync`
# write the clinic's own (GAITSTREAM_GRAFANA_REPORTS_URL, e.g. its TLS proxy's address).
DEFAULT_REPORTS_URL = "http://localhost:8088"


class GrafanaSettings(BaseSettings):
    """Where ``gaitstream grafana push`` uploads to."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_GRAFANA_", extra="ignore")

    url: str = "http://127.0.0.1:3000"
    # A Grafana service-account token with the Editor role (folders, dashboards, alert rules).
    token: SecretStr
    timeout_s: float = 10.0
    reports_url: str = DEFAULT_REPORTS_URL


class ClinicSyncSettings(BaseSettings):
    """What ``gaitstream grafana clinics sync`` needs: Grafana's server admin (only a server admin
    creates organisations; a service-account token belongs to one organisation) and the read-only
    InfluxDB login each clinic's data source is given (as Grafana's container reaches InfluxDB)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_GRAFANA_", extra="ignore")

    url: str = "http://127.0.0.1:3000"
    admin_user: str = "admin"
    admin_password: SecretStr
    influxdb_url: str = "http://influxdb:8086"
    influxdb_database: str = "gaitstream"
    influxdb_user: str = "grafana"
    # GRAFANA_INFLUXDB_TOKEN of the compose file: the password of the read-only v1 login.
    influxdb_password: SecretStr
    timeout_s: float = 10.0
    reports_url: str = DEFAULT_REPORTS_URL
