"""Sends the e-mail outbox over SMTP (smtplib), with retries and exponential backoff.

Each e-mail notification has exactly one outbox row (its id is the notification's, which is derived
from event id + recipient + channel), written in the same transaction as the notification. So an
event delivered again creates no second row and no second e-mail. The mailer:

1. claims a due row (`pending` and `next_attempt_at <= now`, or a `sending` row whose claim lease
   expired after a crash) with a conditional update, so two mailers never send one row at once;
2. renders its notification (kind, locale, context) with today's templates, the generic `update`
   one if the kind's fails, and sends it (`Message-ID: <notification id@seller-support.invalid>`,
   so a receiver can discard the rare duplicate a crash between sending and step 3 can cause);
3. marks it `sent`, keeping the subject and body sent; on an error, schedules the next attempt after `initial * 2^(attempts-1)` (capped),
   and marks it `failed` after `send_max_attempts`. A permanent refusal (SMTP 5xx for the recipient)
   fails at once.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update

from services.notifications import store
from services.notifications.rendering import Renderer
from services.notifications.settings import NotificationsSettings, SmtpTarget

log = logging.getLogger("seller_support.notifications.mailer")

MESSAGE_ID_DOMAIN = "seller-support.invalid"
CLAIM_LEASE = timedelta(minutes=5)


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


def build_message(row: dict[str, Any], sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = f"<{row['notification_id']}@{MESSAGE_ID_DOMAIN}>"
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content(row["body"])  # first: it replaces every Content-* header
    for name, value in (row.get("headers") or {}).items():
        message[name] = value
    return message


class SmtpSender:
    def __init__(self, target: SmtpTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        t = self.target
        try:
            if t.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            with client:
                if t.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if t.username:
                    client.login(t.username, t.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(str(error)) from error
            raise
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600 and error.smtp_code not in (421, 554):
                raise PermanentFailure(str(error)) from error
            raise


# An outbox row with what its notification says, to render.
_CLAIMED = (
    select(
        store.outbox,
        store.notifications.c.kind,
        store.notifications.c.locale,
        store.notifications.c.audience,
        store.notifications.c.recipient_id,
        store.sources.c.context,
    )
    .join(store.notifications, store.notifications.c.id == store.outbox.c.notification_id)
    .join(store.sources, store.sources.c.source_id == store.notifications.c.source_id)
)


class Mailer:
    def __init__(
        self,
        engine: Engine,
        settings: NotificationsSettings,
        sender: SmtpSender | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sender = sender or SmtpSender(settings.smtp, settings.smtp_timeout_seconds)
        self.renderer = renderer or Renderer()

    def backoff(self, attempts: int) -> timedelta:
        initial = self.settings.send_backoff_initial
        return min(self.settings.send_backoff_max, initial * 2 ** max(0, attempts - 1))

    def send_pending(self, now: datetime | None = None, limit: int = 100) -> int:
        """Send every due outbox e-mail; returns how many were sent now."""
        now = store.utc(now or datetime.now(UTC))
        table = store.outbox
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    select(table.c.notification_id)
                    .where(
                        or_(
                            (table.c.status == "pending") & (table.c.next_attempt_at <= now),
                            (table.c.status == "sending") & (table.c.claimed_until <= now),
                        )
                    )
                    .order_by(table.c.next_attempt_at, table.c.notification_id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        sent = 0
        for nid in ids:
            row = self._claim(nid, now)
            if row is None:
                continue
            sent += self._send_one(row, now)
        return sent

    def _claim(self, nid: str, now: datetime) -> dict[str, Any] | None:
        table = store.outbox
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(table)
                .where(
                    table.c.notification_id == nid,
                    or_(
                        (table.c.status == "pending") & (table.c.next_attempt_at <= now),
                        (table.c.status == "sending") & (table.c.claimed_until <= now),
                    ),
                )
                .values(status="sending", claimed_until=now + CLAIM_LEASE)
            ).rowcount
            if not claimed:
                return None
            row = conn.execute(_CLAIMED.where(table.c.notification_id == nid)).first()
        return None if row is None else dict(row._mapping)

    def _send_one(self, row: dict[str, Any], now: datetime) -> int:
        table = store.outbox
        attempts = row["attempts"] + 1
        try:
            text = self.renderer.render_notification(row)
            row = {**row, "subject": text.subject, "body": text.body}
            self.sender.send(build_message(row, self.settings.sender))
        except Exception as error:
            permanent = isinstance(error, PermanentFailure)
            give_up = permanent or attempts >= self.settings.send_max_attempts
            values: dict[str, Any] = {
                "status": "failed" if give_up else "pending",
                "attempts": attempts,
                "last_error": f"{type(error).__name__}: {error}"[:2000],
                "claimed_until": None,
                "next_attempt_at": now + self.backoff(attempts),
            }
            log.warning(
                "e-mail %s to %s: attempt %d failed (%s)%s",
                row["notification_id"],
                row["to_address"],
                attempts,
                error,
                "; giving up" if give_up else "; will retry",
            )
            with self.engine.begin() as conn:
                conn.execute(
                    update(table)
                    .where(table.c.notification_id == row["notification_id"])
                    .values(**values)
                )
            return 0
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.notification_id == row["notification_id"])
                .values(
                    status="sent",
                    attempts=attempts,
                    sent_at=now,
                    claimed_until=None,
                    last_error=None,
                    subject=row["subject"],
                    body=row["body"],
                )
            )
        return 1

    def outbox(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(store.outbox).order_by(store.outbox.c.notification_id))
            return [dict(r._mapping) for r in rows]
