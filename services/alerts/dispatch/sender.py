"""Delivery log -> channels: claim due deliveries, send them, record the outcome.

One pass (``run_once``):

1. Reminders: for every open, unacknowledged alert whose subscription has a
   ``repeat_interval_s``, queue ``repeat-<n+1>`` once the interval has passed since the last
   message of the chain was sent (insert-if-absent: two dispatchers cannot queue it twice).
2. Claim: due rows (``pending`` with ``next_attempt_at`` past or unset, or ``sending`` whose
   lease expired) are decided again (``matching.decide``: disabled, muted, quiet hours). A
   delivery is claimed by a conditional update ``pending -> sending`` (``attempts + 1``,
   ``next_attempt_at = now + lease_s``) in a committed transaction: one dispatcher wins. Only
   as many rows are claimed as there are free sender slots, so a claimed row is being sent.
   Flood control: a subscription that already got ``digest_after`` messages within the clinic's
   ``digest_window_s`` has further rows folded (``digested``) into one pending digest delivery,
   sent ``digest_window_s`` after it was opened. Critical alerts are never folded.
3. Send the claimed rows, ``send_concurrency`` at a time.
4. Record: ``sent``; or ``pending`` again after an exponential backoff with jitter (capped at
   ``backoff_max_s``): an open alert's message for as long as the alert is open, anything else
   up to ``max_attempts``; or ``failed`` for a permanent error. When one delivery of an open
   alert has failed ``escalate_after_failures`` times and its clinic has a fallback channel, an
   ``escalate-<id>`` delivery goes there (once), whatever the supervisor's mutes or quiet hours.
   A row no message can be made of fails alone (``render: ...``); critical alerts are claimed
   first, and one sender slot is kept for them. The update is conditional on
   the claim (status and attempts), so a dispatcher that lost its lease cannot overwrite.

The guarantee (docs/architecture.md, "Delivery guarantees"): each (alert, subscription, state change) has one row and
is *logged* as sent at most once. The physical send is repeated only when a dispatcher dies (or
loses its lease) after the receiver got the message and before ``sent`` was committed, or when
a receiver accepted a request whose answer never arrived: then, after ``lease_s``, the same
delivery goes out again with the same ``X-Gaitstream-Delivery`` id / e-mail Message-ID, so the
receiver can drop it. Nothing queued is dropped: every row ends ``sent``, ``suppressed`` (with
its reason), ``digested`` (into a sent digest) or ``failed`` (with the last error).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gaitstream.logging import kv
from gaitstream.services.alerts.dispatch.channels import Target
from gaitstream.services.alerts.dispatch.exceptions import DeliveryError
from gaitstream.services.alerts.dispatch.matching import SEVERITY_RANK, as_utc, decide
from gaitstream.services.alerts.dispatch.messages import Message, render_alert, render_digest
from gaitstream.services.alerts.dispatch.settings import DispatchSettings
from gaitstream.services.alerts.dispatch.store_ops import insert_ignore, pending_delivery, utcnow
from gaitstream.services.alerts.store.models import Alert, ClinicSettings, Delivery, Mute, Subscription

log = logging.getLogger(__name__)

# Recording an outcome: 4 tries, 0.25 s apart and growing (2.5 s in all), before leaving the row to
# its lease.
RECORD_ATTEMPTS = 4
RECORD_RETRY_S = 0.25
# Due rows read per free sender slot in one pass: enough that rows which are only decided
# (suppressed, deferred, folded into a digest) do not starve the claims, few enough that a pass
# for one free slot does not load hundreds of rows (send_batch caps it).
DUE_ROWS_PER_SLOT = 4
# ClinicSettings defaults for a clinic without a settings row (same as the model's defaults).
DEFAULT_DIGEST_AFTER = 5
DEFAULT_DIGEST_WINDOW_S = 300


@dataclass(frozen=True)
class _RowContext:
    """One due row's surroundings, read once per pass (``Dispatcher._context``)."""

    subscription: Subscription
    alert: Alert
    clinic: ClinicSettings | None
    subject: Alert  # the alert a message is about (a digest's most severe)
    items: list[tuple[str, Alert]]  # a digest's folded (state change, alert)
    mutes: list[Mute]
    is_digest: bool
    escalation: bool


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int  # after this claim
    state_change: str
    message: Message
    target: Target
    alert_id: str
    critical: bool = False


@dataclass
class SendStats:
    reminders: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    digested: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendStats) -> None:
        for name in (
            "reminders",
            "claimed",
            "sent",
            "retried",
            "failed",
            "suppressed",
            "deferred",
            "digested",
            "lost_lease",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff_s(attempts: int, *, base_s: float, max_s: float, rand: Callable[[], float] = random.random) -> float:
    """Delay before attempt ``attempts + 1``: base * 2**(attempts-1), capped; the upper half is random."""
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + rand() * delay / 2


def _repeat_number(state_change: str) -> int:
    return 0 if state_change == "open" else int(state_change.split("-", 1)[1])


class Sender:
    """Claims, sends and records deliveries; ``channels`` maps a channel name to an object with
    ``send(message, target)`` (``gaitstream.services.alerts.dispatch.channels``)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        settings: DispatchSettings,
        channels: dict[str, Any],
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sessions, self.settings, self.channels = sessions, settings, channels
        self.clock, self.rand = clock, rand
        self._pool = ThreadPoolExecutor(max_workers=settings.send_concurrency, thread_name_prefix="alerts-send")
        # Claimed by this sender and not yet recorded: never claimed again by it, even if a slow
        # send or store outlives the lease (another dispatcher may; see lease_s).
        self._in_flight: set[int] = set()
        self.totals = SendStats()

    # 1. reminders -------------------------------------------------------------------------
    def schedule_reminders(self, now: datetime) -> int:
        with self.sessions.begin() as session:
            rows = session.execute(
                select(
                    Delivery.alert_id,
                    Delivery.subscription_id,
                    Delivery.state_change,
                    Delivery.status,
                    Delivery.sent_at,
                    Delivery.created_at,
                    Subscription.repeat_interval_s,
                )
                .join(Alert, Alert.alert_id == Delivery.alert_id)
                .join(Subscription, Subscription.id == Delivery.subscription_id)
                .where(
                    Alert.state == "open",
                    Alert.acknowledged_at.is_(None),
                    Subscription.repeat_interval_s.is_not(None),
                    Subscription.enabled.is_(True),
                    or_(Delivery.state_change == "open", Delivery.state_change.like("repeat-%")),
                )
            ).all()
            latest: dict[tuple[str, int], Any] = {}
            for row in rows:
                key = (row.alert_id, row.subscription_id)
                if key not in latest or _repeat_number(row.state_change) > _repeat_number(latest[key].state_change):
                    latest[key] = row
            due = []
            for (alert_id, subscription_id), row in latest.items():
                if row.status in ("pending", "sending") or (row.status == "digested" and row.sent_at is None):
                    continue  # the last message has not gone out yet
                base = as_utc(row.sent_at or row.created_at)
                if now >= base + timedelta(seconds=row.repeat_interval_s):
                    due.append(
                        pending_delivery(
                            alert_id, subscription_id, f"repeat-{_repeat_number(row.state_change) + 1}", now
                        )
                    )
            return insert_ignore(session, Delivery, due)

    # 2. claim -----------------------------------------------------------------------------
    def _transition(self, session: Session, row: Delivery, **values: Any) -> bool:
        """Conditional update from the row's state as read; False when another dispatcher moved it."""
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.status == row.status, Delivery.attempts == row.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _messages_in_window(self, session: Session, subscription_id: int, since: datetime) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.subscription_id == subscription_id,
                    or_(and_(Delivery.status == "sent", Delivery.sent_at >= since), Delivery.status == "sending"),
                )
            )
            or 0
        )

    def _open_digest(self, session: Session, row: Delivery, now: datetime, window_s: int) -> int:
        digest_id = session.scalar(
            select(Delivery.id)
            .where(
                Delivery.subscription_id == row.subscription_id,
                Delivery.status == "pending",
                Delivery.state_change.like("digest-%"),
            )
            .order_by(Delivery.id)
            .limit(1)
        )
        if digest_id is not None:
            return digest_id
        digest = Delivery(
            alert_id=row.alert_id,
            subscription_id=row.subscription_id,
            state_change=f"digest-{row.id}",
            status="pending",
            attempts=0,
            next_attempt_at=now + timedelta(seconds=window_s),
            created_at=now,
        )
        session.add(digest)
        session.flush()
        return digest.id

    def claim(
        self, now: datetime, stats: SendStats, limit: int | None = None, noncritical_limit: int | None = None
    ) -> list[Claim]:
        """Decide due rows and claim at most ``limit`` (default ``send_concurrency``) to send now,
        critical alerts first; at most ``noncritical_limit`` of them for other alerts (a slot kept
        for a critical alert while other deliveries hang on a failing receiver).

        Per due row, in order, until the slots are taken (step 2 of the module docstring):
        its context; an escalation no longer needed is suppressed; the subscription's decision
        (suppress, defer); the flood budget (fold into a digest); the message; the lease.
        """
        limit = self.settings.send_concurrency if limit is None else limit
        noncritical_limit = limit if noncritical_limit is None else min(limit, noncritical_limit)
        claims: list[Claim] = []
        noncritical = 0
        with self.sessions.begin() as session:
            budgets: dict[int, int] = {}  # messages a subscription may still get in its window
            for row in self._due_rows(session, now, limit):
                if len(claims) >= limit:
                    break  # the rest waits for a free sender slot (the next pass)
                subscription = session.get(Subscription, row.subscription_id)
                alert = session.get(Alert, row.alert_id)
                if alert.severity != "critical" and noncritical >= noncritical_limit:
                    continue  # its turn comes when a slot is free again
                row_context = self._context(session, row, subscription, alert, now)
                if not self._decided_to_send(session, row, row_context, now, stats):
                    continue
                if not self._within_budget(session, row, row_context, now, stats, budgets):
                    continue
                message = self._message(session, row, row_context, stats)
                if message is None:
                    continue
                claim = self._lease(session, row, row_context, message, now)
                if claim is None:
                    continue
                noncritical += not claim.critical
                claims.append(claim)
        stats.claimed += len(claims)
        self._in_flight.update(claim.delivery_id for claim in claims)
        return claims

    def _due_rows(self, session: Session, now: datetime, limit: int) -> list[Delivery]:
        """Rows to decide now: ``pending`` and due, or ``sending`` with an expired lease; not in
        flight here; critical alerts first, then oldest; a few per free slot."""
        query = (
            select(Delivery)
            .join(Alert, Alert.alert_id == Delivery.alert_id)
            .where(
                or_(
                    and_(
                        Delivery.status == "pending",
                        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                    ),
                    and_(Delivery.status == "sending", Delivery.next_attempt_at <= now),
                )
            )
        )
        if self._in_flight:
            query = query.where(Delivery.id.not_in(self._in_flight))
        return session.scalars(
            query.order_by(case((Alert.severity == "critical", 0), else_=1), Delivery.id).limit(
                min(self.settings.send_batch, DUE_ROWS_PER_SLOT * limit + 16)
            )
        ).all()

    def _context(
        self, session: Session, row: Delivery, subscription: Subscription, alert: Alert, now: datetime
    ) -> _RowContext:
        """What deciding and sending a row needs: its clinic's settings, a digest's folded rows and
        the alert it is headed by (the most severe), the supervisor's active mutes."""
        clinic = session.get(ClinicSettings, subscription.clinic_id)
        is_digest = row.state_change.startswith("digest-")
        items: list[tuple[str, Alert]] = []
        subject = alert
        if is_digest:
            folded = session.scalars(select(Delivery).where(Delivery.digest_id == row.id).order_by(Delivery.id)).all()
            items = [(f.state_change, session.get(Alert, f.alert_id)) for f in folded]
            subject = max((a for _, a in items), key=lambda a: SEVERITY_RANK.get(a.severity, 0), default=alert)
        mutes = session.scalars(
            select(Mute).where(
                Mute.supervisor_id == subscription.supervisor_id,
                Mute.clinic_id == alert.clinic_id,
                Mute.until > now,
            )
        ).all()
        return _RowContext(
            subscription=subscription,
            alert=alert,
            clinic=clinic,
            subject=subject,
            items=items,
            mutes=list(mutes),
            is_digest=is_digest,
            escalation=row.state_change.startswith("escalate-"),
        )

    def _decided_to_send(
        self, session: Session, row: Delivery, ctx: _RowContext, now: datetime, stats: SendStats
    ) -> bool:
        """An escalation still needed, or the subscription's decision to send now; else the row
        is moved (suppressed, deferred, failed on bad settings) and False."""
        if ctx.escalation:
            clinic = ctx.clinic
            if ctx.alert.state != "open" or not (clinic and clinic.fallback_channel and clinic.fallback_target):
                if self._transition(
                    session, row, status="suppressed", next_attempt_at=None, last_error="escalation_not_needed"
                ):
                    stats.suppressed += 1
                return False
            return True  # an escalation ignores the supervisor's mutes and quiet hours
        try:
            decision = decide(ctx.subject, ctx.subscription, ctx.mutes, now, state_change=row.state_change)
        except (ValueError, LookupError) as exc:  # e.g. an unknown time zone: this row only
            reason = f"subscription settings: {exc}"
            if self._transition(session, row, status="failed", next_attempt_at=None, last_error=reason[:2000]):
                stats.failed += 1
                log.error(kv("delivery_failed", delivery=row.id, subscription=row.subscription_id, error=reason[:300]))
            return False
        if decision.action == "suppress":
            if self._transition(session, row, status="suppressed", last_error=decision.reason, next_attempt_at=None):
                stats.suppressed += 1
                log.info(
                    kv(
                        "delivery_suppressed",
                        delivery=row.id,
                        alert=row.alert_id,
                        subscription=row.subscription_id,
                        change=row.state_change,
                        reason=decision.reason,
                    )
                )
            return False
        if decision.action == "defer":
            if self._transition(
                session, row, status="pending", next_attempt_at=decision.until, last_error=decision.reason
            ):
                stats.deferred += 1
                log.info(
                    kv(
                        "delivery_deferred",
                        delivery=row.id,
                        subscription=row.subscription_id,
                        reason=decision.reason,
                        until=decision.until.isoformat(timespec="seconds"),
                    )
                )
            return False
        return True

    def _within_budget(
        self,
        session: Session,
        row: Delivery,
        ctx: _RowContext,
        now: datetime,
        stats: SendStats,
        budgets: dict[int, int],
    ) -> bool:
        """Flood control: a subscription past ``digest_after`` messages in its clinic's window has
        the row folded into a digest (False). A row whose lease expired may already have reached
        the receiver: it is sent again as itself (same id), never folded; so are digests and
        escalations. A critical alert (a silent station: maybe nobody is watching the patient) is
        never held back for a digest; it still uses up the budget."""
        if ctx.is_digest or ctx.escalation or row.status != "pending":
            return True
        window_s = ctx.clinic.digest_window_s if ctx.clinic else DEFAULT_DIGEST_WINDOW_S
        if row.subscription_id not in budgets:
            digest_after = ctx.clinic.digest_after if ctx.clinic else DEFAULT_DIGEST_AFTER
            since = now - timedelta(seconds=window_s)
            budgets[row.subscription_id] = digest_after - self._messages_in_window(session, row.subscription_id, since)
        if budgets[row.subscription_id] <= 0 and ctx.alert.severity != "critical":
            digest_id = self._open_digest(session, row, now, window_s)
            if self._transition(session, row, status="digested", digest_id=digest_id, next_attempt_at=None):
                stats.digested += 1
                log.info(kv("delivery_digested", delivery=row.id, digest=digest_id, subscription=row.subscription_id))
            return False
        budgets[row.subscription_id] -= 1
        return True

    def _message(self, session: Session, row: Delivery, ctx: _RowContext, stats: SendStats) -> Message | None:
        """The row's message; a record no message can be made of fails this row only (None)."""
        try:
            if ctx.is_digest:
                return render_digest(row.id, ctx.items)
            return render_alert(row.id, row.state_change, ctx.alert, public_url=self.settings.public_url)
        except Exception as exc:
            reason = f"render: {type(exc).__name__}: {exc}"[:2000]
            if self._transition(session, row, status="failed", next_attempt_at=None, last_error=reason):
                stats.failed += 1
                log.error(kv("delivery_failed", delivery=row.id, alert=row.alert_id, error=reason[:300]))
            return None

    def _lease(
        self, session: Session, row: Delivery, ctx: _RowContext, message: Message, now: datetime
    ) -> Claim | None:
        """Claim the row (``sending``, one more attempt, leased for ``lease_s``): None when another
        dispatcher moved it first. An escalation goes to the clinic's fallback channel."""
        expired_lease = row.status == "sending"
        if not self._transition(
            session,
            row,
            status="sending",
            attempts=row.attempts + 1,
            next_attempt_at=now + timedelta(seconds=self.settings.lease_s),
        ):
            return None
        if expired_lease:
            log.warning(kv("delivery_lease_expired", delivery=row.id, attempts=row.attempts, action="resend_same_id"))
        allow_private = bool(ctx.clinic.allow_private_webhooks) if ctx.clinic else False
        if ctx.escalation:
            clinic = ctx.clinic
            target = Target(
                channel=clinic.fallback_channel,
                address=clinic.fallback_target,
                secret=clinic.fallback_webhook_secret,
                allow_private=allow_private,
            )
        else:
            subscription = ctx.subscription
            target = Target(
                channel=subscription.channel,
                address=subscription.target,
                secret=subscription.webhook_secret,
                allow_private=allow_private,
            )
        return Claim(
            delivery_id=row.id,
            attempts=row.attempts + 1,
            state_change=row.state_change,
            message=message,
            target=target,
            alert_id=row.alert_id,
            critical=ctx.alert.severity == "critical",
        )

    # 3-4. send and record --------------------------------------------------------------------
    def _send(self, claim: Claim) -> DeliveryError | None:
        channel = self.channels.get(claim.target.channel)
        if channel is None:
            return DeliveryError(
                f"no channel {claim.target.channel!r} configured; valid: {sorted(self.channels)}", retryable=False
            )
        try:
            channel.send(claim.message, claim.target)
        except DeliveryError as exc:
            return exc
        except Exception as exc:
            return DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)
        return None

    def _record(self, outcomes: list[tuple[Claim, DeliveryError | None]], stats: SendStats) -> None:
        """Store outcomes in one transaction; a store hiccup is retried for a few seconds. If it
        still fails, the rows stay ``sending`` and are sent again (same id) when their lease expires."""
        try:
            self._record_with_retries(outcomes, stats)
        finally:
            self._in_flight.difference_update(claim.delivery_id for claim, _ in outcomes)

    def _record_with_retries(self, outcomes: list[tuple[Claim, DeliveryError | None]], stats: SendStats) -> None:
        for attempt in range(RECORD_ATTEMPTS):
            try:
                return self._record_once(outcomes, stats)
            except Exception:
                log.exception(
                    kv(
                        "record_failed",
                        deliveries=",".join(str(c.delivery_id) for c, _ in outcomes),
                        attempt=attempt + 1,
                        of=RECORD_ATTEMPTS,
                    )
                )
                time.sleep(RECORD_RETRY_S * (attempt + 1))
        log.error(
            kv(
                "record_gave_up",
                deliveries=",".join(str(c.delivery_id) for c, _ in outcomes),
                action="resend_after_lease",
            )
        )

    def _outcome_values(
        self, claim: Claim, error: DeliveryError | None, now: datetime, alert_open: bool
    ) -> dict[str, Any]:
        if error is None:
            return {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
        # An open alert's message is retried for as long as the alert stays open (the backoff is
        # capped at backoff_max_s); a resolve or a digest gives up after max_attempts.
        keep_trying = alert_open and claim.state_change == "open"
        if error.retryable and (keep_trying or claim.attempts < self.settings.max_attempts):
            delay = backoff_s(
                claim.attempts, base_s=self.settings.backoff_base_s, max_s=self.settings.backoff_max_s, rand=self.rand
            )
            return {
                "status": "pending",
                "next_attempt_at": now + timedelta(seconds=delay),
                "last_error": error.reason[:2000],
            }
        return {"status": "failed", "next_attempt_at": None, "last_error": error.reason[:2000]}

    def _escalate(self, session: Session, claim: Claim, now: datetime) -> None:
        """The ``escalate_after_failures``-th failure of an open alert's message: queue one message
        to the clinic's fallback channel, if it has one (insert-if-absent: once per delivery)."""
        row = session.get(Delivery, claim.delivery_id)
        subscription = session.get(Subscription, row.subscription_id)
        clinic = session.get(ClinicSettings, subscription.clinic_id)
        if clinic is None or not clinic.fallback_channel or not clinic.fallback_target:
            return
        if claim.attempts != clinic.escalate_after_failures:
            return
        queued = insert_ignore(
            session,
            Delivery,
            [pending_delivery(claim.alert_id, row.subscription_id, f"escalate-{claim.delivery_id}", now)],
        )
        if queued:
            log.warning(
                kv(
                    "delivery_escalated",
                    delivery=claim.delivery_id,
                    alert=claim.alert_id,
                    failures=claim.attempts,
                    fallback=clinic.fallback_channel,
                )
            )

    def _record_once(self, outcomes: list[tuple[Claim, DeliveryError | None]], stats: SendStats) -> None:
        now = self.clock()
        recorded: list[tuple[Claim, DeliveryError | None, str]] = []
        with self.sessions.begin() as session:
            for claim, error in outcomes:
                alert_open = session.scalar(select(Alert.state).where(Alert.alert_id == claim.alert_id)) == "open"
                values = self._outcome_values(claim, error, now, alert_open)
                # Conditional on our claim: a dispatcher that lost its lease must not overwrite.
                result = session.execute(
                    update(Delivery)
                    .where(
                        Delivery.id == claim.delivery_id,
                        Delivery.status == "sending",
                        Delivery.attempts == claim.attempts,
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    recorded.append((claim, error, "lost_lease"))
                    continue
                if (
                    error is not None
                    and alert_open
                    and (claim.state_change == "open" or claim.state_change.startswith("repeat-"))
                ):
                    self._escalate(session, claim, now)
                if error is None and claim.state_change.startswith("digest-"):
                    session.execute(
                        update(Delivery)
                        .where(Delivery.digest_id == claim.delivery_id)
                        .values(sent_at=now)
                        .execution_options(synchronize_session=False)
                    )
                recorded.append((claim, error, values["status"]))
        for claim, error, status in recorded:  # after the commit: stats and logs say what is stored
            fields = dict(
                delivery=claim.delivery_id,
                alert=claim.alert_id,
                change=claim.state_change,
                channel=claim.target.channel,
                attempt=claim.attempts,
            )
            if error is not None:
                fields["error"] = error.reason[:300]
            if status == "lost_lease":
                stats.lost_lease += 1
                log.warning(kv("delivery_lease_lost", **fields))
            elif status == "sent":
                stats.sent += 1
                log.info(kv("delivery_sent", **fields))
            elif status == "pending":
                stats.retried += 1
                log.warning(kv("delivery_retry", **fields))
            else:
                stats.failed += 1
                stats.errors.append(error.reason)
                log.error(kv("delivery_failed", **fields))

    def run_once(self) -> SendStats:
        """One pass: reminders, decisions, up to ``send_concurrency`` claims sent and recorded."""
        stats = SendStats()
        now = self.clock()
        stats.reminders = self.schedule_reminders(now)
        claims = self.claim(now, stats)
        futures = {self._pool.submit(self._send, claim): claim for claim in claims}
        for future in as_completed(futures):  # record each as it ends
            self._record([(futures[future], future.result())], stats)
        self.totals.add(stats)
        return stats

    def run(self, stop: threading.Event) -> None:
        """Keep ``send_concurrency`` sends going: a row is claimed only when a slot is free (so
        its lease runs while it is actually being sent), and recorded as soon as it ends. On
        ``stop``, sends in progress finish and are recorded (they are bounded by the timeouts)."""
        in_flight: dict[Future, Claim] = {}
        while not stop.is_set() or in_flight:
            free = self.settings.send_concurrency - len(in_flight)
            if not stop.is_set() and free > 0:
                stats = SendStats()
                # One slot is kept for critical alerts: others can hang on a failing receiver for
                # a channel timeout each, and a silent station must not wait behind them.
                others = sum(not c.critical for c in in_flight.values())
                reserved = 1 if self.settings.send_concurrency > 1 else 0
                noncritical_free = max(0, self.settings.send_concurrency - reserved - others)
                try:
                    now = self.clock()
                    stats.reminders = self.schedule_reminders(now)
                    for claim in self.claim(now, stats, limit=free, noncritical_limit=noncritical_free):
                        in_flight[self._pool.submit(self._send, claim)] = claim
                except Exception:
                    log.exception(kv("send_pass_failed"))
                    stop.wait(self.settings.send_interval_s * 4)
                self.totals.add(stats)
            if not in_flight:
                stop.wait(self.settings.send_interval_s)
                continue
            # Look again when a send ends (a slot is free) or after send_interval_s.
            done, _ = wait(in_flight, timeout=self.settings.send_interval_s, return_when=FIRST_COMPLETED)
            stats = SendStats()
            self._record([(in_flight.pop(future), future.result()) for future in done], stats)
            self.totals.add(stats)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for channel in self.channels.values():
            channel.close()
