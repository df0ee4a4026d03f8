"""Delivery log -> real receivers (HTTP, SMTP, apprise) with a controlled clock; on SQLite and
on PostgreSQL (``store_url``). Kafka is left out here (test_dispatch_kafka.py has it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from gaitstream.services.alerts.dispatch.channels.apprise_channel import AppriseChannel
from gaitstream.services.alerts.dispatch.channels.email import EmailChannel
from gaitstream.services.alerts.dispatch.channels.webhook import WebhookChannel
from gaitstream.services.alerts.dispatch.ingest import ingest_records
from gaitstream.services.alerts.dispatch.sender import Sender
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.services.alerts.store.models import Alert, Delivery, Mute
from tests.services.alerts.dispatch_peers import alert_record, sessions_for, smtp_server, subscribe, webhook_receiver

# apprise imports the stdlib's deprecated imghdr (Python 3.11); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

T0 = datetime(2026, 6, 10, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def make_sender(sessions, clock, *, smtp=None, **overrides) -> Sender:
    settings = DispatchSettings(
        **(
            {
                "backoff_base_s": 1.0,
                "backoff_max_s": 8.0,
                "max_attempts": 4,
                "lease_s": 5.0,
                "webhook_timeout_s": 2.0,
                "smtp_timeout_s": 2.0,
                "apprise_timeout_s": 2.0,
            }
            | overrides
        )
    )
    channels = {
        "webhook": WebhookChannel(timeout_s=settings.webhook_timeout_s),
        "apprise": AppriseChannel(timeout_s=settings.apprise_timeout_s),
    }
    if smtp is not None:
        channels["email"] = EmailChannel(
            host=smtp.host, port=smtp.port, sender="alerts@clinic-a.example", timeout_s=settings.smtp_timeout_s
        )
    return Sender(sessions=sessions, settings=settings, channels=channels, clock=clock, rand=lambda: 1.0)


def deliveries(sessions) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


@pytest.fixture()
def sessions(store_url):
    return sessions_for(store_url)


def test_webhook_is_signed_and_received_once(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(1)], now=clock())
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        assert stats.sent == 1 and sender.run_once().claimed == 0
        sender.close()
    [request] = receiver.requests
    assert request.verified, request.error
    row = deliveries(sessions)[0]
    assert (row.status, row.attempts, row.state_change) == ("sent", 1, "open")
    assert request.delivery_id == str(row.id) == str(request.payload["delivery_id"])
    alert = request.payload["alert"]
    assert (
        alert["kind"],
        alert["severity"],
        alert["station_id"],
        alert["patient_id"],
        alert["value"],
        alert["threshold"],
    ) == ("pelvic_drop_sustained", "warning", "station-01", "p-0001", 7.5, 6.0)
    assert alert["dashboard_url"].startswith("http://grafana.local/")


def test_email_reaches_a_real_smtp_server(sessions):
    clock = Clock()
    with smtp_server() as smtp:
        subscribe(sessions, channel="email", target="sam@clinic-a.example")
        ingest_records(sessions, [alert_record(2, severity="critical", kind="station_silent")], now=clock())
        sender = make_sender(sessions, clock, smtp=smtp)
        assert sender.run_once().sent == 1
        sender.close()
    [mail] = smtp.messages
    row = deliveries(sessions)[0]
    assert mail.envelope_to == ["sam@clinic-a.example"]
    assert "CRITICAL station_silent open" in mail["Subject"] and "station-01" in mail["Subject"]
    assert mail["Message-ID"].startswith(f"<gaitstream.delivery.{row.id}.") and mail["X-Priority"] == "1"
    body = mail.get_content()
    for text in ("p-0002", "pelvic_drop_deg_median: 7.5", "threshold: 6.0", "dashboard: http://grafana.local/"):
        assert text in body


def test_apprise_reaches_a_real_http_service(sessions):
    clock = Clock()
    with webhook_receiver(require_signature=False) as receiver:
        target = receiver.url.replace("http://", "json://")
        subscribe(sessions, channel="apprise", target=target)
        ingest_records(sessions, [alert_record(3)], now=clock())
        sender = make_sender(sessions, clock)
        assert sender.run_once().sent == 1
        sender.close()
    [request] = receiver.requests
    assert "pelvic_drop_sustained" in request.payload["title"] and "p-0003" in request.payload["message"]


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_delivery(sessions):
    clock = Clock()
    with webhook_receiver(fail_first=2) as receiver:
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(4)], now=clock())
        sender = make_sender(sessions, clock)
        assert sender.run_once().retried == 1
        row = deliveries(sessions)[0]
        # Backoff 1 s * 2**0 (jitter at its top here): not due before, due after.
        assert row.status == "pending" and "HTTP 503" in row.last_error
        assert sender.run_once().claimed == 0
        clock.advance(1.01)
        assert sender.run_once().retried == 1
        clock.advance(1.5)
        assert sender.run_once().claimed == 0  # second backoff is 2 s
        clock.advance(0.6)
        assert sender.run_once().sent == 1
        clock.advance(60)
        assert sender.run_once().claimed == 0
        sender.close()
    assert receiver.answered == [503, 503, 200]
    assert len(receiver.unique()) == 1
    row = deliveries(sessions)[0]
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_an_open_alert_is_retried_while_open_and_its_resolve_gives_up_after_max_attempts(sessions):
    clock = Clock()
    with webhook_receiver(fail_first=100) as receiver:
        subscribe(sessions, target=receiver.url)
        opened = alert_record(5)
        ingest_records(sessions, [opened], now=clock())
        sender = make_sender(sessions, clock, max_attempts=3)
        for _ in range(8):
            sender.run_once()
            clock.advance(10)
        (row,) = deliveries(sessions)
        assert (row.status, row.attempts) == ("pending", 8) and "HTTP 503" in row.last_error
        assert row.next_attempt_at.replace(tzinfo=timezone.utc) - clock() <= timedelta(seconds=8)  # capped
        ingest_records(sessions, [{**opened, "state": "resolved", "severity": "info"}], now=clock())
        for _ in range(6):
            sender.run_once()
            clock.advance(10)
        sender.close()
    superseded, resolve = deliveries(sessions)
    assert (superseded.status, superseded.last_error) == ("suppressed", "superseded_by_resolve")
    assert (resolve.status, resolve.attempts) == ("failed", 3) and "HTTP 503" in resolve.last_error
    assert len(receiver.requests) == 8 + 3


def test_an_alert_no_message_can_be_made_of_fails_alone_and_the_rest_go_out(sessions, monkeypatch):
    from gaitstream.services.alerts.dispatch import sender as sender_module

    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(21), alert_record(22), alert_record(23)], now=clock())
        original = sender_module.render_alert

        def render(delivery_id, state_change, alert, **options):  # a fault injected into our own renderer
            if alert.session_id == "sess-0022":
                raise ValueError("cannot render this one")
            return original(delivery_id, state_change, alert, **options)

        monkeypatch.setattr(sender_module, "render_alert", render)
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        sender.close()
    rows = deliveries(sessions)
    assert [r.status for r in rows] == ["sent", "failed", "sent"] and stats.sent == 2
    assert rows[1].last_error == "render: ValueError: cannot render this one"
    assert sorted(r.payload["alert"]["session_id"] for r in receiver.requests) == ["sess-0021", "sess-0023"]


def test_an_absurd_time_renders_as_such_instead_of_failing(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(24, time_us=2**62)], now=clock())
        sender = make_sender(sessions, clock)
        sender.run_once()
        sender.close()
    assert deliveries(sessions)[0].status == "sent"
    assert receiver.requests[0].payload["alert"]["opened_at"] == f"not a valid time ({2**62} us)"


def test_loopback_webhook_refused_unless_the_clinic_allows(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, clinic_id="clinic-closed", target=receiver.url, allow_private=False)
        subscribe(sessions, clinic_id="clinic-open", target=receiver.url, allow_private=True)
        ingest_records(
            sessions,
            [alert_record(6, clinic_id="clinic-closed"), alert_record(7, clinic_id="clinic-open")],
            now=clock(),
        )
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        sender.close()
    assert (stats.sent, stats.failed) == (1, 1)
    refused, sent = deliveries(sessions)
    assert refused.status == "failed" and refused.attempts == 1 and "refused target" in refused.last_error
    assert "127.0.0.1" in refused.last_error and sent.status == "sent"
    assert [r.payload["alert"]["clinic_id"] for r in receiver.requests] == ["clinic-open"]


def test_quiet_hours_defer_warnings_let_critical_through_and_resolve_supersedes(sessions):
    clock = Clock()  # 12:00 UTC = 14:00 in Berlin (CEST)
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url, quiet_start="13:30", quiet_end="14:30", timezone="Europe/Berlin")
        warning, critical, brief = (
            alert_record(8),
            alert_record(9, severity="critical", kind="station_silent"),
            alert_record(10),
        )
        ingest_records(sessions, [warning, critical, brief], now=clock())
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        assert (stats.sent, stats.deferred) == (1, 2)
        assert [r.payload["alert"]["kind"] for r in receiver.requests] == ["station_silent"]
        # `brief` opens and resolves inside the quiet hours: one resolve message at their end.
        clock.advance(600)
        ingest_records(
            sessions,
            [
                {
                    **brief,
                    "state": "resolved",
                    "severity": "info",
                    "message": "back under the threshold",
                    "time_us": brief["time_us"] + 600_000_000,
                }
            ],
            now=clock(),
        )
        assert sender.run_once().deferred == 1
        assert len(receiver.requests) == 1
        clock.now = datetime(2026, 6, 10, 12, 30, tzinfo=timezone.utc)  # 14:30 Berlin: quiet hours end
        assert sender.run_once().sent == 2
        sender.close()
    got = [(r.payload["alert"]["session_id"], r.payload["event"]) for r in receiver.requests]
    assert got[0] == ("sess-0009", "open")
    assert sorted(got[1:]) == [("sess-0008", "open"), ("sess-0010", "resolved")]
    resolve = next(r.payload["alert"] for r in receiver.requests if r.payload["event"] == "resolved")
    assert resolve["opened_at"] < resolve["resolved_at"] and resolve["severity"] == "warning"
    assert resolve["resolve_message"] == "back under the threshold"
    by_change = {(d.alert_id, d.state_change): d for d in deliveries(sessions)}
    superseded = by_change[(brief["alert_id"], "open")]
    assert (superseded.status, superseded.last_error) == ("suppressed", "superseded_by_resolve")


def test_reminders_at_the_interval_until_acknowledged(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url, repeat_interval_s=60)
        record = alert_record(11)
        ingest_records(sessions, [record], now=clock())
        sender = make_sender(sessions, clock)
        assert sender.run_once().sent == 1
        clock.advance(59)
        assert sender.run_once().reminders == 0
        clock.advance(1)
        stats = sender.run_once()
        assert (stats.reminders, stats.sent) == (1, 1)
        clock.advance(30)
        assert sender.run_once().reminders == 0
        clock.advance(30)
        assert sender.run_once().sent == 1
        with sessions.begin() as session:
            session.execute(update(Alert).where(Alert.alert_id == record["alert_id"]).values(acknowledged_at=clock()))
        for _ in range(3):
            clock.advance(61)
            assert sender.run_once().claimed == 0
        sender.close()
    assert [r.payload["state_change"] for r in receiver.requests] == ["open", "repeat-1", "repeat-2"]
    assert receiver.requests[1].payload["event"] == "reminder"


def test_no_reminder_after_resolve(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url, repeat_interval_s=60)
        record = alert_record(12)
        ingest_records(sessions, [record], now=clock())
        sender = make_sender(sessions, clock)
        sender.run_once()
        clock.advance(30)
        ingest_records(sessions, [{**record, "state": "resolved", "severity": "info"}], now=clock())
        sender.run_once()
        for _ in range(3):
            clock.advance(61)
            sender.run_once()
        sender.close()
    assert [r.payload["state_change"] for r in receiver.requests] == ["open", "resolved"]


def test_flooded_subscription_gets_a_digest(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url, digest_after=3, digest_window_s=60)
        ingest_records(sessions, [alert_record(100 + n) for n in range(10)], now=clock())
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        assert (stats.sent, stats.digested) == (3, 7)
        # A critical alert in the flood goes out on its own, at once.
        ingest_records(sessions, [alert_record(110, severity="critical", kind="station_silent")], now=clock())
        assert (sender.run_once().sent, len(receiver.requests)) == (1, 4)
        clock.advance(59)
        assert sender.run_once().claimed == 0
        clock.advance(1)
        assert sender.run_once().sent == 1
        sender.close()
    assert len(receiver.requests) == 5
    assert receiver.requests[3].payload["alert"]["kind"] == "station_silent"
    digest = receiver.requests[-1].payload
    assert digest["event"] == "digest" and len(digest["items"]) == 7
    sessions_got = {r.payload["alert"]["session_id"] for r in receiver.requests[:4]} | {
        item["alert"]["session_id"] for item in digest["items"]
    }
    assert sessions_got == {f"sess-{100 + n:04d}" for n in range(11)}  # nothing dropped
    rows = deliveries(sessions)
    assert sum(r.status == "digested" and r.sent_at is not None for r in rows) == 7


def test_muted_alert_is_suppressed_with_the_reason(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscription_id = subscribe(sessions, target=receiver.url)
        with sessions.begin() as session:
            from gaitstream.services.alerts.store.models import Subscription

            supervisor_id = session.get(Subscription, subscription_id).supervisor_id
            session.add(
                Mute(
                    supervisor_id=supervisor_id,
                    clinic_id="clinic-a",
                    station_id="station-01",
                    until=clock() + timedelta(hours=1),
                    created_at=clock(),
                )
            )
        ingest_records(sessions, [alert_record(13, severity="critical")], now=clock())
        sender = make_sender(sessions, clock)
        assert sender.run_once().suppressed == 1
        sender.close()
    assert receiver.requests == []
    row = deliveries(sessions)[0]
    assert row.status == "suppressed" and row.last_error.startswith("muted:")


def test_claim_of_a_dead_dispatcher_is_resent_with_the_same_id_after_the_lease(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(14)], now=clock())
        dead = make_sender(sessions, clock)
        from gaitstream.services.alerts.dispatch.sender import SendStats

        [claim] = dead.claim(clock(), SendStats())  # claimed, then the process "dies"
        dead.close()
        sender = make_sender(sessions, clock)
        clock.advance(4.9)
        assert sender.run_once().claimed == 0  # lease (5 s) still held
        clock.advance(0.2)
        assert sender.run_once().sent == 1
        sender.close()
    [request] = receiver.requests
    assert request.delivery_id == str(claim.delivery_id)
    row = deliveries(sessions)[0]
    assert (row.status, row.attempts) == ("sent", 2)


def test_replayed_records_queue_nothing_twice(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url)
        opened = alert_record(15)
        resolved = {**opened, "state": "resolved", "severity": "info", "time_us": opened["time_us"] + 1}
        first = ingest_records(sessions, [opened, resolved], now=clock())
        again = ingest_records(sessions, [opened, resolved, opened], now=clock())
        assert (first.queued, first.superseded, again.queued, again.ignored) == (2, 1, 0, 3)
        sender = make_sender(sessions, clock)
        sender.run_once()
        sender.close()
    with sessions() as session:
        assert session.get(Alert, opened["alert_id"]).state == "resolved"
    assert [r.payload["event"] for r in receiver.requests] == ["resolved"]


def test_a_sender_never_reclaims_its_own_slow_send_and_a_late_outcome_cannot_overwrite(sessions):
    from gaitstream.services.alerts.dispatch.sender import SendStats

    clock = Clock()
    subscribe(sessions, target="http://127.0.0.1:9/unused")
    ingest_records(sessions, [alert_record(16)], now=clock())
    slow = make_sender(sessions, clock)
    [claim] = slow.claim(clock(), SendStats())
    clock.advance(10)  # the send outlives the 5 s lease
    assert slow.claim(clock(), SendStats()) == []
    other = make_sender(sessions, clock)  # another dispatcher takes the expired lease over
    [again] = other.claim(clock(), SendStats())
    assert (again.delivery_id, again.attempts) == (claim.delivery_id, 2)
    stats = SendStats()
    slow._record([(claim, None)], stats)
    assert (stats.lost_lease, stats.sent) == (1, 0)
    row = deliveries(sessions)[0]
    assert (row.status, row.attempts) == ("sending", 2)  # still the other dispatcher's claim
    slow.close()
    other.close()


def test_a_subscription_with_broken_settings_fails_alone(sessions):
    clock = Clock()
    with webhook_receiver() as receiver:
        subscribe(sessions, target=receiver.url, quiet_start="22:00", quiet_end="06:00", timezone="Nowhere/City")
        subscribe(sessions, target=receiver.url)
        ingest_records(sessions, [alert_record(17)], now=clock())
        sender = make_sender(sessions, clock)
        stats = sender.run_once()
        sender.close()
    assert (stats.failed, stats.sent, len(receiver.requests)) == (1, 1, 1)
    broken = deliveries(sessions)[0]
    assert broken.status == "failed" and "Nowhere/City" in broken.last_error


def test_a_busy_quiet_night_arrives_as_a_few_messages_and_one_digest(sessions):
    clock = Clock(datetime(2026, 6, 10, 2, 0, tzinfo=timezone.utc))
    with webhook_receiver() as receiver:
        subscribe(
            sessions, target=receiver.url, quiet_start="22:00", quiet_end="06:00", digest_after=2, digest_window_s=60
        )
        ingest_records(sessions, [alert_record(200 + n) for n in range(5)], now=clock())
        sender = make_sender(sessions, clock)
        assert sender.run_once().deferred == 5
        clock.now = datetime(2026, 6, 10, 6, 0, tzinfo=timezone.utc)
        stats = sender.run_once()
        assert (stats.sent, stats.digested) == (2, 3)
        clock.advance(60)
        assert sender.run_once().sent == 1
        sender.close()
    assert [r.payload["event"] for r in receiver.requests] == ["open", "open", "digest"]
    assert len(receiver.requests[-1].payload["items"]) == 3


def test_a_critical_alert_goes_out_within_5_s_while_other_deliveries_hang(sessions):
    """20 warnings to a receiver that never answers in time (each send ends at the 2 s timeout),
    then a silent station (critical) for a supervisor on a working receiver."""
    import threading
    import time

    from gaitstream.services.alerts.dispatch.store_ops import utcnow

    with webhook_receiver(delay_s=3.0) as hanging, webhook_receiver() as working:
        subscribe(sessions, target=hanging.url)
        subscribe(sessions, target=working.url, min_severity="critical")
        ingest_records(sessions, [alert_record(30 + i) for i in range(20)], now=utcnow())
        sender = make_sender(sessions, utcnow, backoff_base_s=30.0, backoff_max_s=60.0)
        stop = threading.Event()
        thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
        thread.start()
        try:
            time.sleep(0.5)  # the warnings' sends are hanging by now
            started = time.monotonic()
            ingest_records(sessions, [alert_record(99, severity="critical", kind="station_silent")], now=utcnow())
            assert working.wait(lambda r: len(r.requests) >= 1, timeout_s=10)
            took_s = working.requests[0].at - (time.time() - (time.monotonic() - started))
        finally:
            stop.set()
            thread.join(timeout=30)
            sender.close()
    print(f"critical delivered {took_s:.2f} s after it was stored, 20 warnings hanging")
    assert working.requests[0].payload["alert"]["kind"] == "station_silent"
    assert took_s < 5.0
