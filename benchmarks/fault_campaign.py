"""Fault campaign over the real local stack: randomized schedules of worker SIGKILL, worker SIGSTOP
past the session timeout, broker restart, InfluxDB down 60 s and PostgreSQL down 30 s, each
checked against the in-process reference (``tests/e2e/campaign.py`` says what is checked).

Prints one row per schedule (faults injected; steps and alerts expected, landed, lost,
duplicated; stale checkpoints; processes restarted) and the totals.

Usage: ``.venv/bin/python benchmarks/fault_campaign.py --schedules 50``
(``--fast`` draws only the faults that need no 30-60 s outage; ``--json out.json`` keeps the rows).
Starts the local stack if needed and a throwaway PostgreSQL; stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from gaitstream.settings import InfluxSettings
    from gaitstream.stack import Stack
    from tests.e2e.campaign import FAST_FAULTS, FAULTS, Campaign, random_schedule
    from tests.postgres import new_postgres_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1, help="the first schedule's seed (then +1 each)")
    parser.add_argument("--fast", action="store_true", help="only worker kill/pause and broker restart")
    parser.add_argument("--kinds", nargs="+", choices=FAULTS, help="draw only these faults")
    parser.add_argument("--stations", type=int, default=6)
    parser.add_argument("--data-s", type=float, default=60.0, help="each session's length (data time)")
    parser.add_argument("--speed", type=float, default=2.0, help="stations stream this many times real time")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    console = Console(stderr=True)
    # A SIGTERM (kill, a CI timeout) unwinds like Ctrl-C: workers, dispatcher and PostgreSQL stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    stack = Stack(console=console)
    report = stack.up()
    postgres = new_postgres_server()
    if isinstance(postgres, str):
        console.print(f"no PostgreSQL here: {postgres}")
        return 2
    env = stack.env()
    # The campaign's stations sign their records with the stack's secret, as the test fixture sets it
    # (the stack generated it at its first start; nothing to evaluate in the shell first).
    os.environ.setdefault("GAITSTREAM_STATION_SIGNING_SECRET", env["GAITSTREAM_STATION_SIGNING_SECRET"])
    kafka = stack.kafka.client_settings("admin")  # the campaign's own reads and topics: the operator
    influx = InfluxSettings(
        url=env["GAITSTREAM_INFLUX_URL"],
        token=env["GAITSTREAM_INFLUX_TOKEN"],
        org=env["GAITSTREAM_INFLUX_ORG"],
        bucket=env["GAITSTREAM_INFLUX_BUCKET"],
        database=env["GAITSTREAM_INFLUX_DATABASE"],
    )
    kinds = tuple(args.kinds) if args.kinds else FAST_FAULTS if args.fast else FAULTS
    outcomes = []
    started = time.monotonic()
    try:
        # Worker and dispatcher logs: kept when a schedule was not clean (removed otherwise).
        logs = Path(tempfile.mkdtemp(prefix="gaitstream-campaign-"))
        console.print(f"campaign_logs dir={logs}")
        with Campaign(
            stack=stack, postgres=postgres, kafka=kafka, influx=influx, tmp=logs, speed=args.speed
        ) as campaign:
            for n in range(args.schedules):
                schedule = random_schedule(
                    args.seed + n, kinds=kinds, stations=args.stations, data_s=args.data_s, speed=args.speed
                )
                faults = ", ".join(f.label() for f in schedule.faults)
                console.print(f'campaign_schedule n={n + 1}/{args.schedules} seed={schedule.seed} faults="{faults}"')
                outcome = campaign.run(schedule)
                outcomes.append(outcome)
                console.print(
                    f"campaign_result n={n + 1} clean={outcome.clean} steps={outcome.steps_landed}/"
                    f"{outcome.steps_expected} alerts={outcome.alerts_landed}/{outcome.alerts_expected} "
                    f"elapsed_s={outcome.elapsed_s:.0f} total_min={(time.monotonic() - started) / 60:.1f}"
                )
                for line in outcome.details[:10]:
                    console.print(f"  {line}")
                if args.json:  # after every schedule: a long campaign cut short keeps its rows
                    args.json.write_text(json.dumps([_row(o) for o in outcomes], indent=1))
    finally:
        postgres.remove()
        stack.stop(report.started)
    if all(o.clean for o in outcomes):
        shutil.rmtree(logs, ignore_errors=True)
    else:
        console.print(f"campaign_logs kept={logs}")
    _print(outcomes, Console(width=200))
    return 0 if all(o.clean for o in outcomes) else 1


def _row(outcome) -> dict:
    return {
        "seed": outcome.schedule.seed,
        "faults": [f.label() for f in outcome.schedule.faults],
        **{
            name: getattr(outcome, name)
            for name in (
                "steps_expected",
                "steps_landed",
                "steps_lost",
                "steps_duplicated",
                "steps_different",
                "alerts_expected",
                "alerts_landed",
                "alerts_lost",
                "alerts_duplicated",
                "resends",
                "stale_checkpoints",
                "process_restarts",
                "elapsed_s",
            )
        },
        "other_alerts": dict(outcome.other_alerts),
        "details": outcome.details[:20],
    }


def _print(outcomes, console: Console) -> None:
    table = Table(title="fault campaign")
    for column in (
        "seed",
        "faults",
        "steps exp",
        "landed",
        "lost",
        "dup",
        "diff",
        "alerts exp",
        "landed",
        "lost",
        "dup",
        "resent",
        "other alerts",
        "stale ckpt",
        "restarts",
        "s",
    ):
        table.add_column(column)
    totals = dict.fromkeys(
        ("steps_expected", "steps_landed", "steps_lost", "steps_duplicated", "steps_different")
        + ("alerts_expected", "alerts_landed", "alerts_lost", "alerts_duplicated", "resends", "stale_checkpoints"),
        0,
    )
    for o in outcomes:
        for name in totals:
            totals[name] += getattr(o, name)
        table.add_row(
            str(o.schedule.seed),
            "\n".join(f.label() for f in o.schedule.faults),
            *(
                str(getattr(o, name))
                for name in ("steps_expected", "steps_landed", "steps_lost", "steps_duplicated", "steps_different")
            ),
            *(
                str(getattr(o, name))
                for name in ("alerts_expected", "alerts_landed", "alerts_lost", "alerts_duplicated", "resends")
            ),
            ", ".join(f"{k} {v}" for k, v in sorted(o.other_alerts.items())) or "-",
            str(o.stale_checkpoints),
            str(o.process_restarts),
            f"{o.elapsed_s:.0f}",
        )
    console.print(table)
    kinds: dict[str, int] = {}
    for o in outcomes:
        for f in o.schedule.faults:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
    console.print(
        f"schedules={len(outcomes)} clean={sum(o.clean for o in outcomes)} faults="
        + ",".join(f"{k}:{v}" for k, v in sorted(kinds.items()))
        + " "
        + " ".join(f"{k}={v}" for k, v in totals.items())
    )


if __name__ == "__main__":
    raise SystemExit(main())
