"""A short fault campaign (``tests/e2e/campaign.py``; the long one is ``benchmarks/fault_campaign.py``):
every fault kind once, on the real stack, checked against the in-process reference."""

from __future__ import annotations

import pytest

from tests.e2e.campaign import Campaign, Fault, Schedule

# Each fault kind once; the 30-60 s outages in a schedule of their own so that their recovery is
# what is measured. Times are wall seconds after the stations start (60 s of data at 2x: 30 s).
SCHEDULES = (
    Schedule(
        seed=9001,
        stations=6,
        data_s=60.0,
        faults=(Fault("worker_kill", 8.0, worker=0), Fault("worker_pause", 14.0, 16.0, worker=1)),
    ),
    Schedule(
        seed=9002, stations=6, data_s=60.0, faults=(Fault("broker_restart", 10.0), Fault("postgres_down", 12.0, 30.0))
    ),
    Schedule(seed=9003, stations=6, data_s=60.0, faults=(Fault("influxdb_down", 6.0, 60.0),)),
)


@pytest.fixture(scope="module")
def campaign(stack, kafka_settings, influx_settings, tmp_path_factory):
    from tests.postgres import PostgresError, new_postgres_server

    try:
        postgres = new_postgres_server()
    except PostgresError as error:
        pytest.fail(str(error))
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL not exercised: {postgres}")
    try:
        with Campaign(
            stack=stack,
            postgres=postgres,
            kafka=kafka_settings,
            influx=influx_settings,
            tmp=tmp_path_factory.mktemp("campaign"),
        ) as running:
            yield running
    finally:
        postgres.remove()


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: "+".join(f.kind for f in s.faults))
def test_no_step_or_alert_lost_or_duplicated_and_no_stale_checkpoint(campaign: Campaign, schedule: Schedule) -> None:
    outcome = campaign.run(schedule)
    print(
        f"\n{' '.join(f.label() for f in schedule.faults)}: steps {outcome.steps_landed}/{outcome.steps_expected}, "
        f"alerts {outcome.alerts_landed}/{outcome.alerts_expected}, resends {outcome.resends}, "
        f"other alerts {dict(outcome.other_alerts)}, restarts {outcome.process_restarts}, {outcome.elapsed_s:.0f} s"
    )
    assert outcome.steps_expected > 500 and outcome.alerts_expected > 0
    assert outcome.clean, (outcome, outcome.details)
