"""What one treadmill's screen shows, from the pipeline's records (pure: records in, messages out).

Input: the station's records from the steps topic (``session_event`` copies, ``step_metrics``)
and the trace topic (``obliquity_trace``, 20 Hz). Output: messages for the page, in order:

- ``session``: a session started (trunk present, the target band, the plan) or stopped;
- ``state``: the current block's schedule and whether feedback is visible (``on``/``off``),
  whenever either changes;
- ``live``: a trace sample (pelvic obliquity, trunk lean), only while the live indicator shows;
- ``step``: a step whose cue is visible (its value, side, block; a summary's averages); steps
  without a cue send nothing the patient could see, only a ``state`` change.

The block in force follows data time (trace samples and step ends, from the session start). A
cue stays visible until the next step decides again (a summary for ``SUMMARY_HOLD_S``). No patient
id reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gaitstream.services.feedback.schedule import Block, FeedbackPlan, FeedbackSchedule, StepCue, parse_plan

DEFAULT_TARGET_DEG = 2.0
SUMMARY_HOLD_S = 4.0


@dataclass
class StationScreen:
    station_id: str
    session: dict | None = None
    schedule: FeedbackSchedule | None = None
    band: tuple[float, float] | None = None
    block_index: int = -1
    feedback: bool = False
    _cue_until_s: float | None = None  # a summary stays up until then (data time)
    _live: bool = False
    last_step: dict | None = None
    shown: dict = field(default_factory=dict)  # the last value shown per metric and side
    decisions: list[dict] = field(default_factory=list)  # per step: what the schedule decided (for the dose)

    # ------------------------------------------------------------------ input
    def on_record(self, kind: str, record: dict) -> list[dict]:
        if kind == "session_event":
            return self._on_session(record)
        if self.session is None or record.get("session_id") != self.session["session_id"]:
            return []
        if kind == "step_metrics":
            return self._on_step(record)
        if kind == "obliquity_trace":
            return self._on_trace(record)
        return []

    def _on_session(self, record: dict) -> list[dict]:
        if record["event"] == "stop":
            if self.session is None or record["session_id"] != self.session["session_id"]:
                return []
            self.session, self.schedule, self.block_index, self.feedback, self._live = None, None, -1, False, False
            self.last_step, self.shown = None, {}
            return [
                {"kind": "session", "active": False},
                {"kind": "state", "block": "none", "feedback": "off", "live": False},
            ]
        if self.session is not None and self.session["session_id"] == record["session_id"]:
            return []  # the same start again (the worker's copy after a restart)
        target = record.get("target_pelvic_drop_deg")
        target = DEFAULT_TARGET_DEG if target is None else float(target)
        plan_text = record.get("feedback_plan")
        try:
            plan = parse_plan(plan_text, target_deg=target) if plan_text else None
        except ValueError:
            plan = None  # checked where it was set; an unreadable plan shows no cues
        self.session, self.block_index, self.feedback, self._live = record, -1, False, False
        self.last_step, self.shown, self._cue_until_s = None, {}, None
        self.schedule = None if plan is None else FeedbackSchedule(plan)
        tolerance = _band_tolerance(plan)
        self.band = (round(target - tolerance, 2), round(target + tolerance, 2))
        out = [
            {
                "kind": "session",
                "active": True,
                "trunk": bool(record.get("trunk_present")),
                "band_deg": list(self.band),
                "target_deg": target,
                "plan": None if plan is None else plan.to_text(),
            }
        ]
        return out + self._enter_block(0.0)

    def _on_step(self, record: dict) -> list[dict]:
        if self.schedule is None:
            return []
        end_s = (record["end_time_us"] - self.session["time_us"]) / 1e6
        out = self._enter_block(end_s)
        cue: StepCue = self.schedule.on_step(
            step_index=record["step_index"], side=record["side"], pelvic_drop_deg=record["pelvic_drop_deg"], end_s=end_s
        )
        self._live = cue.live
        self._cue_until_s = end_s + SUMMARY_HOLD_S if cue.summary is not None else None
        self.last_step = {"step_index": cue.step_index, "cue": cue.cue, "block_index": cue.block_index}
        self.decisions.append(
            {
                "clinic_id": self.session["clinic_id"],
                "station_id": self.station_id,
                "session_id": self.session["session_id"],
                "patient_id": self.session["patient_id"],
                "step_index": cue.step_index,
                "side": cue.side,
                "end_time_us": record["end_time_us"],
                "block_index": cue.block_index,
                "schedule": cue.schedule,
                "cue": cue.cue,
                "pelvic_drop_deg": float(cue.pelvic_drop_deg),
            }
        )
        if cue.cue:
            message = {
                "kind": "step",
                "step_index": cue.step_index,
                "side": cue.side,
                "end_time_us": record["end_time_us"],
                # Unrounded: the page rounds once, to its one decimal (rounding twice can be off by
                # more than half a unit of the last place shown).
                "pelvic_drop_deg": None if cue.summary is not None else float(cue.pelvic_drop_deg),
                "trunk_lean_deg": None
                if cue.summary is not None or record.get("trunk_lean_deg") is None
                else float(record["trunk_lean_deg"]),
                "summary": cue.summary,
                "block": cue.schedule,
            }
            out.append(message)
        return out + self._set_feedback(cue.cue or cue.live)

    def _on_trace(self, record: dict) -> list[dict]:
        out: list[dict] = []
        offsets = record["time_offsets_us"]
        leans = record.get("trunk_lateral_lean_deg")
        for i, offset in enumerate(offsets):
            time_us = record["first_time_us"] + offset
            t_s = (time_us - self.session["time_us"]) / 1e6
            out += self._enter_block(t_s)
            if self._cue_until_s is not None and t_s >= self._cue_until_s:
                self._cue_until_s = None
                out += self._set_feedback(self._live)
            if self._live:
                out.append(
                    {
                        "kind": "live",
                        "time_us": time_us,
                        "pelvic_obliquity_deg": float(record["pelvic_obliquity_deg"][i]),
                        "trunk_lean_deg": None if leans is None else float(leans[i]),
                    }
                )
        return out

    # ------------------------------------------------------------------ state
    def _enter_block(self, t_s: float) -> list[dict]:
        if self.schedule is None:
            if self.block_index == -1:
                self.block_index = 0
                return [{"kind": "state", "block": "none", "feedback": "off", "live": False}]
            return []
        index, block, _ = self.schedule.plan.block_at(t_s)
        if index == self.block_index:
            return []
        self.block_index = index
        self._live = block is not None and block.schedule == "continuous"
        self._cue_until_s = None
        self.feedback = self._live
        return [
            {
                "kind": "state",
                "block": _name(block),
                "block_index": index,
                "feedback": _on(self.feedback),
                "live": self._live,
            }
        ]

    def _set_feedback(self, visible: bool) -> list[dict]:
        visible = visible or self._cue_until_s is not None
        if visible == self.feedback:
            return []
        self.feedback = visible
        block = None if self.schedule is None else self.schedule.plan.block_at_index(self.block_index)
        return [
            {
                "kind": "state",
                "block": _name(block),
                "block_index": self.block_index,
                "feedback": _on(visible),
                "live": self._live,
            }
        ]

    def take_decisions(self) -> list[dict]:
        decisions, self.decisions = self.decisions, []
        return decisions

    def snapshot(self) -> list[dict]:
        """What a page that connects now needs to show the current state."""
        if self.session is None:
            return [
                {"kind": "session", "active": False},
                {"kind": "state", "block": "none", "feedback": "off", "live": False},
            ]
        block = None if self.schedule is None else self.schedule.plan.block_at_index(self.block_index)
        return [
            {
                "kind": "session",
                "active": True,
                "trunk": bool(self.session.get("trunk_present")),
                "band_deg": list(self.band),
                "target_deg": round((self.band[0] + self.band[1]) / 2, 2),
                "plan": None if self.schedule is None else self.schedule.plan.to_text(),
            },
            {
                "kind": "state",
                "block": _name(block),
                "block_index": self.block_index,
                "feedback": _on(self.feedback),
                "live": self._live,
            },
        ]


def _band_tolerance(plan: FeedbackPlan | None) -> float:
    """The band drawn around the target: the plan's bandwidth tolerance, else 2 deg."""
    if plan is not None:
        for block in plan.blocks:
            if block.schedule == "bandwidth":
                return block.tolerance_deg
    return Block("none", 1.0).tolerance_deg


def _name(block: Block | None) -> str:
    return "none" if block is None else block.schedule


def _on(visible: bool) -> str:
    return "on" if visible else "off"
