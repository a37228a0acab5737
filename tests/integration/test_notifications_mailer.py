"""The mailer's rounds on SQLite and PostgreSQL: one claim transaction and one SMTP session per
round, a refusal failing only its message, a dropped connection reconnected once, claims leased."""

# ruff: noqa: F811 - pytest fixtures imported from the harness are redefined as parameters

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notifications.application import NotificationsApplication, Viewer
from services.notifications.mailer import CLAIM_LEASE, Mailer
from services.notifications.smtp_server import free_port
from services.requests.application import RequestsApplication
from tests.factories import unique
from tests.integration.notifications_harness import (
    SmtpServer,
    notifications,  # noqa: F401 - a fixture
    notifications_url,  # noqa: F401 - a fixture
    open_request,
    pump,
    settings_for,
    smtp_server,  # noqa: F401 - a fixture
)


class ScriptedHandler:
    """Accepts mail, but: RCPT of `refuse5-…` gets 550 and of `refuse4-…` 451; DATA for
    `refusedata-…` gets 554; the connection is dropped at DATA for `drop-…` (once) and
    `dropalways-…` (every time). Remembers every connection and accepted message."""

    def __init__(self) -> None:
        self.peers: set[Any] = set()
        self.senders: set[str] = set()  # MAIL FROM
        self.accepted: list[str] = []
        self.dropped: set[str] = set()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.peers.add(session.peer)
        self.senders.add(address)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse5-"):
            return "550 5.1.1 no such user"
        if address.startswith("refuse4-"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        (to,) = envelope.rcpt_tos
        if to.startswith("refusedata-"):
            return "554 5.6.0 rejected"
        if to.startswith("dropalways-") or (to.startswith("drop-") and to not in self.dropped):
            self.dropped.add(to)
            server.transport.close()
            return "421 closing"
        self.accepted.append(to)
        return "250 OK"


@dataclass(frozen=True)
class Scripted:
    """A scripted SMTP server and a mailer sending to it."""

    handler: ScriptedHandler
    mailer: Mailer


@pytest.fixture
def scripted(
    notifications: NotificationsApplication, notifications_url: str, smtp_server: SmtpServer
) -> Iterator[Scripted]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = settings_for(notifications_url, smtp_server, smtp_url=f"smtp://127.0.0.1:{port}")
    try:
        yield Scripted(handler, Mailer(notifications.engine, settings))
    finally:
        controller.stop()


def _seller_with_address(notifications: NotificationsApplication, local: str) -> str:
    seller = unique("seller")
    notifications.set_preferences(seller, Viewer("seller", seller), email=f"{local}@shop.example")
    return seller


def _by_address(notifications: NotificationsApplication) -> dict[str, dict[str, Any]]:
    return {row["to_address"]: row for row in notifications.mailer.outbox()}


def test_a_round_uses_one_smtp_session_and_a_refusal_fails_only_its_message(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    scripted: Scripted,
):
    handler, mailer = scripted.handler, scripted.mailer
    for local in ("ok", "refuse5", "refuse4", "refusedata"):
        open_request(app, seller_id=_seller_with_address(notifications, f"{local}-{unique('u')}"))
    pump(app, notifications)
    now = datetime.now(UTC)

    assert mailer.send_pending(now) == 5  # 4 buyers' confirmations and the `ok` seller's e-mail
    assert len(handler.peers) == 1  # one connection for the whole round
    rows = _by_address(notifications)
    outcomes = {
        a.split("-")[0]: (r["status"], r["attempts"]) for a, r in rows.items() if "@shop" in a
    }
    assert outcomes == {
        "ok": ("sent", 1),
        "refuse5": ("failed", 1),  # permanent: 5xx for the recipient
        "refuse4": ("pending", 1),  # transient: retried with backoff
        "refusedata": ("pending", 1),  # 554 is not taken as permanent
    }
    retried = next(r for a, r in rows.items() if a.startswith("refuse4"))
    assert retried["last_error"].startswith("SMTPRecipientsRefused")
    assert retried["next_attempt_at"].replace(tzinfo=UTC) == now + timedelta(seconds=1)
    sent = [r for r in rows.values() if r["status"] == "sent"]
    assert all(r["subject"] and r["body"] and r["claimed_until"] is None for r in sent)
    assert sorted(handler.accepted) == sorted(r["to_address"] for r in sent)
    assert mailer.send_pending(now) == 0  # nothing due: the transient ones back off


def test_the_smtp_envelope_is_the_senders_bare_address_and_the_recipients_address(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    scripted: Scripted,
):
    # given a seller with an address of their own, and a sender configured with a display name
    handler, mailer = scripted.handler, scripted.mailer
    seller = _seller_with_address(notifications, f"ok-{unique('u')}")
    open_request(app, seller_id=seller)
    pump(app, notifications)
    assert mailer.settings.sender == "Seller Support <no-reply@seller-support.invalid>"
    # when the round sends the buyer's confirmation and the seller's e-mail
    assert mailer.send_pending(datetime.now(UTC)) == 2
    # then MAIL FROM is the sender's bare address and RCPT TO each row's address
    assert handler.senders == {"no-reply@seller-support.invalid"}
    assert sorted(handler.accepted) == sorted(_by_address(notifications))


def test_a_dropped_connection_is_reconnected_once_and_the_round_goes_on(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    scripted: Scripted,
):
    handler, mailer = scripted.handler, scripted.mailer
    for local in ("drop", "ok", "ok"):
        open_request(app, seller_id=_seller_with_address(notifications, f"{local}-{unique('u')}"))
    pump(app, notifications)

    assert mailer.send_pending(datetime.now(UTC)) == 6
    assert len(handler.peers) == 2  # the first connection, dropped once, and the new one
    assert {(r["status"], r["attempts"]) for r in mailer.outbox()} == {("sent", 1)}
    assert len(handler.accepted) == 6 and len(set(handler.accepted)) == 6


def test_a_connection_dropped_twice_fails_the_rest_of_the_round_for_a_retry(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    scripted: Scripted,
):
    handler, mailer = scripted.handler, scripted.mailer
    for local in ("dropalways", "ok", "ok"):
        open_request(app, seller_id=_seller_with_address(notifications, f"{local}-{unique('u')}"))
    pump(app, notifications)
    now = datetime.now(UTC)

    sent = mailer.send_pending(now)
    assert len(handler.peers) == 2  # reconnected once, not again
    rows = mailer.outbox()
    dropper = next(r for r in rows if r["to_address"].startswith("dropalways"))
    assert (dropper["status"], dropper["attempts"]) == ("pending", 1)
    assert sent == len(handler.accepted) == sum(r["status"] == "sent" for r in rows)
    assert {(r["status"], r["attempts"]) for r in rows if r["status"] != "sent"} == {("pending", 1)}


def test_claims_are_taken_in_one_round_leased_and_retried_after_a_crash(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    smtp_server: SmtpServer,
):
    for _ in range(3):
        open_request(app)
    pump(app, notifications)
    now = datetime.now(UTC)
    crashed = Mailer(notifications.engine, notifications.settings)
    claimed = crashed._claim(now, 100)  # claimed, then the process died
    assert len(claimed) == 6
    assert {r["kind"] for r in claimed} == {"opened"} and all(r["context"] for r in claimed)
    assert {r["status"] for r in notifications.mailer.outbox()} == {"sending"}
    assert crashed._claim(now, 100) == []  # a second mailer claims none of them
    assert notifications.send_pending(now + CLAIM_LEASE - timedelta(seconds=1)) == 0
    assert notifications.send_pending(now + CLAIM_LEASE) == 6  # the lease ran out
    assert {(r["status"], r["attempts"]) for r in notifications.mailer.outbox()} == {("sent", 1)}
    for request_mail in smtp_server.messages():
        assert request_mail["Message-ID"].endswith("@seller-support.invalid>")


class InterruptedSender:
    """A sender whose session stops the process at its third message; counts sessions."""

    def __init__(self) -> None:
        self.sessions = 0
        self.sent: list[Message] = []

    def session(self) -> InterruptedSender:
        self.sessions += 1
        return self

    def __enter__(self) -> InterruptedSender:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, message: Message | bytes, sender: str, recipient: str) -> None:
        if len(self.sent) == 2:
            raise KeyboardInterrupt
        # the mailer hands over wire bytes (issue 30); read back as the message they carry
        self.sent.append(message_from_bytes(message) if isinstance(message, bytes) else message)


def test_an_interrupted_round_records_what_it_sent_and_gives_back_the_rest(
    app: RequestsApplication, notifications: NotificationsApplication
):
    for _ in range(3):
        open_request(app)
    pump(app, notifications)
    sender = InterruptedSender()
    mailer = Mailer(notifications.engine, notifications.settings, sender=sender)
    with pytest.raises(KeyboardInterrupt):
        mailer.send_pending(datetime.now(UTC))
    assert sender.sessions == 1
    rows = mailer.outbox()
    sent = {
        f"<{r['notification_id']}@seller-support.invalid>" for r in rows if r["status"] == "sent"
    }
    assert sent == {m["Message-ID"] for m in sender.sent}
    assert (
        sorted((r["status"], r["attempts"], r["claimed_until"]) for r in rows)
        == [("pending", 0, None)] * 4 + [("sent", 1, None)] * 2
    )  # the rest is due again at once, no attempt counted
    assert notifications.send_pending() == 4
