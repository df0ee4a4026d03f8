"""Kafka side of a station: keyed, acknowledged, ordered sends with a bounded local buffer."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future

from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.logging import kv
from gaitstream.schemas.codec import encode
from gaitstream.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)


class StationSettings(BaseSettings):
    """Station publishing knobs (``GAITSTREAM_STATION_*``)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_STATION_", extra="ignore")

    frame_samples: int = 10
    # Frames sent but not yet acknowledged by the broker; beyond this, sending waits: the
    # local buffer is bounded (about 30 s of one station at 100 Hz, 10-sample frames).
    max_unacked_frames: int = 300
    delivery_timeout_s: float = 120.0
    linger_ms: int = 5


class StationPublisher:
    """Sends one or many stations' records to the stations topic, key = station id.

    ``acks=all`` and idempotence: a frame is stored on every in-sync replica once, in order,
    despite retries. ``send`` blocks when ``max_unacked_frames`` are in flight.
    """

    def __init__(self, *, kafka: KafkaSettings, topics: TopicSettings, settings: StationSettings) -> None:
        from kafka import KafkaProducer

        self.topic = topics.stations
        self.settings = settings
        self._producer = KafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id="gaitstream-station",
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.linger_ms,
            delivery_timeout_ms=int(settings.delivery_timeout_s * 1000),
        )
        self._pending: deque[Future] = deque()
        self.sent = 0

    def send(self, station_id: str, schema: str, record: dict) -> None:
        while len(self._pending) >= self.settings.max_unacked_frames:
            self._pending.popleft().get(timeout=self.settings.delivery_timeout_s)
        while self._pending and self._pending[0].is_done:
            self._pending.popleft().get()  # raises the delivery error, if any
        self._pending.append(self._producer.send(self.topic, key=station_id.encode(), value=encode(schema, record)))
        self.sent += 1

    def flush(self) -> None:
        self._producer.flush(timeout=self.settings.delivery_timeout_s)
        while self._pending:
            self._pending.popleft().get(timeout=self.settings.delivery_timeout_s)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()
            log.info(kv("station_publisher_closed", sent=self.sent))
