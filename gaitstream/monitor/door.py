"""Checks at the pipeline's door, before a message costs anything (pure; reasons go to the
dead-letter topic).

- Size before decoding: a frame holds at most ``MAX_FRAME_SAMPLES`` samples of two sensors (six
  float32 each), so no valid message is larger than ``MAX_MESSAGE_BYTES``; a larger one is
  refused unread.
- The session's sample rate must lie in the supported range (that of the frames).
- The station's clock: a station stamps its samples with its own clock, in microseconds since the
  Unix epoch, and Kafka stamps each record when the station sends it. A sample time far from the
  record's time means a clock in the wrong unit (milliseconds or nanoseconds: a factor of 1000),
  a reset real-time clock (1970, 2000) or no clock sync at all: the samples cannot be placed in
  time, so the message is refused with the reason and a ``station_clock`` alert tells the
  supervisor (:class:`StationClockFaults`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.frames import MAX_FRAME_SAMPLES, MAX_RATE_HZ, MIN_RATE_HZ, FrameError
from gaitstream.monitor.rules import alert_record
from gaitstream.schemas.imu import PACKED_ROW_BYTES

# Two sensor blocks of MAX_FRAME_SAMPLES packed rows, or the same as six float arrays (Avro
# floats: 4 bytes each, plus a few bytes of length per array), plus the header's ids and times.
HEADER_ALLOWANCE_BYTES = 4096
MAX_MESSAGE_BYTES = 2 * MAX_FRAME_SAMPLES * PACKED_ROW_BYTES + HEADER_ALLOWANCE_BYTES
# An hour either way: far beyond a station's send buffer or an unsynchronised PC clock, far below
# the factor of 1000 of a wrong unit (decades) or a reset RTC (years).
DEFAULT_CLOCK_TOLERANCE_S = 3600.0
# Refused messages have no session of their own to link a dashboard to.
NO_DASHBOARD = AlertSettings()


def check_message_size(n_bytes: int) -> None:
    if n_bytes > MAX_MESSAGE_BYTES:
        raise FrameError(f"message of {n_bytes} bytes refused unread: no valid frame exceeds {MAX_MESSAGE_BYTES}")


def check_session_rate(sampling_rate_hz: float) -> None:
    if not MIN_RATE_HZ <= sampling_rate_hz <= MAX_RATE_HZ:
        raise FrameError(f"session sampling_rate_hz {sampling_rate_hz} outside {MIN_RATE_HZ}..{MAX_RATE_HZ}")


def clock_problem(
    sample_time_us: int, record_time_us: int, tolerance_s: float = DEFAULT_CLOCK_TOLERANCE_S
) -> str | None:
    """Why a station's sample time cannot be right, judged against Kafka's record time (or None)."""
    offset_s = (sample_time_us - record_time_us) / 1e6
    if abs(offset_s) <= tolerance_s:
        return None
    ratio = sample_time_us / record_time_us if record_time_us > 0 else float("inf")
    if 500 <= ratio <= 2000:
        hint = "the station sends nanoseconds, not microseconds"
    elif 0.0005 <= ratio <= 0.002:
        hint = "the station sends milliseconds, not microseconds"
    elif offset_s < 0:
        hint = "the station's clock is behind (reset or never set)"
    else:
        hint = "the station's clock is ahead"
    return (
        f"station clock: sample time {sample_time_us} us is {offset_s:+.0f} s from the time Kafka "
        f"recorded ({record_time_us} us); {hint}"
    )


@dataclass
class StationClockFaults:
    """One ``station_clock`` alert per station while its messages are refused for their clock
    (opened by the first, resolved by the next message whose clock is right)."""

    open: dict[str, tuple[str, dict]] = field(default_factory=dict)  # station -> (alert id, session ids)

    def refused(self, record: dict, reason: str, *, time_us: int, sequence: int | None) -> list[dict]:
        station = record["station_id"]
        if station in self.open:
            return []
        ids = {k: str(record.get(k, "-")) for k in ("clinic_id", "station_id", "session_id", "patient_id")}
        opened = _record(
            ids, "open", "critical", time_us, reason, sequence if sequence is not None else record.get("event", "-")
        )
        self.open[station] = (opened["alert_id"], ids)
        return [opened]

    def accepted(self, station_id: str, *, time_us: int) -> list[dict]:
        if station_id not in self.open:
            return []
        alert_id, ids = self.open.pop(station_id)
        resolved = _record(ids, "resolved", "info", time_us, "station clock right again", None)
        resolved["alert_id"] = alert_id
        return [resolved]


def _record(ids: dict, state: str, severity: str, time_us: int, message: str, opened_at) -> dict:
    return alert_record(
        session=ids,
        kind="station_clock",
        state=state,
        severity=severity,
        time_us=time_us,
        message=message[:500],
        side=None,
        value=None,
        threshold=None,
        settings=NO_DASHBOARD,
        opened_at=opened_at,
    )
