"""Start, find and stop the local servers' processes (pid files in the state directory).

A pid file holds the pid and the process's start token (the boot's id and the
start time in clock ticks since boot, from ``/proc``). A pid is reused by the
kernel, within a boot and after a reboot; a file whose token does not match the
process now holding that pid belongs to a process that is gone, and is removed
rather than trusted (else ``stack up`` would skip a server believing it runs, and
``stack down`` would signal an unrelated process group).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gaitstream.stack.exceptions import StackError


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not reaped) still answers kill(0); /proc tells the truth.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def process_start_token(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of a running process, or None when unknown.

    Field 22 of ``/proc/<pid>/stat`` is the start time; the command name (field
    2) is in parentheses and may hold spaces, so fields are counted after its
    closing parenthesis.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return f"{boot_id}:{fields[19]}" if len(fields) > 19 else None


@dataclass(frozen=True)
class ManagedProcess:
    """A server process this stack started, remembered by a pid file."""

    name: str
    state_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid we started, or None when we started nothing that still runs.

        The process holding the pid must have the start token written with it; a
        file of an earlier layout (the pid alone) cannot be checked and is not trusted.
        """
        try:
            record = json.loads(self.pid_file.read_text())
            pid, token = int(record["pid"]), str(record["start"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if pid_alive(pid) and process_start_token(pid) == token:
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` detached (own session, survives the CLI), logging to ``log_file``."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env={**os.environ, **(env or {})},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError as exc:
                raise StackError(f"cannot start {self.name}: {argv[0]} not found", step="start") from exc
        token = process_start_token(proc.pid)
        if token is None:  # exited at once (its log says why); nothing to remember
            return proc.pid
        self.pid_file.write_text(json.dumps({"pid": proc.pid, "start": token}))
        return proc.pid

    def stop(self, timeout_s: float) -> bool:
        """SIGTERM, then SIGKILL after ``timeout_s``. Returns True when something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while pid_alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int) -> list[str]:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]
