"""The mailer's pure parts: the message it builds and how it classifies SMTP errors (no I/O)."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy

import pytest

from services.notifications.mailer import build_message, is_permanent, wire_bytes

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


def test_a_receiver_reads_the_headers_and_body_the_message_was_built_from():
    # given a row with a long Dutch subject, a body with non-ASCII text and extra headers
    sender = "Seller Support <no-reply@seller-support.invalid>"
    # when the message is built and put on the wire
    data = wire_bytes(build_message(ROW, sender))
    # then every line ends in CRLF, and a receiver parses exactly what the row said
    assert b"\n" not in data.replace(b"\r\n", b"")
    received = message_from_bytes(data, policy=policy.default)
    assert received["From"] == sender
    assert received["To"] == ROW["to_address"]
    assert received["Subject"] == ROW["subject"]
    assert received["Message-ID"] == f"<{ROW['notification_id']}@seller-support.invalid>"
    for name, value in ROW["headers"].items():
        assert received[name] == value
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n") == ROW["body"]  # SMTP lines end in CRLF
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_an_ascii_subject_is_sent_as_it_is():
    row = {**ROW, "subject": "New support request for order o-1"}
    data = wire_bytes(build_message(row, "no-reply@seller-support.invalid"))
    assert b"\r\nSubject: New support request for order o-1\r\n" in data


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
