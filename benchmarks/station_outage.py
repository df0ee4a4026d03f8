"""A station across a long broker outage, through the real pipeline (10 minutes by default).

Station A streams a session in real time with its on-disk spool; the broker stops; in the middle
of the outage A is SIGKILLed and station B starts on the same spool (a new session); the broker
comes back and B runs on. ``tests/e2e/outage.py`` says what is checked. Printed: frames per
session, duplicates, gaps, records A left in its spool, the spool's peak size, how long the
spool took to drain once the broker was back, steps expected and landed in InfluxDB, worker
restarts.

Usage: ``.venv/bin/python benchmarks/station_outage.py`` (10-minute outage, about 14 minutes;
``--outage-s 120`` for a shorter one). Starts the local stack if needed; stops what it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from gaitstream.settings import InfluxSettings
    from gaitstream.stack import Stack
    from tests.e2e.harness import PipelineRun
    from tests.e2e.outage import run_outage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-s", type=float, default=600.0)
    parser.add_argument("--before-s", type=float, default=60.0, help="streaming before the broker stops")
    parser.add_argument("--after-s", type=float, default=120.0, help="streaming after the broker is back")
    args = parser.parse_args()
    console = Console(stderr=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack(console=console)
    report = stack.up()
    env = stack.env()
    influx = InfluxSettings(
        url=env["GAITSTREAM_INFLUX_URL"],
        token=env["GAITSTREAM_INFLUX_TOKEN"],
        org=env["GAITSTREAM_INFLUX_ORG"],
        bucket=env["GAITSTREAM_INFLUX_BUCKET"],
        database=env["GAITSTREAM_INFLUX_DATABASE"],
    )
    tmp = Path(tempfile.mkdtemp(prefix="gaitstream-outage-"))
    pipeline = PipelineRun(kafka=stack.kafka.client_settings("admin"), influx=influx, tmp=tmp)
    started = time.monotonic()
    try:
        outcome = run_outage(
            stack,
            pipeline,
            tmp,
            data_s=args.before_s + args.outage_s + args.after_s,
            speed=1.0,
            outage_at_s=args.before_s,
            outage_s=args.outage_s,
            kill_after_s=args.outage_s / 2,
            progress=lambda line: console.print(f"{line} elapsed_s={time.monotonic() - started:.0f}"),
        )
    finally:
        pipeline.stop()
        stack.stop(report.started)
    console.print(
        f"station_outage outage_s={args.outage_s:.0f} clean={outcome.clean} "
        f"frames_by_session={list(outcome.frames_by_session.values())} duplicates={outcome.duplicates} "
        f"gaps={outcome.gaps} out_of_order={outcome.out_of_order} spooled_by_killed_station={outcome.spooled_by_a} "
        f"last_spooled_arrived={outcome.a_last_spooled_arrived} spool_peak_bytes={outcome.spool_peak_bytes} "
        f"drain_s={outcome.drain_s:.1f} steps_expected={list(outcome.steps_expected.values())} "
        f"steps_landed={list(outcome.steps_landed.values())} steps_duplicated={outcome.steps_duplicated} "
        f"steps_different={outcome.steps_different} worker_restarts={outcome.worker_restarts} "
        f"elapsed_s={time.monotonic() - started:.0f}"
    )
    for line in outcome.details:
        console.print(f"  {line}")
    return 0 if outcome.clean else 1


if __name__ == "__main__":
    sys.exit(main())
