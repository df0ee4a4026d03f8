"""Grafana for gaitstream: dashboards and alert rules as code, provisioning, and a push to an
existing Grafana. Every InfluxQL query lives in :mod:`gaitstream.grafana.queries`; the tests run
that very text against the real InfluxDB."""
