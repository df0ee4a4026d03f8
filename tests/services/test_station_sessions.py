"""A long-running station's sessions (pure), its configuration file, and the deploy examples."""

from __future__ import annotations

import configparser
from pathlib import Path

import numpy as np
import pytest

from gaitstream.services.station.config import StationConfigError, load_station_config, read_env_file
from gaitstream.services.station.frames import PELVIS_COLUMNS
from gaitstream.services.station.sessions import StationSessions
from gaitstream.services.station.trunk_join import TRUNK_COLUMNS

REPO = Path(__file__).resolve().parents[2]
RATE_HZ = 100.0
T0_S = 1_800_000_000.0


def _frame(first_s: float, trunk: float | None = 0.0) -> tuple[float, dict]:
    t = first_s + np.arange(10) / RATE_HZ
    block = {"time_s": t, **{c: np.full(10, 9.81 if c == "acc_z" else 0.0) for c in PELVIS_COLUMNS}}
    if trunk is not None:
        block.update({c: np.full(10, trunk) for c in TRUNK_COLUMNS})
    return first_s, block


def _sessions() -> StationSessions:
    ids = iter(f"s{i}" for i in range(10))
    return StationSessions(
        station_id="st",
        clinic_id="c",
        sampling_rate_hz=RATE_HZ,
        sensor_axes="x=forward,y=left,z=up",
        new_id=lambda: next(ids),
    )


def test_frames_leave_only_inside_a_session_numbered_from_zero() -> None:
    sessions = _sessions()
    assert sessions.frame(*_frame(T0_S)) == []  # no session: nothing is sent
    out = sessions.start(patient_id="p1", now_us=round((T0_S + 0.15) * 1e6), trunk=False, pelvic_drop_threshold_deg=6.0)
    assert out[0][1]["event"] == "start" and out[0][1]["pelvic_drop_threshold_deg"] == 6.0
    assert sessions.frame(*_frame(T0_S + 0.1)) == []  # began before the session
    records = sessions.frame(*_frame(T0_S + 0.2)) + sessions.frame(*_frame(T0_S + 0.3))
    assert [r[1]["sequence"] for r in records] == [0, 1]
    assert records[0][1]["first_sample_time_us"] == round((T0_S + 0.2) * 1e6)
    stop = sessions.stop(0, {"dropped_samples": 3})
    assert stop[0][1]["event"] == "stop" and stop[0][1]["dropped_samples"] == 3
    assert stop[0][1]["time_us"] == round((T0_S + 0.4) * 1e6)  # just after the last sample sent
    assert sessions.stop(0) == [] and sessions.frame(*_frame(T0_S + 0.5)) == []


def test_a_new_start_stops_the_open_session_first() -> None:
    sessions = _sessions()
    sessions.start(patient_id="p1", now_us=round(T0_S * 1e6), trunk=False)
    out = sessions.start(patient_id="p2", now_us=round((T0_S + 5) * 1e6), trunk=False)
    assert [(r[1]["session_id"], r[1]["event"]) for r in out] == [("s0", "stop"), ("s1", "start")]


def test_a_trunk_that_falls_silent_continues_the_session_pelvis_only() -> None:
    sessions = _sessions()
    sessions.start(patient_id="p1", now_us=round(T0_S * 1e6), trunk=True, trunk_lean_threshold_deg=7.0)
    first = sessions.frame(*_frame(T0_S + 0.1))
    assert len(first[0][1]["sensors"]) == 2
    out = sessions.frame(*_frame(T0_S + 0.2, trunk=np.nan))
    assert [(kind, rec.get("event"), rec["session_id"]) for kind, rec in out] == [
        ("session_event", "stop", "s0"),
        ("session_event", "start", "s1"),
        ("imu_frame", None, "s1"),
    ]
    assert out[1][1]["trunk_present"] is False and out[1][1]["trunk_lean_threshold_deg"] == 7.0
    assert out[2][1]["sequence"] == 0 and len(out[2][1]["sensors"]) == 1
    assert sessions.splits == 1


def test_the_example_configuration_loads_and_mistakes_name_file_and_key(tmp_path) -> None:
    example = load_station_config(REPO / "deploy" / "station" / "station.toml")
    assert example.pelvis.selector[0] in ("name", "type", "source_id")
    bad = tmp_path / "station.toml"
    bad.write_text('station_id = "st 1"\nclinic_id = "c"\nstate_dir = "s"\n[pelvis]\nname = "a"\ntype = "IMU"\n')
    with pytest.raises(StationConfigError) as caught:
        load_station_config(bad)
    message = str(caught.value)
    assert str(bad) in message and "station_id" in message and "exactly one of name, type, source_id" in message
    bad.write_text('station_id = "st"\nclinic_id = "c"\nstate_dir = "s"\npelvis = { name = "a", acc_unit = "G" }\n')
    with pytest.raises(StationConfigError, match="pelvis.acc_unit"):
        load_station_config(bad)


def test_the_env_file_reads_what_access_station_add_writes(tmp_path) -> None:
    env = tmp_path / "station.env"
    env.write_text("# comment\nGAITSTREAM_KAFKA_PASSWORD='p w$x'\nGAITSTREAM_KAFKA_CA_FILE=ca.crt\n")
    values = read_env_file(env)
    assert values["GAITSTREAM_KAFKA_PASSWORD"] == "p w$x"
    assert values["GAITSTREAM_KAFKA_CA_FILE"] == str(tmp_path / "ca.crt")
    env.write_text("not an assignment\n")
    with pytest.raises(StationConfigError, match="line 1"):
        read_env_file(env)


def test_the_systemd_unit_runs_the_station_and_does_not_restart_what_a_restart_cannot_fix() -> None:
    from typer.main import get_command

    from gaitstream.cli import build_app
    from gaitstream.services.station.daemon import EXIT_CONFIG, EXIT_REFUSED

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(REPO / "deploy" / "station" / "gaitstream-station@.service")
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[1:4] == ["station", "run", "--config"]
    assert "run" in get_command(build_app()).commands["station"].commands
    assert set(service["RestartPreventExitStatus"].split()) == {str(EXIT_CONFIG), str(EXIT_REFUSED)}
    assert service["Restart"] == "on-failure" and service["NoNewPrivileges"] == "yes"
    assert service["User"] != "root"
