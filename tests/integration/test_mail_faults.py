"""Issue 18, mail: a message with a 1,500-character line reaches a real SMTP server (aiosmtpd) encoded
so that no line exceeds RFC 5322's 998 octets; a permanent refusal is recorded with the server's
reason and shown in the notifications API; a mailer killed right after the server accepted a message
resends at most that one."""

# ruff: noqa: F811 - pytest fixtures imported from the harness are redefined as parameters

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from services.notifications.api import Notification
from services.notifications.application import NotificationsApplication, Viewer
from services.notifications.mailer import CLAIM_LEASE, MAX_LINE_OCTETS, Mailer
from services.notifications.smtp_server import free_port
from services.requests.application import RequestsApplication
from tests.factories import unique
from tests.integration.notifications_harness import (
    EMAIL_DOMAIN,
    SmtpServer,
    notifications,  # noqa: F401 - a fixture
    notifications_url,  # noqa: F401 - a fixture
    open_request,
    pump,
    settings_for,
    smtp_server,  # noqa: F401 - a fixture
)

REPO = Path(__file__).resolve().parents[2]


def test_a_message_with_a_1500_character_line_is_encoded_and_accepted_by_a_real_smtp_server(
    app: RequestsApplication, notifications: NotificationsApplication, smtp_server: SmtpServer
) -> None:
    # given a buyer's message that is one line of 1,500 characters (non-ASCII included)
    opened = open_request(app)
    line = ("Zeer beschadigd — " * 100)[:1500]
    app.post_message(opened.id, opened.buyer, body=line, attachments=[])
    pump(app, notifications)
    # when the mailer sends the seller's e-mail to the real aiosmtpd server (which refuses any line
    # over 998 octets with "500 Line too long")
    notifications.send_pending(datetime.now(UTC))
    # then it was accepted and stored, and decodes to the whole line
    (mail,) = [
        m for m in smtp_server.messages(opened.seller.id) if m["Subject"].startswith("New message")
    ]
    assert line in mail.get_content()
    assert mail["Content-Transfer-Encoding"] == "quoted-printable"
    raw = mail.as_bytes()
    assert max(len(x) for x in raw.split(b"\n")) <= MAX_LINE_OCTETS
    rows = [r for r in notifications.mailer.outbox() if r["status"] != "sent"]
    assert rows == []


class RefusingHandler:
    """RCPT of `refuse5-…` gets a permanent 550; everything else is accepted."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse5-"):
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_a_permanent_refusal_is_recorded_with_its_reason_and_shown_in_the_notifications_api(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    notifications_url: str,
    smtp_server: SmtpServer,
) -> None:
    # given a seller whose address the server refuses for good
    seller = unique("seller")
    notifications.set_preferences(
        seller, Viewer("seller", seller), email=f"refuse5-{unique('u')}@shop.example"
    )
    open_request(app, seller_id=seller)
    pump(app, notifications)
    port = free_port()
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = settings_for(notifications_url, smtp_server, smtp_url=f"smtp://127.0.0.1:{port}")
        Mailer(notifications.engine, settings).send_pending(datetime.now(UTC))
    finally:
        controller.stop()
    # when the seller reads their notifications
    items = notifications.notifications(seller, Viewer("seller", seller), channel="email")
    # then the e-mail says it failed, after one attempt, with the server's reply
    (email,) = [Notification(**i) for i in items]
    assert email.delivery is not None
    assert email.delivery.status == "failed" and email.delivery.attempts == 1
    assert email.delivery.error and "550" in email.delivery.error
    assert "mailbox unavailable" in email.delivery.error
    assert email.delivery.sent_at is None
    # and the in-app copy carries no delivery
    in_app = notifications.notifications(seller, Viewer("seller", seller), channel="in_app")
    assert all(i["delivery"] is None for i in in_app)


# Runs the mailer in a process of its own that is killed (SIGKILL) right after the server accepted
# its fifth message, before anything could record it: the worst moment for a crash.
_CRASHING_MAILER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from services.notifications import mailer as m
    from services.notifications.settings import NotificationsSettings
    from shared.database import create_projection_engine

    url, smtp_url, domain = sys.argv[1:4]
    accepted = [0]
    send = m.SmtpSession._send

    def send_then_die(self, *args):
        send(self, *args)
        accepted[0] += 1
        if accepted[0] == 5:
            os.kill(os.getpid(), signal.SIGKILL)

    m.SmtpSession._send = send_then_die
    settings = NotificationsSettings(database_url=url, smtp_url=smtp_url, email_domain=domain)
    m.Mailer(create_projection_engine(url), settings).send_pending(datetime.now(UTC))
    """
)


def test_a_mailer_killed_right_after_the_server_accepted_a_message_resends_at_most_that_one(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    notifications_url: str,
    smtp_server: SmtpServer,
) -> None:
    # given 20 e-mails due (10 requests: the buyer's and the seller's e-mail each)
    for _ in range(10):
        open_request(app)
    pump(app, notifications)
    due = {r["notification_id"] for r in notifications.mailer.outbox()}
    assert len(due) == 20
    # when a mailer process is killed right after the server accepted its fifth message
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_MAILER, notifications_url, smtp_server.url, EMAIL_DOMAIN],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert crashed.returncode == -9
    # then four were recorded as sent at once, and the fifth was not
    rows = notifications.mailer.outbox()
    assert sum(r["status"] == "sent" for r in rows) == 4
    # when another mailer runs once the crashed one's claims expired
    later = datetime.now(UTC) + CLAIM_LEASE + timedelta(seconds=1)
    notifications.send_pending(later)
    # then every e-mail reached the server, and exactly one (the one in flight) twice
    ids = Counter(
        m["Message-ID"].strip("<>").split("@")[0]
        for m in smtp_server.messages()
        if m["Message-ID"].strip("<>").split("@")[0] in due
    )
    assert set(ids) == due
    assert sorted(ids.values(), reverse=True)[:2] == [2, 1]
    assert {r["status"] for r in notifications.mailer.outbox()} == {"sent"}
