"""Feedback schedules for treadmill re-training (pure: no clock, no I/O).

A session's feedback plan is a sequence of blocks, each with one schedule (``../shared``
PROGRAMME.md, "Schedules gaitstream offers"):

- ``continuous``: every step's value is shown, and the live pelvis indicator throughout;
- ``bandwidth``: a cue only for a step outside the target band (target ± tolerance);
- ``faded``: the share of steps with a cue falls linearly from ``share_start`` to ``share_end``
  across the block (a run of sessions fades by giving each session its own pair); which steps get
  one is decided by error diffusion (rounded), so the share is met to within one step at every
  point;
- ``summary``: every ``summary_steps`` steps, their average per side; nothing in between;
- ``none``: no cue (a probe of what the patient does without cues).

``FeedbackSchedule.on_step`` decides, step by step, what the screen shows; the dose of a block is
the share of its steps with a visible cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCHEDULES = ("continuous", "bandwidth", "faded", "summary", "none")
_DURATION = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<unit>s|min|m|h)?$")
_UNIT_S = {"s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Block:
    schedule: str
    duration_s: float
    tolerance_deg: float = 2.0  # bandwidth: the band is target ± tolerance
    share_start: float = 1.0  # faded: share of steps with a cue at the block's start ...
    share_end: float = 0.0  # ... and at its end
    summary_steps: int = 10  # summary: every N steps, their average

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if not 0 < self.duration_s <= 4 * 3600:
            raise ValueError(f"a block lasts more than 0 s and at most 4 h, not {self.duration_s:g} s")
        if not 0 <= self.share_start <= 1 or not 0 <= self.share_end <= 1:
            raise ValueError("faded shares are between 0 and 1")
        if not 0 < self.tolerance_deg <= 20:
            raise ValueError("the tolerance is between 0 and 20 deg")
        if not 1 <= self.summary_steps <= 200:
            raise ValueError("summary_steps is between 1 and 200")


@dataclass(frozen=True)
class FeedbackPlan:
    """The therapist's plan for one session: blocks in order, and the target pelvic drop. After the
    last block the session goes on without cues."""

    blocks: tuple[Block, ...]
    target_deg: float = 2.0

    def __post_init__(self) -> None:
        if not self.blocks:
            raise ValueError("a plan has at least one block")
        if not -5 <= self.target_deg <= 15:
            raise ValueError("the target pelvic drop is between -5 and 15 deg")

    @property
    def duration_s(self) -> float:
        return sum(b.duration_s for b in self.blocks)

    def block_at(self, t_s: float) -> tuple[int, Block | None, float]:
        """(block index, block, its start in s) at ``t_s`` after the session start; after the
        last block: (len(blocks), None, end)."""
        start = 0.0
        for index, block in enumerate(self.blocks):
            if t_s < start + block.duration_s:
                return index, block, start
            start += block.duration_s
        return len(self.blocks), None, start

    def block_at_index(self, index: int) -> Block | None:
        return self.blocks[index] if 0 <= index < len(self.blocks) else None

    def to_text(self) -> str:
        return ",".join(_block_text(b) for b in self.blocks)


def _block_text(block: Block) -> str:
    text = f"{block.schedule}:{block.duration_s:g}s"
    if block.schedule == "bandwidth":
        text += f":tol={block.tolerance_deg:g}"
    elif block.schedule == "faded":
        text += f":from={block.share_start:g}:to={block.share_end:g}"
    elif block.schedule == "summary":
        text += f":n={block.summary_steps}"
    return text


def parse_plan(text: str, *, target_deg: float = 2.0) -> FeedbackPlan:
    """``none:2m,faded:10m:from=1:to=0,none:2m`` (also ``bandwidth:5m:tol=1.5``, ``summary:5m:n=10``,
    ``continuous:300s``); raises ``ValueError`` naming the block that is wrong."""
    blocks = []
    for number, part in enumerate(text.split(","), start=1):
        fields = [f.strip() for f in part.strip().split(":")]
        try:
            if len(fields) < 2:
                raise ValueError("expected schedule:duration[:option=value...]")
            match = _DURATION.match(fields[1])
            if match is None:
                raise ValueError(f"duration {fields[1]!r} is not like 90s, 2m or 1h")
            options: dict = {}
            for option in fields[2:]:
                name, sep, value = option.partition("=")
                key = {"tol": "tolerance_deg", "from": "share_start", "to": "share_end", "n": "summary_steps"}.get(name)
                if not sep or key is None:
                    raise ValueError(f"option {option!r} is not tol=, from=, to= or n=")
                options[key] = int(value) if key == "summary_steps" else float(value)
            duration_s = float(match["value"]) * _UNIT_S[match["unit"]]
            blocks.append(Block(fields[0], duration_s, **options))
        except ValueError as exc:
            raise ValueError(f"feedback block {number} ({part.strip()!r}): {exc}") from None
    return FeedbackPlan(tuple(blocks), target_deg=target_deg)


@dataclass(frozen=True)
class StepCue:
    """What the screen shows for one step."""

    step_index: int
    side: str
    pelvic_drop_deg: float
    block_index: int
    schedule: str
    cue: bool  # a cue is visible for this step
    live: bool  # the live pelvis indicator is shown until the next step
    summary: dict[str, float] | None = None  # summary: the average per side of the last N steps


@dataclass
class FeedbackSchedule:
    """One session's schedule at work; ``on_step`` in step order."""

    plan: FeedbackPlan
    _diffusion: float = 0.0
    _block_index: int = -1
    _block_steps: list[tuple[str, float]] = field(default_factory=list)
    cues: dict[int, list[bool]] = field(default_factory=dict)  # per block, the cue of each step

    def on_step(self, *, step_index: int, side: str, pelvic_drop_deg: float, end_s: float) -> StepCue:
        """The step that ended ``end_s`` after the session start."""
        index, block, block_start_s = self.plan.block_at(end_s)
        if index != self._block_index:
            self._block_index, self._diffusion, self._block_steps = index, 0.0, []
        schedule = "none" if block is None else block.schedule
        summary = None
        if block is None or schedule == "none":
            cue = False
        elif schedule == "continuous":
            cue = True
        elif schedule == "bandwidth":
            cue = abs(pelvic_drop_deg - self.plan.target_deg) > block.tolerance_deg
        elif schedule == "faded":
            progress = min(1.0, max(0.0, (end_s - block_start_s) / block.duration_s))
            self._diffusion += block.share_start + (block.share_end - block.share_start) * progress
            cue = self._diffusion >= 0.5  # rounding: a share near 1 shows the first step, near 0 none
            if cue:
                self._diffusion -= 1.0
        else:  # summary
            self._block_steps.append((side, pelvic_drop_deg))
            cue = len(self._block_steps) % block.summary_steps == 0
            if cue:
                last = self._block_steps[-block.summary_steps :]
                summary = {
                    s: sum(v for k, v in last if k == s) / n
                    for s in ("left", "right")
                    if (n := sum(1 for k, _ in last if k == s))
                }
        self.cues.setdefault(index, []).append(cue)
        live = schedule == "continuous" or (schedule == "faded" and cue)
        return StepCue(step_index, side, pelvic_drop_deg, index, schedule, cue, live, summary)

    def dose(self, block_index: int) -> float | None:
        """Share of the block's steps with a visible cue (None before its first step)."""
        cues = self.cues.get(block_index)
        return None if not cues else sum(cues) / len(cues)
