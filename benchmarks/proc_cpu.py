"""CPU time of this machine's processes, grouped by what they are, from /proc (Linux).

A benchmark takes a snapshot when its measured window opens and another when it closes; the
difference says which part of the system used the cores meanwhile (a latency target measured on
a shared machine is only as good as the CPU left to the part measured).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    at_ticks: int  # the machine's busy + idle time, summed over its cores (/proc/stat)
    busy_ticks: int
    by_group_ticks: dict[str, int]


def _process_ticks() -> dict[int, tuple[int, str]]:
    """pid -> (user + system ticks, command line) of every process still running."""
    out: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        out[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmdline)
    return out


def _machine_ticks() -> tuple[int, int]:
    """(all, busy) ticks since boot over every core; idle and iowait are not busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values), sum(values) - idle


def snapshot(groups: dict[str, tuple[str, ...]]) -> CpuSnapshot:
    """``groups``: name -> substrings of a command line; a process counts in the first group
    one of whose substrings its command line contains (others in ``other``)."""
    by_group = dict.fromkeys([*groups, "other"], 0)
    for ticks, cmdline in _process_ticks().values():
        name = next((g for g, needles in groups.items() if any(n in cmdline for n in needles)), "other")
        by_group[name] += ticks
    total, busy = _machine_ticks()
    return CpuSnapshot(at_ticks=total, busy_ticks=busy, by_group_ticks=by_group)


def shares(before: CpuSnapshot, after: CpuSnapshot, wall_s: float) -> tuple[float, dict[str, float]]:
    """(the machine's busy share of all its cores, per group: cores used on average) between two
    snapshots taken ``wall_s`` apart. A process that exited meanwhile is not counted."""
    span = max(1, after.at_ticks - before.at_ticks)
    busy = (after.busy_ticks - before.busy_ticks) / span
    cores = {
        name: max(0, after.by_group_ticks.get(name, 0) - before.by_group_ticks.get(name, 0))
        / CLOCK_TICKS_PER_S
        / max(wall_s, 1e-9)
        for name in after.by_group_ticks
    }
    return busy, cores
