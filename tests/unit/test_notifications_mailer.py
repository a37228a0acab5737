"""The mailer's pure parts: the message it builds and how it classifies SMTP errors (no I/O)."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.mailer import build_message, is_permanent, message_bytes, wire_bytes

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


_ASCII_LINE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=90)
_ANY_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300
)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.one_of(_ASCII_LINE, _ANY_TEXT),
    body=st.one_of(
        _ANY_TEXT,
        st.lists(st.sampled_from(["Hello", "é €", "\n", "\r\n", "\r", "x" * 500]), max_size=8).map(
            "".join
        ),
        st.just("y" * 1200),
    ),
    to=st.one_of(_ASCII_LINE, st.just("s-1@users.seller-support.invalid")),
    extra=st.dictionaries(
        st.sampled_from(["X-Seller-Support-Kind", "Content-Language", "X-Seller-Support-Request"]),
        st.one_of(_ASCII_LINE, _ANY_TEXT),
        max_size=3,
    ),
)
def test_the_directly_written_e_mail_is_byte_for_byte_the_librarys(
    subject: str, body: str, to: str, extra: dict[str, str]
) -> None:
    # given any row (short or long, ASCII or not, any line ends) and one instant
    row = {**ROW, "subject": subject, "body": body, "to_address": to, "headers": extra}
    at = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    sender = "Seller Support <no-reply@seller-support.invalid>"
    # when the mailer writes its wire bytes, then they are the email package's, byte for byte
    assert message_bytes(row, sender, at) == wire_bytes(build_message(row, sender, at))


def test_a_usual_e_mail_is_written_without_the_email_package(monkeypatch) -> None:
    # given a usual row (short ASCII headers, a UTF-8 body of short lines)
    import services.notifications.mailer as mailer

    row = {**ROW, "subject": "New support request for order o-1"}
    at = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    expected = wire_bytes(build_message(row, "no-reply@seller-support.invalid", at))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the email package was used")

    monkeypatch.setattr(mailer, "build_message", refuse)
    # when its wire bytes are written, then the direct path wrote them, equal to the library's
    assert message_bytes(row, "no-reply@seller-support.invalid", at) == expected
