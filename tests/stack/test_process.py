"""Pid files are trusted only for the process that wrote them (no servers needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gaitstream.stack.process import ManagedProcess, pid_alive, process_start_token

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_started_process_is_found_and_stopped(tmp_path: Path) -> None:
    managed = ManagedProcess("sleeper", tmp_path)
    pid = managed.start(SLEEPER, cwd=tmp_path)
    try:
        assert managed.pid() == pid
        assert json.loads(managed.pid_file.read_text()) == {"pid": pid, "start": process_start_token(pid)}
    finally:
        assert managed.stop(timeout_s=5.0)
    assert not pid_alive(pid) and managed.pid() is None and not managed.pid_file.exists()


def test_a_reused_pid_is_not_ours_and_is_never_signalled(tmp_path: Path) -> None:
    """A pid file naming a live process that started at another time (the pid reused, e.g. after a
    reboot): not ours, removed, and ``stop`` leaves that process alone."""
    other = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        managed = ManagedProcess("kafka", tmp_path)
        managed.pid_file.parent.mkdir(parents=True)
        boot_id, ticks = process_start_token(other.pid).split(":")
        managed.pid_file.write_text(json.dumps({"pid": other.pid, "start": f"{boot_id}:{int(ticks) - 1}"}))
        assert managed.pid() is None
        assert not managed.pid_file.exists()
        managed.pid_file.write_text(json.dumps({"pid": other.pid, "start": f"another-boot:{ticks}"}))
        assert managed.stop(timeout_s=1.0) is False
        time.sleep(0.2)
        assert other.poll() is None, "an unrelated process was signalled"
    finally:
        other.kill()
        other.wait()


def test_a_pid_file_of_the_old_layout_is_not_trusted(tmp_path: Path) -> None:
    managed = ManagedProcess("influxdb", tmp_path)
    managed.pid_file.parent.mkdir(parents=True)
    managed.pid_file.write_text(str(os.getpid()))  # a live pid, but nothing says it is the server
    assert managed.pid() is None
    assert not managed.pid_file.exists()


def test_start_token_reads_a_command_name_with_spaces_and_parentheses(tmp_path: Path) -> None:
    """The kernel's command name (from the executable's file name) may hold ") (" and spaces."""
    exe = tmp_path / "py ) (x y"
    exe.symlink_to(sys.executable)
    proc = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        assert ") (x" in Path(f"/proc/{proc.pid}/stat").read_text()
        token = process_start_token(proc.pid)
        assert token is not None and token.split(":")[-1].isdigit()
        assert token == process_start_token(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert process_start_token(proc.pid) is None or process_start_token(proc.pid) != token
