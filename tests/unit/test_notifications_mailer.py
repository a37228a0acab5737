"""The mailer's pure parts: the message it builds and how it classifies SMTP errors (no I/O)."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage

import pytest

from services.notifications import mailer
from services.notifications.mailer import MESSAGE_POLICY, build_message, is_permanent

ROW = {
    "notification_id": "6f1c0b8e-0000-5000-8000-000000000001",
    "to_address": "s-1@users.seller-support.invalid",
    "subject": "Nieuwe supportaanvraag voor bestelling o-1 — een heel lange onderwerpregel " * 2,
    "body": "Beste verkoper,\n\nReageer uiterlijk wo 9 dec 2026, 14:00 EST. Één €.\n" * 3,
    "headers": {
        "X-Seller-Support-Kind": "opened",
        "X-Seller-Support-Request": "r-1",
        "Content-Language": "nl",
    },
}


def test_the_cached_header_classes_build_the_same_bytes_as_the_default_policy(monkeypatch):
    fast = build_message(ROW, "Seller Support <no-reply@seller-support.invalid>")
    assert fast.policy is MESSAGE_POLICY
    monkeypatch.setattr(mailer, "MESSAGE_POLICY", policy.default)
    plain = build_message(ROW, "Seller Support <no-reply@seller-support.invalid>")
    assert plain.policy is policy.default
    plain.replace_header("Date", fast["Date"])
    assert fast.as_bytes() == plain.as_bytes()
    assert isinstance(fast, EmailMessage)
    assert fast["Message-ID"] == f"<{ROW['notification_id']}@seller-support.invalid>"


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (451, b"later")}), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (421, b"closing")}), False),
        (smtplib.SMTPDataError(552, b"too big"), True),
        (smtplib.SMTPDataError(554, b"transaction failed"), False),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "x@y"), True),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), True),
        (smtplib.SMTPConnectError(421, b"busy"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "refused"), False),
    ],
)
def test_5xx_refusals_are_permanent_but_554_and_lost_connections(error, permanent):
    assert is_permanent(error) is permanent
