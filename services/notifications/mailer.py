"""Sends the e-mail outbox over SMTP (smtplib), in rounds, with retries and exponential backoff.

Each e-mail notification has exactly one outbox row (its id is the notification's, which is derived
from event id + recipient + channel), written in the same transaction as the notification. So an
event delivered again creates no second row and no second e-mail. A round of the mailer:

1. claims up to `ROUND_SIZE` due rows (`pending` and `next_attempt_at <= now`, or `sending` rows
   whose claim lease expired after a crash) in one transaction: it selects them (on PostgreSQL
   `FOR UPDATE SKIP LOCKED`), sets them `sending` with a lease by one conditional `UPDATE … RETURNING`
   guarded by the same conditions, so two mailers never both claim a row, and reads what the
   claimed ones say;
2. renders each (kind, locale, context) with today's templates, the generic `update` one if the
   kind's fails, and sends them all over one SMTP session (`Message-ID: <notification
   id@seller-support.invalid>`, so a receiver can discard the rare duplicate a crash between sending
   and step 3 can cause); a server that drops the connection mid-round is reconnected to once;
3. records each message as sent (with its subject and body) in its own transaction right after
   the server accepted it, so a crash of the mailer resends at most the one message in flight
   (issue 18; before, the round's outcomes were written at its end and a crash resent the round);
   the failures are recorded at the end of the round: a failed one is retried after
   `initial * 2^(attempts-1)` (capped) and marked `failed` after `send_max_attempts`, or at once on a
   permanent refusal (SMTP 5xx), with the server's reply as `last_error` (shown in the
   notifications API as the e-mail's `delivery`).

`send_pending` runs rounds until none is due or `limit` rows were claimed.

When the database drops mid-round (issue 26), the round's outcomes — the message accepted but not
recorded, the failures, the claims never attempted — are kept in memory and settled before anything
else once it answers again: the accepted message is recorded as sent (not sent twice), and the
claims are released at once instead of waiting out their 5-minute lease. A crash still loses them
(the lease then covers it, as before).
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, parseaddr
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from services.notifications import store
from services.notifications.rendering import Renderer
from services.notifications.settings import NotificationsSettings, SmtpTarget

log = logging.getLogger("seller_support.notifications.mailer")

MESSAGE_ID_DOMAIN = "seller-support.invalid"
CLAIM_LEASE = timedelta(minutes=5)
ROUND_SIZE = 100  # rows claimed, and e-mails sent over one SMTP session, per round


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


# UTF-8 bodies sent as they are (8bit), readable in the stored mail, as before — unless a line is
# longer than RFC 5322 allows (998 octets before CRLF; servers refuse it: "line too long"), then
# quoted-printable, whose soft line breaks keep every line under 77 (issue 18).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = None
_UTF8_QP = Charset("utf-8")  # the library's default for utf-8 bodies: base64; QP reads better
_UTF8_QP.body_encoding = QP
MAX_LINE_OCTETS = 998


def _has_long_line(body: str) -> bool:
    if len(body) * 4 <= MAX_LINE_OCTETS:  # no line of it can be that long, even in 4-byte UTF-8
        return False
    return any(len(line.encode("utf-8")) > MAX_LINE_OCTETS for line in body.splitlines())


def build_message(row: dict[str, Any], sender: str, date: datetime | None = None) -> Message:
    """A plain `email.message.Message` (compat32): `EmailMessage` parsed every header through the
    header registry and cost ~600 µs an e-mail to build and serialise against ~200 here, which made
    e-mail the embedded server's top cost. A receiver parses both to the same headers and body
    (tests/unit/test_notifications_mailer.py)."""
    body = row["body"]
    message = MIMEText(body, "plain", _UTF8_QP if _has_long_line(body) else _UTF8)
    message["From"] = sender
    message["To"] = row["to_address"]
    subject = row["subject"]
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Message-ID"] = f"<{row['notification_id']}@{MESSAGE_ID_DOMAIN}>"
    message["Date"] = format_datetime(date or datetime.now(UTC))
    for name, value in (row.get("headers") or {}).items():
        message[name] = value if value.isascii() else Header(value, "utf-8")
    return message


_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_FOLD_AT = 78  # compat32 folds a header line longer than this: then the library writes it


def message_bytes(row: dict[str, Any], sender: str, date: datetime | None = None) -> bytes:
    """`wire_bytes(build_message(row, sender, date))`, written directly when every header is short
    plain ASCII and the body has no over-long line (the usual e-mail): the `email` package's
    generator (header folding, charset handling) was 3.9 % of the embedded server's CPU (issue
    30). Byte-identical to the library's (tests/unit/test_notifications_mailer.py, property-
    tested); anything else goes through the library."""
    body = row["body"]
    headers = [
        ("From", sender),
        ("To", row["to_address"]),
        ("Subject", row["subject"]),
        ("Message-ID", f"<{row['notification_id']}@{MESSAGE_ID_DOMAIN}>"),
        ("Date", format_datetime(date or datetime.now(UTC))),
        *(row.get("headers") or {}).items(),
    ]
    plain = all(
        value.isascii()
        and name.isascii()
        and "\n" not in value
        and "\r" not in value
        and len(name) + len(value) + 2 <= _FOLD_AT
        for name, value in headers
    )
    if not plain or _has_long_line(body):
        return wire_bytes(build_message(row, sender, date))
    lines = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {'7bit' if body.isascii() else '8bit'}",
        *(f"{name}: {value}" for name, value in headers),
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii") + _LINE_ENDS.sub("\r\n", body).encode("utf-8")


def wire_bytes(message: Message) -> bytes:
    """The message as SMTP's DATA carries it (CRLF line ends)."""
    return message.as_bytes(policy=_SMTP_LINES)


_SMTP_LINES = compat32.clone(linesep="\r\n")


def is_permanent(error: BaseException) -> bool:
    """A 5xx refusal (of every recipient), but 554, which servers also use for transient trouble."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= c < 600 for c in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600 and error.smtp_code not in (421, 554)
    return False


def _connection_lost(error: BaseException) -> bool:
    """The connection is gone (closed, reset, timed out), rather than a message refused on it."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


class Session(Protocol):
    def send(self, message: Message | bytes, sender: str, recipient: str) -> None:
        """Send one message to the SMTP envelope's bare addresses (`MAIL FROM`, `RCPT TO`); raises
        `PermanentFailure` when retrying cannot help."""


class Sender(Protocol):
    def session(self) -> Any:
        """A context manager giving a `Session` for one round's messages."""


class SmtpSession:
    """One round's messages over one SMTP connection, opened at the first message (connect,
    STARTTLS, login once). A refusal of one message (RCPT/MAIL/DATA 4xx/5xx) fails only that one.
    When the server drops the connection, it reconnects once and sends that message again; when
    connecting fails, or the connection drops again, that message and every later one in the round
    fail with that error (they are retried with backoff, as when the server is down)."""

    def __init__(self, target: SmtpTarget, timeout: float, reconnects: int = 1) -> None:
        self.target = target
        self.timeout = timeout
        self.connections = 0  # opened so far
        self._connects_left = 1 + reconnects
        self._client: smtplib.SMTP | None = None
        self._failure: Exception | None = None  # once set, every further message fails with it

    def send(self, message: Message | bytes, sender: str, recipient: str) -> None:
        try:
            if self._failure is not None:
                raise self._failure
            self._send(message, sender, recipient)
        except Exception as error:
            if is_permanent(error):
                raise PermanentFailure(str(error)) from error
            raise

    def _send(self, message: Message | bytes, sender: str, recipient: str) -> None:
        if self._client is None or self._client.sock is None:  # not yet, or closed after a 421
            self._connect()
        assert self._client is not None
        # `sendmail` with the envelope as given: `send_message` would parse it back out of every
        # address header of the message, and serialise the message a second way.
        envelope = (sender, [recipient])
        data = message if isinstance(message, bytes) else wire_bytes(message)
        try:
            self._client.sendmail(*envelope, data)
            return
        except Exception as error:
            if not _connection_lost(error):
                raise
            self._close()
            self._connect(error)
        try:
            self._client.sendmail(*envelope, data)
        except Exception as error:
            if _connection_lost(error):
                self._close()
                self._failure = error
            raise

    def _connect(self, lost: Exception | None = None) -> None:
        if self._connects_left <= 0:
            self._failure = lost or smtplib.SMTPServerDisconnected("the server closed the session")
            raise self._failure
        self._connects_left -= 1
        t = self.target
        client: smtplib.SMTP | None = None
        try:
            if t.security == "ssl":
                client = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            if t.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if t.username:
                client.login(t.username, t.password or "")
        except Exception as error:
            if client is not None:
                client.close()
            self._failure = error
            raise
        self._client = client
        self.connections += 1

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            # A QUIT the server no longer answers changes nothing: the round's outcomes are known.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                if client.sock is not None:
                    client.quit()
        finally:
            client.close()

    def close(self) -> None:
        self._close()


class SmtpSender:
    def __init__(self, target: SmtpTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        """One SMTP session (QUIT at the end) for a round's messages."""
        session = SmtpSession(self.target, self.timeout)
        try:
            yield session
        finally:
            session.close()


def _due(now: datetime) -> Any:
    table = store.outbox
    return or_(
        (table.c.status == "pending") & (table.c.next_attempt_at <= now),
        (table.c.status == "sending") & (table.c.claimed_until <= now),
    )


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

_table = store.outbox
_MARK_SENT = (
    update(_table)
    .where(_table.c.notification_id == bindparam("b_id"))
    .values(
        status="sent",
        attempts=bindparam("b_attempts"),
        sent_at=bindparam("b_now"),
        claimed_until=None,
        last_error=None,
        subject=bindparam("b_subject"),
        body=bindparam("b_body"),
    )
)
_MARK_FAILED = (
    update(_table)
    .where(_table.c.notification_id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_error"),
        claimed_until=None,
        next_attempt_at=bindparam("b_next"),
    )
)


@dataclass(frozen=True)
class _Settlement:
    """A round's outcomes to record: sent and failed marks, and the ids of its claims (under
    `lease`) never attempted."""

    sent: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    release: list[str]
    lease: datetime


class Mailer:
    def __init__(
        self,
        engine: Engine,
        settings: NotificationsSettings,
        sender: Sender | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sender = sender or SmtpSender(settings.smtp, settings.smtp_timeout_seconds)
        self.renderer = renderer or Renderer()
        # Outcomes of rounds the database dropped before they were recorded: sent, failed, and
        # claims never attempted. Settled first thing when it answers again (issue 26).
        self._owed: list[_Settlement] = []

    def backoff(self, attempts: int) -> timedelta:
        initial = self.settings.send_backoff_initial
        return min(self.settings.send_backoff_max, initial * 2 ** max(0, attempts - 1))

    def send_pending(self, now: datetime | None = None, limit: int = 1000) -> int:
        """Send the due outbox e-mails in rounds of `ROUND_SIZE`, until none is due or `limit`
        were claimed; returns how many were sent now."""
        now = store.utc(now or datetime.now(UTC))
        self._settle_owed()
        sent = claimed = 0
        while claimed < limit:
            size = min(ROUND_SIZE, limit - claimed)
            rows = self._claim(now, size)
            if not rows:
                break
            claimed += len(rows)
            sent += self._send_round(rows, now, lease=now + CLAIM_LEASE)
            if len(rows) < size:
                break
        return sent

    def _claim(self, now: datetime, size: int) -> list[dict[str, Any]]:
        """Claim up to `size` due rows in one transaction; the rows this mailer claimed."""
        due = _due(now)
        with self.engine.begin() as conn:
            chosen = (
                select(_table.c.notification_id)
                .where(due)
                .order_by(_table.c.next_attempt_at, _table.c.notification_id)
                .limit(size)
            )
            if conn.dialect.name == "postgresql":
                chosen = chosen.with_for_update(skip_locked=True)
            ids = conn.execute(chosen).scalars().all()
            if not ids:
                return []
            claimed = (
                conn.execute(
                    update(_table)
                    .where(_table.c.notification_id.in_(ids), due)
                    .values(status="sending", claimed_until=now + CLAIM_LEASE)  # our lease
                    .returning(_table.c.notification_id)
                )
                .scalars()
                .all()
            )
            if not claimed:
                return []
            rows = conn.execute(
                _CLAIMED.where(_table.c.notification_id.in_(claimed)).order_by(
                    _table.c.next_attempt_at, _table.c.notification_id
                )
            ).all()
        return [dict(row._mapping) for row in rows]

    def _send_round(self, rows: list[dict[str, Any]], now: datetime, lease: datetime) -> int:
        """Send the claimed rows over one session and record every outcome, even when interrupted;
        rows not attempted (the round outlived half its lease, or stopped) are released. When the
        database cannot take the outcomes, they are kept and settled when it is back."""
        sent: list[dict[str, Any]] = []  # accepted, not recorded yet
        failed: list[dict[str, Any]] = []
        done = sent_now = 0
        started = time.monotonic()
        envelope_sender = parseaddr(self.settings.sender)[1]
        try:
            with self.sender.session() as session:
                for row in rows:
                    if time.monotonic() - started > CLAIM_LEASE.total_seconds() / 2:
                        break  # leave the rest to a fresh claim before this one's lease runs out
                    attempts = row["attempts"] + 1
                    try:
                        text = self.renderer.render_notification(row)
                        row = {**row, "subject": text.subject, "body": text.body}
                        session.send(
                            message_bytes(row, self.settings.sender),
                            envelope_sender,
                            row["to_address"],
                        )
                    except Exception as error:
                        failed.append(self._failure(row, attempts, error, now))
                    else:
                        outcome = {
                            "b_id": row["notification_id"],
                            "b_attempts": attempts,
                            "b_now": now,
                            "b_subject": row["subject"],
                            "b_body": row["body"],
                        }
                        sent_now += 1
                        if not self._record_sent(outcome):
                            # The database is away: send nothing more that could not be recorded
                            # (the rest is released, or its lease runs out).
                            sent.append(outcome)
                            done += 1
                            break
                    done += 1
        finally:
            settlement = _Settlement(
                sent, failed, [row["notification_id"] for row in rows[done:]], lease
            )
            try:
                self._settle(settlement)
            except Exception:
                # The database dropped: without this, the unrecorded e-mail was sent again and
                # the claimed rest waited out the whole lease although this process lived on.
                self._owed.append(settlement)
                raise
        return sent_now

    def _settle(self, settlement: _Settlement) -> None:
        with self.engine.begin() as conn:
            if settlement.sent:
                conn.execute(_MARK_SENT, settlement.sent)
            if settlement.failed:
                conn.execute(_MARK_FAILED, settlement.failed)
            self._release(conn, settlement.release, settlement.lease)

    def _settle_owed(self) -> None:
        """Record what rounds the database dropped left unrecorded (raises while it is still
        away: nothing new is claimed before the old is settled)."""
        while self._owed:
            self._settle(self._owed[0])
            settled = self._owed.pop(0)
            log.info(
                "database back: recorded %d sent, %d failed e-mails and released %d claims",
                len(settled.sent),
                len(settled.failed),
                len(settled.release),
            )

    def _record_sent(self, outcome: dict[str, Any]) -> bool:
        """Record one accepted message as sent at once; False when that failed (retried with the
        round's other outcomes at its end)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(_MARK_SENT, [outcome])
        except Exception as error:
            log.warning("recording e-mail %s as sent failed: %r", outcome["b_id"], error)
            return False
        return True

    def _failure(
        self, row: dict[str, Any], attempts: int, error: Exception, now: datetime
    ) -> dict[str, Any]:
        give_up = isinstance(error, PermanentFailure) or attempts >= self.settings.send_max_attempts
        log.warning(
            "e-mail %s to %s: attempt %d failed (%s)%s",
            row["notification_id"],
            row["to_address"],
            attempts,
            error,
            "; giving up" if give_up else "; will retry",
        )
        return {
            "b_id": row["notification_id"],
            "b_status": "failed" if give_up else "pending",
            "b_attempts": attempts,
            "b_error": f"{type(error).__name__}: {error}"[:2000],
            "b_next": now + self.backoff(attempts),
        }

    @staticmethod
    def _release(conn: Connection, ids: list[str], lease: datetime) -> None:
        """Give back claimed rows never attempted (no attempt counted): due again at once. Only
        this mailer's own claims (its lease): once that expired, another may hold the row."""
        if ids:
            conn.execute(
                update(_table)
                .where(
                    _table.c.notification_id.in_(ids),
                    _table.c.status == "sending",
                    _table.c.claimed_until == lease,
                )
                .values(status="pending", claimed_until=None)
            )

    def outbox(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(store.outbox).order_by(store.outbox.c.notification_id))
            return [dict(r._mapping) for r in rows]
