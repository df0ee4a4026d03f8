"""The InfluxDB sink: write a batch, retrying with backoff until it lands; refused records isolated.

What each answer of InfluxDB means is a :class:`WriteErrorPolicy`, passed in:
- the data is refused (400, 413, 422): retrying cannot help. InfluxDB 2.x refuses a *whole*
  request for one bad line, so :func:`write_isolating` splits the batch until the refused records
  are alone; only those go to the dead letters, every other record lands.
- the sink is misconfigured (401, 403: the token; 404: the org or bucket): :class:`SinkFault`,
  raised at once so that the caller marks itself unhealthy and raises an alert; the caller retries
  the same batch (nothing is skipped) until the operator fixes it.
- anything else (5xx, 429, timeouts, a refused connection) is transient: backoff and retry here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from gaitstream.logging import kv
from gaitstream.pipelines.sink.points import PRECISION
from gaitstream.settings import InfluxSettings

log = logging.getLogger(__name__)
R = TypeVar("R")


class PermanentWriteError(RuntimeError):
    """InfluxDB refused the data itself: retrying the same request cannot help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"InfluxDB refused the data: HTTP {status}: {body[:300]}")
        self.status = status


class SinkFault(RuntimeError):
    """InfluxDB refuses the sink itself (token, org, bucket): an operator has to act."""

    def __init__(self, status: int, body: str) -> None:
        what = {401: "token not accepted", 403: "token may not write the bucket", 404: "org or bucket not found"}
        super().__init__(f"InfluxDB refused the sink: HTTP {status} ({what.get(status, 'refused')}): {body[:300]}")
        self.status = status


@dataclass(frozen=True)
class WriteErrorPolicy:
    """Which HTTP answers refuse the data, which are the sink's fault; the rest are transient."""

    refused_statuses: frozenset[int] = frozenset({400, 413, 422})
    fault_statuses: frozenset[int] = frozenset({401, 403, 404})

    def error_for(self, status: int, body: str) -> Exception | None:
        """The exception to raise for this answer, or None to retry."""
        if status in self.refused_statuses:
            return PermanentWriteError(status, body)
        if status in self.fault_statuses:
            return SinkFault(status, body)
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures (5xx, 429, timeouts, connection refused)."""

    initial_backoff_s: float = 0.2
    max_backoff_s: float = 10.0


@dataclass
class Isolated(Generic[R]):
    """What :func:`write_isolating` did: the records refused with InfluxDB's reason, and requests made."""

    refused: list[tuple[R, str]]
    requests: int


def write_isolating(entries: Sequence[tuple[R, list[str]]], write: Callable[[list[str]], None]) -> Isolated[R]:
    """Write every record's lines; when InfluxDB refuses a request, split it in halves until each
    refused record is alone, so one bad record costs no other record anything.

    ``entries`` are (record, its lines); ``write`` raises :class:`PermanentWriteError` for refused
    data (anything else it raises propagates: nothing is acknowledged). Records with no lines are
    written trivially. A batch with one bad record of n takes about 2 log2(n) requests.
    """
    refused: list[tuple[R, str]] = []
    requests = 0
    pending = [list(entries)]
    while pending:
        part = pending.pop()
        lines = [line for _, record_lines in part for line in record_lines]
        if not lines:
            continue
        requests += 1
        try:
            write(lines)
        except PermanentWriteError as exc:
            if len(part) == 1:
                refused.append((part[0][0], str(exc)))
            else:
                middle = len(part) // 2
                pending.extend([part[middle:], part[:middle]])  # first half next: keeps log order
    return Isolated(refused=refused, requests=requests)


class InfluxSink:
    """Blocking batch writer (called from a worker thread); one client for the worker's lifetime.

    Hooks: ``write(lines)`` returns once InfluxDB has stored the line-protocol points, raises
    :class:`PermanentWriteError` or :class:`SinkFault` as ``errors`` says; ``close()``. The caller
    acknowledges the Kafka offsets only after the batch is written or isolated.
    """

    def __init__(
        self,
        settings: InfluxSettings,
        *,
        retry: RetryPolicy | None = None,
        errors: WriteErrorPolicy | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.errors = errors or WriteErrorPolicy()
        self._client = InfluxDBClient(
            url=settings.url,
            token=settings.token.get_secret_value(),
            org=settings.org,
            timeout=int(timeout_s * 1000),
            enable_gzip=settings.gzip,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._closing = threading.Event()
        self.points_written = 0
        self.retries = 0

    def write(self, lines: list[str]) -> None:
        from influxdb_client.rest import ApiException

        # One body, not a list: influxdb-client serialises a list element by element (an import
        # and type checks per line: 3.5 µs of CPU per point, more than formatting the line).
        body = "\n".join(lines).encode()
        backoff_s = self.retry.initial_backoff_s
        while True:
            started = time.perf_counter()
            try:
                self._write_api.write(
                    bucket=self.settings.bucket, org=self.settings.org, record=body, write_precision=PRECISION
                )
            except ApiException as exc:
                error = self.errors.error_for(exc.status, str(exc.body))
                if error is not None:
                    raise error from exc
                reason = f"HTTP {exc.status}"
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                self.points_written += len(lines)
                log.debug(kv("influx_wrote", points=len(lines), elapsed_s=round(time.perf_counter() - started, 3)))
                return
            if self._closing.is_set():
                raise RuntimeError(f"sink closing while InfluxDB is failing ({reason})")
            self.retries += 1
            log.warning(kv("influx_write_retry", points=len(lines), reason=reason, backoff_s=backoff_s))
            self._closing.wait(backoff_s)
            backoff_s = min(backoff_s * 2, self.retry.max_backoff_s)

    def close(self) -> None:
        self._closing.set()
        self._client.close()
