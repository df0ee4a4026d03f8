"""A station across a broker outage, killed during it and restarted, through the real pipeline:
every spooled frame arrives once, in order, and InfluxDB holds each session's steps once
(the 10-minute outage: ``benchmarks/station_outage.py``)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import PipelineRun
from tests.e2e.outage import run_outage


@pytest.fixture()
def pipeline(kafka_settings, influx_settings, tmp_path):
    run = PipelineRun(kafka=kafka_settings, influx=influx_settings, tmp=tmp_path)
    yield run
    run.stop()


def test_an_outage_with_the_station_killed_during_it_loses_and_duplicates_nothing(stack, pipeline, tmp_path) -> None:
    outcome = run_outage(
        stack, pipeline, tmp_path, data_s=80.0, speed=2.0, outage_at_s=8.0, outage_s=20.0, kill_after_s=8.0
    )
    print(f"station_outage {outcome}")
    assert outcome.clean, outcome
    assert len(outcome.frames_by_session) == 2 and outcome.spooled_by_a > 0
    assert all(n > 0 for n in outcome.steps_expected.values())
