"""The frame-level alert rules of one station's session, together (pure): station silence
(``gaitstream.monitor.rules.StationSilence``) and sensor faults (``gaitstream.monitor.sensor``).

The gait agent keeps one :class:`SessionWatch` per open session in the station's checkpoint and
calls, with the worker's wall clock for silence (never the frames' sample times):
- :meth:`SessionWatch.start` at the session start,
- :meth:`SessionWatch.on_frame` for each accepted frame,
- :meth:`SessionWatch.check_silence` from a timer,
- :meth:`SessionWatch.resume` after a restore (the checkpoint's arrival time came from another
  worker, or from before a restart: the new owner gives the station a full delay),
- :meth:`SessionWatch.close` at the stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaitstream.monitor.alert_settings import AlertSettings
from gaitstream.monitor.rules import StationSilence
from gaitstream.monitor.sensor import SensorHealth


@dataclass
class SessionWatch:
    session: dict
    settings: AlertSettings
    silence: StationSilence
    health: SensorHealth

    @classmethod
    def start(cls, session: dict, *, settings: AlertSettings | None = None, now_us: int | None = None) -> SessionWatch:
        settings = settings or AlertSettings()
        watch = cls(
            session=session,
            settings=settings,
            silence=StationSilence(session=session, settings=settings),
            health=SensorHealth(session=session, settings=settings),
        )
        if now_us is not None:
            watch.silence.saw_data(now_us)  # the start event is the station's first sign of life
        return watch

    def on_frame(
        self,
        frame_samples: dict[str, np.ndarray],
        *,
        sequence: int,
        first_sample_time_us: int,
        sampling_rate_hz: float,
        now_us: int,
    ) -> list[dict]:
        """An accepted frame: ``frame_samples`` maps location -> (n, 6) acc (m/s^2) and gyr (deg/s)."""
        alerts = self.silence.saw_data(now_us, sequence)
        return alerts + self.health.observe(
            frame_samples,
            sequence=sequence,
            first_sample_time_us=first_sample_time_us,
            sampling_rate_hz=sampling_rate_hz,
        )

    def check_silence(self, now_us: int) -> list[dict]:
        return self.silence.check(now_us)

    def resume(self, now_us: int) -> None:
        if self.silence.last_data_us is None or self.silence.last_data_us < now_us:
            self.silence.last_data_us = now_us

    def close(self, time_us: int) -> list[dict]:
        return self.silence.session_stopped(time_us) + self.health.close(time_us)

    def to_json(self) -> dict:
        return {"settings": self.settings.to_json(), "silence": self.silence.to_json(), "health": self.health.to_json()}

    @classmethod
    def from_json(cls, value: dict | None, *, session: dict) -> SessionWatch:
        if not value:
            return cls.start(session)
        settings = AlertSettings.from_json(value["settings"])
        return cls(
            session=session,
            settings=settings,
            silence=StationSilence.from_json(value["silence"], session=session, settings=settings),
            health=SensorHealth.from_json(value["health"], session=session, settings=settings),
        )


def worker_was_paused(previous_check_s: float | None, now_s: float, *, interval_s: float, grace_s: float) -> bool:
    """Whether the silence timer ran so late that the worker itself was stopped meanwhile (a long
    GC pause, SIGSTOP, a suspended VM): then the silence it would see is its own, not the
    stations', and after more than the group's session timeout their partitions may be another
    worker's already. ``grace_s``: how late a run may be before it counts (monotonic seconds)."""
    return previous_check_s is not None and now_s - previous_check_s > interval_s + grace_s
