"""Stopping child processes: SIGTERM, a grace period, then SIGKILL (a Faust worker sometimes
does not finish its shutdown)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable


def stop_processes(processes: Iterable[subprocess.Popen], *, grace_s: float) -> None:
    """Ask every running process to stop at once, then wait for each; kill what outlives ``grace_s``."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
