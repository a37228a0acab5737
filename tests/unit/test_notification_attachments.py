"""E-mails never carry uploaded files nor their ids: a message's attachments are counted and the
reader is sent to the request in the app; plain URL references are shown as before (issue 21)."""

from __future__ import annotations

import pytest

from services.notifications.rendering import Renderer

ATT = "att_" + "1" * 32 + "#sha256=" + "a" * 64


def _context(attachments: list[str]) -> dict:
    return {
        "audience": "seller",
        "recipient_id": "s-1",
        "counterpart_id": "b-1",
        "order_id": "o-1",
        "request_id": "r-1",
        "marketplace": "US",
        "currency": "USD",
        "e": {"body": "See the photo.", "attachments": attachments},
        "link": "http://127.0.0.1:8000/v1/support-requests/r-1",
    }


@pytest.mark.parametrize(("locale", "counted"), [("en", "2 file(s)"), ("nl", "2 bestand(en)")])
def test_uploaded_files_are_counted_not_listed_and_plain_references_stay(
    locale: str, counted: str
) -> None:
    text = Renderer().render(
        "message_posted", locale, _context([ATT, "https://x.example/a.jpg", ATT.replace("1", "2")])
    )
    assert counted in text.body
    assert "att_" not in text.body and "sha256" not in text.body
    assert "https://x.example/a.jpg" in text.body
    assert "http://127.0.0.1:8000/v1/support-requests/r-1" in text.body


def test_a_message_without_attachments_mentions_none() -> None:
    text = Renderer().render("message_posted", "en", _context([]))
    assert "file(s)" not in text.body and "Attachments" not in text.body
