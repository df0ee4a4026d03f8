"""The feedback dose (pure): what each step's screen showed, acknowledged or waited out."""

from __future__ import annotations

from gaitstream.services.feedback.dose import DoseLedger


def _decision(step: int, cue: bool) -> dict:
    return {"station_id": "tm-01", "step_index": step, "cue": cue, "end_time_us": 1_000_000 * step}


def test_cues_wait_for_a_screen_and_the_rest_is_recorded_at_once() -> None:
    ledger = DoseLedger(wait_s=2.0)
    ledger.decided(_decision(1, False), screens=1, now_s=0.0)
    ledger.decided(_decision(2, True), screens=0, now_s=0.0)  # nobody watching: not shown
    ledger.decided(_decision(3, True), screens=2, now_s=0.0)
    ledger.decided(_decision(4, True), screens=1, now_s=0.0)
    first = ledger.take(0.1)
    assert [(r["step_index"], r["shown"], r["screens"]) for r in first] == [(1, False, 1), (2, False, 0)]
    ledger.acked("tm-01", 3, rendered_ms=3_180.0)
    ledger.acked("tm-01", 3, rendered_ms=3_250.0)  # the second screen: already recorded
    acked = ledger.take(0.2)
    assert [(r["step_index"], r["shown"], r["display_latency_ms"]) for r in acked] == [(3, True, 180.0)]
    assert ledger.take(1.9) == []
    waited = ledger.take(2.0)
    assert [(r["step_index"], r["shown"], r["display_latency_ms"]) for r in waited] == [(4, False, None)]
    ledger.acked("tm-01", 4, rendered_ms=9_999.0)  # too late: nothing changes
    assert ledger.take(3.0) == []
