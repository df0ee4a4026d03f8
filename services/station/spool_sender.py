"""Moves the spool's records to the broker, in order, acknowledging each batch only once the
broker has it; retries from the spool while the broker is away (backoff up to
``spool_retry_max_s``) and says so in ``station_status`` lines. A batch that failed part-way is
sent again whole: the pipeline drops a frame it has seen (same station, same sequence)."""

from __future__ import annotations

import logging
import threading
import time

from gaitstream.logging import kv
from gaitstream.services.station.spool import DiskSpool, SpoolFull, decode_record, encode_record
from gaitstream.settings import KafkaSettings

log = logging.getLogger(__name__)

BATCH_RECORDS = 500
# Errors that mean the broker refuses this station, not that it is away.
REFUSALS = frozenset(
    {
        "SaslAuthenticationFailedError",
        "AuthenticationFailedError",
        "TopicAuthorizationFailedError",
        "ClusterAuthorizationFailedError",
        "TransactionalIdAuthorizationFailedError",
    }
)
# A status line at most this often while spooling (and once when the broker is back).
STATUS_INTERVAL_S = 10.0


class SpooledSender:
    def __init__(self, *, kafka: KafkaSettings, topic: str, settings) -> None:
        self.kafka, self.topic, self.settings = kafka, topic, settings
        self.spool = DiskSpool(
            settings.spool_dir, max_bytes=settings.spool_max_bytes, max_age_s=settings.spool_max_age_s
        )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._producer = None
        self.broker_ok = False
        self.tried = False
        self.full_since: float | None = None
        # The broker refused this station (credentials or ACLs): no restart fixes that.
        self.refused: str | None = None
        if self.spool.pending:
            log.info(kv("station_spool_resumed", pending=self.spool.pending))
        self._thread = threading.Thread(target=self._run, name="station-spool-sender", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        with self._lock:
            return self.spool.pending

    def status(self) -> dict:
        """For the station's status line."""
        with self._lock:
            return {
                # "idle" until the first send, then as the last attempt went
                "broker": "connected" if self.broker_ok else "spooling" if self.tried else "idle",
                "pending": self.spool.pending,
                "spooled_s": round(self.spool.oldest_age_s()) if self.spool.pending else 0,
                "spool_bytes": self.spool.size_bytes,
                "spool_full": self.full_since is not None,
                "spool_dropped": self.spool.dropped,
            }

    def send(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        with self._lock:
            try:
                self.spool.append(encode_record(key, value, headers))
                self.full_since = None
            except SpoolFull as exc:
                if self.full_since is None:
                    self.full_since = time.monotonic()
                    log.error(kv("station_spool_full", reason=str(exc), dropped=self.spool.dropped))
                return
        self._wake.set()

    def drain(self, timeout_s: float) -> bool:
        """Wait until the broker has every record (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        return not self.pending

    def close(self, drain_s: float) -> None:
        self.drain(drain_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.settings.spool_send_timeout_s + 5)
        with self._lock:
            self.spool.close()
        if self._producer is not None:
            self._producer.close(timeout=5)

    # ------------------------------------------------------------------ the sender thread
    def _make_producer(self):
        from kafka import KafkaProducer

        return KafkaProducer(
            **self.kafka.client_config(),
            client_id="gaitstream-station",
            acks="all",
            enable_idempotence=True,
            linger_ms=self.settings.linger_ms,
            max_block_ms=int(self.settings.spool_send_timeout_s * 1000),
            delivery_timeout_ms=int(self.settings.spool_send_timeout_s * 1000),
            request_timeout_ms=int(self.settings.spool_send_timeout_s * 1000) - 1000,
        )

    def _run(self) -> None:
        backoff_s, last_status = 0.5, 0.0
        while not self._stop.is_set():
            with self._lock:
                batch = self.spool.peek(BATCH_RECORDS)
                if not batch:
                    self.spool.expire()
            if not batch:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            self.tried = True
            try:
                if self._producer is None:
                    self._producer = self._make_producer()
                futures = []
                for record in batch:
                    key, value, headers = decode_record(record.payload)
                    futures.append(self._producer.send(self.topic, key=key, value=value, headers=headers))
                for future in futures:
                    future.get(timeout=self.settings.spool_send_timeout_s)
            except Exception as exc:  # the broker is away (or refuses): keep the records, try again
                if type(exc).__name__ in REFUSALS:
                    self.refused = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    expired = self.spool.expire()  # the age limit holds during an outage too
                if expired:
                    log.error(kv("station_spool_expired", dropped=expired, max_age_s=self.settings.spool_max_age_s))
                if self.broker_ok or time.monotonic() - last_status > STATUS_INTERVAL_S:
                    last_status = time.monotonic()
                    with self._lock:
                        pending, age_s = self.spool.pending, self.spool.oldest_age_s()
                    log.warning(
                        kv(
                            "station_status",
                            broker="spooling",
                            pending=pending,
                            spooled_s=round(age_s),
                            error=type(exc).__name__,
                        )
                    )
                self.broker_ok = False
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.settings.spool_retry_max_s)
                continue
            with self._lock:
                self.spool.ack(batch[-1].record_id)
                pending = self.spool.pending
            if not self.broker_ok:
                log.info(kv("station_status", broker="connected", pending=pending))
            self.broker_ok, backoff_s, self.refused = True, 0.5, None
