"""The pipeline's InfluxDB sink against the real InfluxDB: a write that cannot get through backs
off and retries until it lands (nothing lost, batches in order); a batch InfluxDB refuses raises
at once (the agent dead-letters it) instead of retrying forever.

The outage is real: the sink talks to InfluxDB through a TCP relay on a port that refuses
connections until the test opens it, then forwards every byte to the stack's InfluxDB.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import httpx
import pytest
from pydantic import SecretStr

from gaitstream.pipelines.sink.influx import InfluxSink, PermanentWriteError, RetryPolicy


class Relay:
    """A TCP port that refuses connections until :meth:`open`, then relays to ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open(): connections are refused
        self._server: socket.socket | None = None
        self._stop = threading.Event()

    def open(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.target)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _query(settings, q: str) -> list:
    resp = httpx.post(
        f"{settings.url}/query",
        data={"db": settings.database, "q": q},
        headers={"Authorization": f"Token {settings.token.get_secret_value()}"},
        timeout=10,
    )
    resp.raise_for_status()
    series = resp.json()["results"][0].get("series") or []
    return series[0]["values"] if series else []


@pytest.fixture()
def relay(influx_settings):
    url = urlparse(influx_settings.url)
    relay = Relay((url.hostname, url.port))
    yield relay
    relay.close()


def test_a_write_during_an_outage_retries_until_it_lands_in_order(influx_settings, relay) -> None:
    session = uuid.uuid4().hex[:12]
    t0_us = time.time_ns() // 1000 - 60_000_000
    first = [
        f"it_sink,session={session} pelvic_drop_deg={v} {t0_us + i * 1_000_000}" for i, v in enumerate((1.5, 2.5, 3.5))
    ]
    # the second batch rewrites the last point of the first (same series and time): in order,
    # the later value wins
    second = [
        f"it_sink,session={session} pelvic_drop_deg=9.5 {t0_us + 2 * 1_000_000}",
        f"it_sink,session={session} pelvic_drop_deg=4.5 {t0_us + 3 * 1_000_000}",
    ]
    sink = InfluxSink(
        influx_settings.model_copy(update={"url": f"http://127.0.0.1:{relay.port}"}),
        retry=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2),
        timeout_s=5.0,
    )
    done = threading.Event()

    def write_both() -> None:
        sink.write(first)
        sink.write(second)
        done.set()

    writer = threading.Thread(target=write_both, daemon=True)
    writer.start()
    deadline = time.monotonic() + 10
    while sink.retries < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.retries >= 3, "the sink should keep retrying while InfluxDB is unreachable"
    assert not done.is_set() and _query(influx_settings, f"SELECT * FROM it_sink WHERE session = '{session}'") == []

    relay.open()  # InfluxDB is back
    assert done.wait(20), "the sink should write once InfluxDB answers again"
    sink.close()
    rows = _query(influx_settings, f"SELECT pelvic_drop_deg FROM it_sink WHERE session = '{session}'")
    assert [row[1] for row in rows] == [1.5, 2.5, 9.5, 4.5]
    assert sink.points_written == 5


def test_a_batch_influxdb_refuses_raises_instead_of_retrying(influx_settings) -> None:
    sink = InfluxSink(influx_settings, retry=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2))
    try:
        with pytest.raises(PermanentWriteError) as refused:
            sink.write(["it_sink,session=x pelvic_drop_deg= 1"])  # a field without a value
        assert refused.value.status == 400 and sink.retries == 0
    finally:
        sink.close()


def test_one_bad_record_costs_the_other_stations_nothing_on_the_deployed_influxdb(influx_settings) -> None:
    """InfluxDB 2.x refuses a whole request for one bad line (1.x wrote the others): the sink
    splits the batch until the bad record is alone, and every other station's points land."""
    from gaitstream.pipelines.sink.influx import write_isolating

    session = uuid.uuid4().hex[:12]
    t0_us = time.time_ns() // 1000 - 60_000_000
    entries = [
        (f"{station}{i}", [f"it_sink,session={session},station={station} pelvic_drop_deg={i}.5 {t0_us + i}"])
        for station in ("a", "b", "c")
        for i in range(3)
    ]
    bad = ("b1", [f"it_sink,session={session},station=b pelvic_drop_deg=nan {t0_us + 99}"])
    entries.insert(4, bad)
    sink = InfluxSink(influx_settings, retry=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2))
    try:
        with pytest.raises(PermanentWriteError):  # the deployed version's semantics, shown once
            sink.write([line for _, lines in entries for line in lines])
        assert _query(influx_settings, f"SELECT * FROM it_sink WHERE session = '{session}'") == []
        result = write_isolating(entries, sink.write)
    finally:
        sink.close()
    assert [record for record, _ in result.refused] == ["b1"] and "HTTP 400" in result.refused[0][1]
    rows = _query(influx_settings, f"SELECT pelvic_drop_deg FROM it_sink WHERE session = '{session}'")
    assert len(rows) == 9
    print(f"one bad record in 10: {result.requests} requests, 9 records stored, 1 isolated")


@pytest.mark.parametrize(
    ("change", "status"),
    [({"token": SecretStr("not-a-token")}, 401), ({"bucket": "no-such-bucket"}, 404), ({"org": "no-such-org"}, 404)],
)
def test_a_refused_token_or_missing_bucket_is_a_sink_fault_not_a_silent_retry(influx_settings, change, status) -> None:
    from gaitstream.pipelines.sink.influx import SinkFault

    sink = InfluxSink(
        influx_settings.model_copy(update=change), retry=RetryPolicy(initial_backoff_s=5, max_backoff_s=5)
    )
    try:
        started = time.monotonic()
        with pytest.raises(SinkFault) as fault:
            sink.write([f"it_sink,session=x pelvic_drop_deg=1.0 {time.time_ns() // 1000}"])
        assert fault.value.status == status and sink.retries == 0 and time.monotonic() - started < 4
    finally:
        sink.close()
