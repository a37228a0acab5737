"""Issue 26, class 9: e-mails a mailer claimed when its database dropped mid-round. The process lives
on, so when the database answers again it records the message the server accepted meanwhile (not
sending it twice) and releases its own untried claims at once (not after their 5-minute lease).

The outage is the outbox table locked by another session while the mailer's sessions give up after
`lock_timeout` (PostgreSQL): its writes fail as in an outage, and the lock's end is the database
coming back, without stopping the shared cluster."""

# ruff: noqa: F811 - pytest fixtures imported from the harness are redefined as parameters

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from services.notifications.application import NotificationsApplication
from services.notifications.mailer import Mailer, SmtpSender
from services.requests.application import RequestsApplication
from shared.database import create_projection_engine
from tests.integration.notifications_harness import (
    SmtpServer,
    notifications,  # noqa: F401 - a fixture
    notifications_url,  # noqa: F401 - a fixture
    open_request,
    pump,
    settings_for,
    smtp_server,  # noqa: F401 - a fixture
)


class DropsTheDatabaseAfter:
    """The real SMTP sender; once the server accepted `count` messages, `outage()` begins."""

    def __init__(self, sender: SmtpSender, count: int, outage: Any) -> None:
        self.sender, self.count, self.outage = sender, count, outage
        self.accepted = 0

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self.sender.session() as session:
            real = session.send

            def send(*args: Any) -> None:
                real(*args)
                self.accepted += 1
                if self.accepted == self.count:
                    self.outage()

            session.send = send
            yield session


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_class9_a_mailer_settles_its_round_when_the_database_is_back(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    notifications_url: str,
    smtp_server: SmtpServer,
) -> None:
    # Given 20 e-mails due
    for _ in range(10):
        open_request(app)
    pump(app, notifications)
    due = {r["notification_id"] for r in notifications.mailer.outbox()}
    assert len(due) == 20
    # and a mailer whose database sessions give up on a lock after 300 ms
    engine = create_projection_engine(notifications_url)
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("SET lock_timeout = '300ms'"))
    blocker = create_projection_engine(notifications_url).connect()
    outage = blocker.begin()
    settings = settings_for(notifications_url, smtp_server)

    def database_drops() -> None:
        blocker.execute(text("LOCK TABLE notif_outbox IN ACCESS EXCLUSIVE MODE"))

    sender = DropsTheDatabaseAfter(
        SmtpSender(settings.smtp, settings.smtp_timeout_seconds), 3, database_drops
    )
    mailer = Mailer(engine, settings, sender=sender)
    now = datetime.now(UTC)
    try:
        # When the database drops right after the server accepted the third message
        with pytest.raises(DBAPIError):
            mailer.send_pending(now)
        # and comes back a moment later (well within the 5-minute lease), the process alive
        outage.rollback()
        mailer.send_pending(now)
    finally:
        if outage.is_active:
            outage.rollback()
        blocker.close()
        engine.dispose()
    # Then every e-mail reached the server exactly once: the third was recorded, not resent, and
    # the claimed rest went out now
    sent = Counter(
        m["Message-ID"].strip("<>").split("@")[0]
        for m in smtp_server.messages()
        if m["Message-ID"].strip("<>").split("@")[0] in due
    )
    assert set(sent) == due
    assert set(sent.values()) == {1}
    assert {r["status"] for r in notifications.mailer.outbox()} == {"sent"}
