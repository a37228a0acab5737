"""The case dossier is evidence (issue 21): a message written in any script must read the same in
the PDF. Rendered with the font the machine has (DejaVu Sans from Debian's fonts-dejavu-core, which
`make test` installs with chromium: deploy/install-deps.sh) and read back with pypdf."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from services.requests.attachments.dossier import (
    CORE_FONT,
    DossierData,
    find_typeface,
    render,
)

WRITTEN = "Paczka z Łodzi — Ελληνικά — Кириллица — 1 500 €"


def dossier(typeface=None) -> str:  # type: ignore[no-untyped-def]
    request = {
        "id": "5f0c8a8e-0000-4000-8000-000000000001",
        "status": "awaiting_seller",
        "resolution": None,
        "reason": "damaged",
        "policy_version": "2026-06",
        "escalated": False,
        "order_id": "o-1",
        "seller_id": "s-1",
        "buyer_id": "b-1",
        "item_ids": [],
        "deadlines": {},
    }
    data = DossierData(
        request=request,
        order={"order_id": "o-1", "marketplace": "NL", "items": []},
        history=[],
        messages=[
            {"at": datetime(2026, 6, 1, 9, tzinfo=UTC), "author": "buyer b-1", "body": WRITTEN}
        ],
        pictures=[],
        ledger=[],
        generated_at=datetime(2026, 6, 1, 10, tzinfo=UTC),
    )
    pdf = render(data, typeface)
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join("\n".join(p.extract_text() for p in reader.pages).split())


def test_a_message_in_polish_greek_and_cyrillic_reads_as_written_in_the_dossier() -> None:
    # Given the machine's Unicode font
    assert find_typeface().unicode, (
        "fonts-dejavu-core is missing: run bash deploy/install-deps.sh (make test does)"
    )
    # When a dossier holds a message in three scripts
    text = dossier()
    # Then the PDF's text is the message as written, and no approximation note is printed
    assert WRITTEN in text
    assert "approximated" not in text


def test_without_a_unicode_font_the_dossier_approximates_and_says_so() -> None:
    # Given only the PDF core font
    text = dossier(CORE_FONT)
    # Then the Latin-1 letters survive, the others are approximated, and the page says so
    assert "Paczka z" in text and "Ελληνικά" not in text
    assert "Text outside Latin-1 is approximated here" in text
