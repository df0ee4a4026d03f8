"""Kafka side of a station: keyed, acknowledged, ordered sends with a bounded local buffer."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.access.signing import SIGNATURE_HEADER, sign, station_key
from gaitstream.exceptions import SigningSettingsError
from gaitstream.logging import kv
from gaitstream.schemas.codec import encode
from gaitstream.settings import KafkaSettings, SigningSettings, TopicSettings

log = logging.getLogger(__name__)


class StationSettings(BaseSettings):
    """Station publishing knobs (``GAITSTREAM_STATION_*``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_STATION_", extra="ignore")

    frame_samples: int = Field(10, ge=1)
    # A session with a patient feedback screen (its start event carries a plan) sends frames of
    # this many samples. A sample waits for the rest of its frame before it leaves: the largest part
    # of the screen's live delay. 5 (0.05 s at 100 Hz) took the live p99 from 0.167 to 0.143 s with
    # 4 stations, but costs the worker about 1.5x per station: at 30 stations with screens on this
    # 2-core machine the worker went from 0.39 to 0.60 of a core and the p99 from 0.18 to 0.48 s
    # (benchmarks/feedback_latency.py, docs/benchmarks.md). Hence the same 10 as other sessions by default.
    feedback_frame_samples: int = Field(10, ge=1)
    # Frames sent but not yet acknowledged by the broker; beyond this, sending waits: the
    # local buffer is bounded (about 30 s of one station at 100 Hz, 10-sample frames).
    max_unacked_frames: int = 300
    delivery_timeout_s: float = 120.0
    linger_ms: int = 5
    # This station's signing key (hex), printed by `gaitstream access station add`.
    signing_key: SecretStr | None = None
    # The on-disk spool (services/station/spool.py): when set, every record is written there first
    # and a sender thread moves it to the broker in order, so a broker outage only grows the spool
    # and a restarted station resumes from it. Limits: what a clinic's station disk can spare
    # (512 MB is about 10 days of one 100 Hz station), and a week.
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(512 * 1024 * 1024, gt=0)
    spool_max_age_s: float = Field(7 * 24 * 3600.0, gt=0)
    # How long the sender waits for the broker's acknowledgement of a batch before it retries
    # (from the spool, in order), and the longest pause between retries.
    spool_send_timeout_s: float = Field(30.0, gt=0)
    spool_retry_max_s: float = Field(30.0, gt=0)


class StationSigner:
    """Each station's key: the one given (a real station) or derived from the deployment's
    signing secret (a simulated fleet: demo, tests, benchmarks)."""

    def __init__(self, settings: StationSettings) -> None:
        self._own = bytes.fromhex(settings.signing_key.get_secret_value()) if settings.signing_key else None
        self._secret = None if self._own else SigningSettings().secret()
        self._keys: dict[str, bytes] = {}

    def key(self, station_id: str) -> bytes:
        key = self._keys.get(station_id)
        if key is None:
            if self._own is not None:
                if self._keys:
                    raise SigningSettingsError(f"this station's key signs one station; {station_id!r} is a second one")
                key = self._own
            else:
                key = station_key(self._secret, station_id)
            self._keys[station_id] = key
        return key


class StationPublisher:
    """Sends one or many stations' records to the stations topic, key = station id.

    ``acks=all`` and idempotence: a frame is stored on every in-sync replica once, in order,
    despite retries. ``send`` blocks when ``max_unacked_frames`` are in flight. Every record is
    signed with its station's key (header ``gs-sig``, gaitstream.access.signing).
    """

    def __init__(self, *, kafka: KafkaSettings, topics: TopicSettings, settings: StationSettings) -> None:
        from kafka import KafkaProducer

        self.topic = topics.stations
        self.settings = settings
        self._signer = StationSigner(settings)
        self._spooled = None
        if settings.spool_dir is not None:
            from gaitstream.services.station.spool_sender import SpooledSender

            self._spooled = SpooledSender(kafka=kafka, topic=self.topic, settings=settings)
            self._pending: deque[Future] = deque()
            self.sent = 0
            return
        self._producer = KafkaProducer(
            **kafka.client_config(),
            client_id="gaitstream-station",
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.linger_ms,
            delivery_timeout_ms=int(settings.delivery_timeout_s * 1000),
        )
        self._pending: deque[Future] = deque()
        self.sent = 0

    def send(self, station_id: str, schema: str, record: dict) -> None:
        if self._spooled is not None:
            key, value = station_id.encode(), encode(schema, record)
            self._spooled.send(key, value, [(SIGNATURE_HEADER, sign(self._signer.key(station_id), key, value))])
            self.sent += 1
            return
        while len(self._pending) >= self.settings.max_unacked_frames:
            self._pending.popleft().get(timeout=self.settings.delivery_timeout_s)
        while self._pending and self._pending[0].is_done:
            self._pending.popleft().get()  # raises the delivery error, if any
        key, value = station_id.encode(), encode(schema, record)
        signature = sign(self._signer.key(station_id), key, value)
        self._pending.append(
            self._producer.send(self.topic, key=key, value=value, headers=[(SIGNATURE_HEADER, signature)])
        )
        self.sent += 1

    def key_check(self, station_id: str) -> None:
        """Fail now (``SigningSettingsError``) when this station has no signing key."""
        self._signer.key(station_id)

    def spool_status(self) -> dict:
        """Broker and spool, for a station's status line."""
        if self._spooled is not None:
            return self._spooled.status()
        return {"broker": "direct", "pending": len(self._pending)}

    def refused(self) -> str | None:
        """Why the broker refuses this station (credentials, ACLs), or None."""
        return None if self._spooled is None else self._spooled.refused

    def flush(self) -> None:
        if self._spooled is not None:
            self._spooled.drain(timeout_s=self.settings.delivery_timeout_s)
            return
        self._producer.flush(timeout=self.settings.delivery_timeout_s)
        while self._pending:
            self._pending.popleft().get(timeout=self.settings.delivery_timeout_s)

    def close(self, drain_s: float | None = None) -> None:
        """``drain_s``: how long a spooled publisher waits for the broker to take the spool
        (``delivery_timeout_s`` when None); what it has not taken stays for the next start."""
        if self._spooled is not None:
            self._spooled.close(drain_s=self.settings.delivery_timeout_s if drain_s is None else drain_s)
            log.info(kv("station_publisher_closed", sent=self.sent, spooled=self._spooled.pending))
            return
        try:
            self.flush()
        finally:
            self._producer.close()
            log.info(kv("station_publisher_closed", sent=self.sent))
