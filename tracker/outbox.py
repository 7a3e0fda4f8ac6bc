"""The alert outbox: claiming due deliveries, sending them, retrying with backoff.

Owns: the life of an ``alert_deliveries`` row. ``tracker.alerts`` inserts it
``pending`` in the transaction that stores the events; a worker claims due rows
(a lease: ``attempts`` + 1 and ``next_attempt_at`` pushed :data:`LEASE` ahead,
committed before sending; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one atomic
``UPDATE … RETURNING`` on SQLite), so that two workers (gunicorn's, a
``resonance alerts deliver``) never take the same row. Then it sends and marks
the row ``sent`` at once, or records the error and the next try, backing off
(:data:`BACKOFF`) until :data:`GIVE_UP` after the alert, when it is ``failed``.

Nothing is lost: a worker that dies holding a lease leaves the row pending, and
it is retried once the lease runs out. The one window for a repeat is a crash
between the send and the mark: the message went, the row still says pending,
and it is sent again after the lease. Receivers can drop such a repeat: e-mails
carry a Message-ID made from the delivery's id, webhooks ``Resonance-Delivery``.

Must not import: Flask, the dashboard.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.mail import MailError, MailSettings, send
from resonance.core.models import Alert, AlertDelivery, AlertRule, Lead, Site
from tracker import summaries, webhooks
from tracker.alert_mail import message

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a claimed row is another worker's after this
BACKOFF = (10, 30, 120, 600, 3600)  # seconds before try 2, 3, 4, 5, then hourly
GIVE_UP = timedelta(hours=24)  # after the alert: failed, shown on the alerts page
BATCH = 20  # rows claimed at a time
WAKE = threading.Event()  # set after a commit that wrote alerts


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try."""
    return timedelta(seconds=BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop("alerts_fired", False):
        WAKE.set()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop("alerts_fired", None)


def claim(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Lease up to ``limit`` due pending deliveries and commit; their ids."""
    due = (
        select(AlertDelivery.id)
        .where(AlertDelivery.state == "pending", AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = session.scalars(
        update(AlertDelivery)
        .where(
            AlertDelivery.id.in_(due.scalar_subquery()),
            AlertDelivery.state == "pending",
            AlertDelivery.next_attempt_at <= now,
        )
        .values(attempts=AlertDelivery.attempts + 1, next_attempt_at=now + LEASE)
        .returning(AlertDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return sorted(ids)


def facts(session: Session, delivery: AlertDelivery, base_url: str) -> dict | None:
    """The alert behind a delivery as the webhook's ``alert`` object (the e-mail
    is made from it too); None when the alert is gone (its lead was erased)."""
    row = session.execute(
        select(Alert, AlertRule.kind, Site.key, Site.name, Lead)
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .join(Site, Site.id == Alert.site_id)
        .join(Lead, Lead.id == Alert.lead_id)
        .where(Alert.id == delivery.alert_id)
    ).first()
    if row is None:
        return None
    alert, kind, site_key, site_name, lead = row
    details = alert.details or {}
    return {
        "id": alert.id,
        "delivery_id": delivery.id,
        "rule": kind,
        "summary": alert.summary,
        "site": {"key": site_key, "name": site_name},
        "lead": {
            "id": lead.id,
            "email": lead.email,
            "name": lead.name,
            "company": lead.company,
            "stage": lead.stage,
            "owner": alert.owner,
        },
        "account": details.get("account"),
        "content": details.get("content"),
        "days_away": details.get("days_away"),
        "fired_at": alert.fired_at.isoformat() + "Z",
        "prospect_url": f"{base_url}/dash/sites/{site_key}/prospects/{lead.id}",
        "alerts_url": f"{base_url}/dash/sites/{site_key}/alerts",
    }


def send_one(
    session: Session, delivery: AlertDelivery, mail: MailSettings, now: datetime
) -> None:
    """Send one delivery; :class:`MailError` or :class:`WebhookError` if refused."""
    alert = facts(session, delivery, mail.base_url)
    if alert is None:
        raise LookupError("the alert is gone")
    if delivery.channel == "email":
        send(mail, message(mail, delivery.target, alert))
        return
    secret = session.scalar(
        select(Site.webhook_secret).where(Site.key == alert["site"]["key"])
    )
    webhooks.post(
        delivery.target,
        webhooks.body(alert),
        secret=secret,
        delivery_id=delivery.id,
        timestamp=int(now.replace(tzinfo=UTC).timestamp()),
    )


@dataclass
class Round:
    """What one pass of the worker did."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.failed)


def deliver_due(
    sessionmaker: Callable[[], Session],
    mail: MailSettings,
    now: datetime | None = None,
    limit: int = BATCH,
) -> Round:
    """Claim the due deliveries and send each, marking it right after; ``now``
    (naive UTC) lets tests drive the clock."""
    done = Round()
    with sessionmaker() as session:
        ids = claim(session, now or now_utc(), limit)
        for delivery_id in ids:
            delivery = session.get(AlertDelivery, delivery_id)
            if delivery is None:  # erased meanwhile
                continue
            at = now or now_utc()
            try:
                send_one(session, delivery, mail, at)
            except (MailError, webhooks.WebhookError, LookupError) as exc:
                session.rollback()
                _failed(session, delivery_id, str(exc), at, done)
                continue
            except Exception as exc:  # a bad row must not hold up the others
                session.rollback()
                log.exception("alert delivery %s", delivery_id)
                _failed(session, delivery_id, f"{type(exc).__name__}: {exc}", at, done)
                continue
            session.execute(
                update(AlertDelivery)
                .where(AlertDelivery.id == delivery_id)
                .values(state="sent", sent_at=at, last_error=None)
            )
            session.commit()
            done.sent.append(delivery_id)
    return done


def _failed(
    session: Session, delivery_id: int, error: str, now: datetime, done: Round
) -> None:
    """Record a failed try: retry after the backoff, or give up for good."""
    delivery = session.get(AlertDelivery, delivery_id)
    if delivery is None:
        return
    gone = error == "the alert is gone"
    if gone or now - delivery.created_at >= GIVE_UP:
        delivery.state = "failed"
        done.failed.append(delivery_id)
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        done.retried.append(delivery_id)
    delivery.last_error = error[:500]
    session.commit()
    log.warning("alert delivery %s failed: %s", delivery_id, error)


# --- the worker thread inside the server -------------------------------------------


class Worker:
    """Delivers alerts from a daemon thread: every second, and at once when an
    ingest commit wrote alerts (:data:`WAKE`)."""

    def __init__(self, sessionmaker: Callable[[], Session], mail: MailSettings):
        self._sessionmaker = sessionmaker
        self._mail = mail
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="resonance-alerts", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        WAKE.set()
        thread, self._thread = self._thread, None
        if thread is not None and timeout and thread is not threading.current_thread():
            thread.join(timeout)

    def run_forever(self) -> None:
        """Deliver in this thread until stopped (``resonance alerts deliver
        --follow``)."""
        self._run()

    def _run(self) -> None:
        while not self._stopping.is_set():
            WAKE.wait(1.0)
            WAKE.clear()
            if self._stopping.is_set():
                return
            try:
                while deliver_due(self._sessionmaker, self._mail).total:
                    pass
                # The same background pass keeps the dashboards' summaries of
                # past days current (tracker.summaries).
                summaries.refresh_past(self._sessionmaker, naive_utc().date())
            except Exception as exc:  # the database away: try again next second
                first = str(exc).strip().splitlines()[0] if str(exc) else ""
                log.warning(
                    "alert delivery pass failed: %s %s", type(exc).__name__, first
                )
                self._stopping.wait(1.0)


_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


def start_worker(sessionmaker: Callable[[], Session], mail: MailSettings) -> Worker:
    """Start a worker thread, and again in a forked child (gunicorn's
    ``--preload``), where a thread of the parent does not exist."""
    worker = Worker(sessionmaker, mail)
    worker.start()
    _workers.add(worker)
    return worker


def _restart_after_fork() -> None:
    for worker in list(_workers):
        if not worker._stopping.is_set():
            worker._thread = None
            worker.start()


os.register_at_fork(after_in_child=_restart_after_fork)


def stop_all() -> None:
    """Stop every worker thread of this process (tests build many apps)."""
    for worker in list(_workers):
        worker.stop()
