"""The local SMTP server keeps what it received, byte for byte, with the envelope added."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from services.notifications.smtp_server import read_mailbox, start_process, stop_process


def test_a_received_message_is_stored_as_sent_with_its_envelope_headers(tmp_path: Path) -> None:
    # given the server, and a message with a non-ASCII subject and a two-part body
    process, port = start_process(tmp_path)
    message = EmailMessage()
    message["From"] = "Seller Support <support@example.test>"
    message["To"] = "buyer-1@example.test"
    message["Subject"] = "Réponse du vendeur — offre de 12,50 €"
    message.set_content("Bonjour,\n\nle vendeur propose un remboursement partiel.\n")
    message.add_alternative("<p>Bonjour,</p><p>le vendeur propose…</p>", subtype="html")
    message.set_boundary("boundary-of-this-test")  # what is sent is then what as_bytes() gives
    try:
        # when it is sent to two recipients
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(
                message,
                from_addr="bounces@example.test",
                to_addrs=["buyer-1@example.test", "copy@example.test"],
            )
    finally:
        stop_process(process)
    # then one file per recipient holds the message's own headers and body unchanged (LF line
    # ends), with the
    # envelope (sender, recipients, peer) added at the end of the header block
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert [f.name.split("-", 2)[2] for f in files] == [
        "buyer-1@example.test.eml",
        "copy@example.test.eml",
    ]
    sent = message.as_bytes(policy=message.policy.clone(linesep="\n"))
    sent_head, _, sent_body = sent.partition(b"\n\n")
    stored = files[0].read_bytes()
    head, _, body = stored.partition(b"\n\n")
    assert body == sent_body
    assert head.startswith(sent_head + b"\n")
    added = head[len(sent_head) + 1 :].split(b"\n")
    assert added[1:] == [
        b"X-MailFrom: bounces@example.test",
        b"X-RcptTo: buyer-1@example.test, copy@example.test",
    ]
    assert added[0].startswith(b"X-Peer: ('127.0.0.1', ")
    parsed = read_mailbox(tmp_path)
    assert [m["Subject"] for m in parsed] == [message["Subject"]] * 2
    assert (
        parsed[0].get_body(("plain",)).get_content() == message.get_body(("plain",)).get_content()
    )
