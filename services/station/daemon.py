"""``gaitstream station run``: a treadmill station that runs for months.

It keeps the sensors connected (waiting for them when they are off, reconnecting when they come
back), sends frames while the operator has a session open (``StationSessions``), spools everything
to disk first (``SpooledSender``: a broker outage only grows the spool), takes the operator's
commands on a Unix socket in its state directory (``ControlServer``), and logs a status line.

Exit status: 0 when stopped (SIGTERM, SIGINT); 2 for what a restart cannot fix: a configuration or
credential setting that is wrong, a stream without the channels the configuration names;
3 when the broker refuses this station (password or ACLs). An absent sensor or broker is waited for.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gaitstream.logging import kv
from gaitstream.services.station.config import StationConfig
from gaitstream.services.station.frames import frame_samples_for
from gaitstream.services.station.lsl_frames import ChannelMap
from gaitstream.services.station.publisher import StationPublisher
from gaitstream.services.station.sessions import StationSessions

log = logging.getLogger(__name__)

SENSOR_RETRY_S = 5.0
EXIT_CONFIG = 2
EXIT_REFUSED = 3


class StationRefused(RuntimeError):
    """The broker refuses this station's credentials or its writes."""


class StationDaemon:
    def __init__(
        self, config: StationConfig, publisher: StationPublisher, *, frame_samples: int, feedback_frame_samples: int
    ) -> None:
        self.config, self.publisher, self.frame_samples = config, publisher, frame_samples
        self.feedback_frame_samples = feedback_frame_samples
        self.lock = threading.Lock()
        self.sessions: StationSessions | None = None
        self.source = None
        self.sensor = "searching"
        self._counters_at_start: dict = {}

    # ------------------------------------------------------------------ operator commands
    def command(self, request: dict) -> dict:
        """One command from the control socket: start, stop or status."""
        action = request.get("command")
        with self.lock:
            if action == "status":
                return {"ok": True, **self.status()}
            if action == "start":
                return self._start(request)
            if action == "stop":
                if self.sessions is None or self.sessions.open is None:
                    return {"ok": False, "error": "no session is open"}
                session_id = self.sessions.open.info.session_id
                self._send(self.sessions.stop(_now_us(), self._metadata()))
                if self.source is not None:
                    self.source.resize_frames(self.frame_samples)
                log.info(kv("session_stopped", session=session_id))
                return {"ok": True, "session_id": session_id}
        return {"ok": False, "error": f"unknown command {action!r}; start, stop or status"}

    def _start(self, request: dict) -> dict:
        if self.sessions is None or self.source is None:
            return {"ok": False, "error": f"the pelvis sensor is not connected ({self.sensor})"}
        patient = str(request.get("patient_id") or "")
        if not patient:
            return {"ok": False, "error": "patient_id (a pseudonym) is required"}
        thresholds = self.config.session.model_dump()
        for name in thresholds:
            if request.get(name) is not None:
                thresholds[name] = type(thresholds[name])(request[name])
        plan = request.get("feedback_plan")
        if plan:
            from gaitstream.services.feedback.schedule import parse_plan

            try:
                target = request.get("target_pelvic_drop_deg")
                plan = parse_plan(str(plan), **({} if target is None else {"target_deg": float(target)})).to_text()
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
        thresholds["feedback_plan"] = plan or None
        if request.get("target_pelvic_drop_deg") is not None:
            thresholds["target_pelvic_drop_deg"] = float(request["target_pelvic_drop_deg"])
        trunk = self.source.trunk_delivering
        self._send(self.sessions.stop(_now_us(), self._metadata()))
        records = self.sessions.start(patient_id=patient, now_us=_now_us(), trunk=trunk, **thresholds)
        self._send(records)
        self.source.resize_frames(
            frame_samples_for(
                self.sessions.open.info,
                frame_samples=self.frame_samples,
                feedback_frame_samples=self.feedback_frame_samples,
            )
        )
        self._counters_at_start = self.source.counters()
        session_id = self.sessions.open.info.session_id
        log.info(kv("session_started", session=session_id, patient=patient, trunk=trunk))
        return {"ok": True, "session_id": session_id, "trunk": trunk}

    def _metadata(self) -> dict | None:
        return None if self.source is None else self.source.session_metadata(since=self._counters_at_start)

    def _send(self, records: list[tuple[str, dict]]) -> None:
        for schema, record in records:
            self.publisher.send(self.config.station_id, schema, record)

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        spooled = self.publisher.spool_status()
        return {
            "station": self.config.station_id,
            "sensor": self.sensor,
            "trunk": "none"
            if self.config.trunk is None
            else ("delivering" if self.source is not None and self.source.trunk_delivering else "absent"),
            **spooled,
            **(self.sessions.status() if self.sessions is not None else {"session": "none"}),
        }

    def refused(self) -> str | None:
        return self.publisher.refused()

    # ------------------------------------------------------------------ the sensor loop
    def run(self, should_stop: Callable[[], bool]) -> None:
        from gaitstream.services.station.lsl_source import LslSource, LslStreamQuery

        pelvis, trunk = self.config.pelvis, self.config.trunk
        while not should_stop():
            try:
                source = LslSource(
                    LslStreamQuery(*pelvis.selector, resolve_timeout_s=pelvis.resolve_timeout_s),
                    mapping=_mapping(pelvis),
                    trunk_query=None
                    if trunk is None
                    else LslStreamQuery(*trunk.selector, resolve_timeout_s=trunk.resolve_timeout_s),
                    trunk_mapping=None if trunk is None else _mapping(trunk),
                    session_start_s=0.0,  # frames in epoch seconds; sessions place them
                    should_stop=should_stop,
                    trunk_required=False,
                )
            except LookupError as exc:
                if self.sensor != "absent":
                    log.warning(kv("sensor_absent", role="pelvis", reason=str(exc), retry_s=SENSOR_RETRY_S))
                self.sensor = "absent"
                self._raise_if_refused()
                time.sleep(SENSOR_RETRY_S)
                continue
            with self.lock:
                if self.sessions is not None and self.sessions.open is not None:
                    self._send(self.sessions.stop(_now_us(), self._metadata()))
                self.source, self.sensor = source, "connected"
                self.sessions = StationSessions(
                    station_id=self.config.station_id,
                    clinic_id=self.config.clinic_id,
                    sampling_rate_hz=source.sampling_rate_hz,
                    sensor_axes=self.config.sensor_axes,
                )
            try:
                for first_s, block in source.frames(self.frame_samples):
                    self.sensor = "silent" if source.pelvis_silent else "connected"
                    with self.lock:
                        self._send(self.sessions.frame(first_s, block, self._metadata()))
                    self._raise_if_refused()
            finally:
                with self.lock:
                    self._send(self.sessions.stop(_now_us(), self._metadata()))
                    self.source, self.sensor = None, "searching"
                source.close()

    def _raise_if_refused(self) -> None:
        reason = self.refused()
        if reason is not None:
            raise StationRefused(reason)


def _mapping(sensor) -> ChannelMap:
    return ChannelMap(channels=tuple(sensor.channels), acc_unit=sensor.acc_unit, gyr_unit=sensor.gyr_unit)


def _now_us() -> int:
    return time.time_ns() // 1000


# ---------------------------------------------------------------------- control socket
class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """One JSON object per line in, one per line out. The socket is the station user's (and its
    group's: mode 660), in the station's state directory."""

    daemon_threads = True

    def __init__(self, path: Path, handle: Callable[[dict], dict]) -> None:
        self.handle_command = handle
        if path.exists():
            path.unlink()  # left by a station that was killed
        super().__init__(str(path), _ControlHandler)
        os.chmod(path, 0o660)


class _ControlHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(64 * 1024)
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a JSON object is expected")
            reply = self.server.handle_command(request)
        except ValueError as exc:
            reply = {"ok": False, "error": f"bad request: {exc}"}
        self.wfile.write(json.dumps(reply).encode() + b"\n")


def send_command(path: Path, request: dict, timeout_s: float = 10.0) -> dict:
    """What ``gaitstream station session …`` and ``station status`` do."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return json.loads(reply)


# Status fields that change all the time: a line for them only every interval.
COUNTING = ("pending", "spooled_s", "spool_bytes", "frames", "session_s")


def status_loop(daemon: StationDaemon, interval_s: float, stop: threading.Event) -> None:
    """The status line: at start, every ``interval_s``, and when something changes."""
    last, last_at = None, 0.0
    while not stop.wait(1.0):
        status = daemon.status()
        changed = {k: v for k, v in status.items() if k not in COUNTING}
        if changed != last or time.monotonic() - last_at >= interval_s:
            log.info(kv("station_status", **status))
            last, last_at = changed, time.monotonic()
