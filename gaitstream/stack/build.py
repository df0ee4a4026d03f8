"""Run a long build step with a visible progress line, its output kept in a log file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from gaitstream.logging import kv
from gaitstream.stack.exceptions import MissingToolError, StackError

# Without a terminal (CI), print a status line this often so the run visibly progresses.
STATUS_EVERY_S = 30.0
# How many lines of a failed build's log to quote in the error.
FAILURE_TAIL_LINES = 15


def require_tools(tools: dict[str, str]) -> None:
    """Raise MissingToolError for the first tool (name -> what it is needed for) not on PATH."""
    for tool, needed_for in tools.items():
        if shutil.which(tool) is None:
            raise MissingToolError(tool, needed_for=needed_for)


def _last_line(log_file: Path) -> str:
    try:
        with log_file.open("rb") as fh:
            fh.seek(max(0, log_file.stat().st_size - 4096))
            lines = [ln for ln in fh.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:100] if lines else ""


def run_logged(
    argv: list[str],
    *,
    step: str,
    log_file: Path,
    console: Console,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float,
) -> float:
    """Run ``argv`` to completion, showing ``step``, elapsed time and the log's last line.

    Returns the elapsed seconds; raises StackError naming the step and quoting the log's tail.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    interactive = console.is_terminal
    with log_file.open("ab") as log:
        log.write(f"\n=== {step}: {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        next_status = started + STATUS_EVERY_S
        with console.status(f"{step} ...", spinner="dots") as status:
            while proc.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > timeout_s:
                    proc.kill()
                    proc.wait()
                    raise StackError(f"{step} took longer than {timeout_s:.0f} s", step=step, log_file=str(log_file))
                if interactive:
                    status.update(f"{step} [{elapsed:5.0f} s] {_last_line(log_file)}")
                elif time.monotonic() >= next_status:
                    print(
                        kv("building", step=step, elapsed_s=round(elapsed), last=_last_line(log_file)),
                        file=sys.stderr,
                        flush=True,
                    )
                    next_status += STATUS_EVERY_S
                time.sleep(0.5)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-FAILURE_TAIL_LINES:]
        raise StackError(
            f"{step} failed with exit code {proc.returncode}:\n    " + "\n    ".join(tail),
            step=step,
            log_file=str(log_file),
        )
    return elapsed
