"""Why a deadline fell where it did, as the case dossier says it (issue 21; R1, R2)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.requests.attachments.dossier import deadline_explanations, latin

NEW_YORK = ZoneInfo("America/New_York")


def test_a_48_hour_deadline_set_before_thanksgiving_names_the_days_that_did_not_count() -> None:
    # Given a request opened Wednesday 2026-11-25 10:00 in New York, due the following Monday
    # (Thursday is Thanksgiving, then a weekend)
    opened = datetime(2026, 11, 25, 10, tzinfo=NEW_YORK)
    due = datetime(2026, 11, 30, 10, tzinfo=NEW_YORK)
    history = [{"type": "opened", "at": opened, "data": {"seller_response_due": due}}]
    # When explained
    (line,) = deadline_explanations(history, "US")
    # Then it says from when, until when, how long in business hours and what was skipped
    assert line.startswith("seller response: set by opened at Wed 2026-11-25 10:00 EST")
    assert "due Mon 2026-11-30 10:00 EST = 48 business hours (2 business days) later" in line
    assert "2026-11-26 (Thanksgiving" in line
    assert "2026-11-28 (Saturday)" in line and "2026-11-29 (Sunday)" in line
    assert "2026-11-27" not in line  # the Friday after is a business day


def test_a_deadline_with_no_day_off_in_between_says_so() -> None:
    opened = datetime(2026, 12, 7, 14, tzinfo=NEW_YORK)
    due = datetime(2026, 12, 9, 14, tzinfo=NEW_YORK)
    history = [{"type": "opened", "at": opened, "data": {"seller_response_due": due}}]
    assert "no weekend or holiday in between" in deadline_explanations(history, "US")[0]


def test_text_outside_latin_1_is_shown_in_its_closest_form() -> None:
    assert latin("Receipt \u2014 \u201cok\u201d \u2019s \u20ac5") == 'Receipt - "ok" \'s EUR 5'
    assert latin("\u65e5\u672c") == "??"


def test_b11_an_events_data_reads_as_words_money_in_the_currency_no_raw_dicts() -> None:
    from services.requests.attachments.dossier_text import details, uploaders

    data = {
        "amount": 3000,
        "consumable": False,
        "routed_to_support": None,
        "evidence": [],
        "offer_answer_due": "2027-01-07T15:00:00+00:00",
        "items": [{"item_id": "i1", "title": "Holo card", "price": 2500}],
        "auto_claim": {"insured": 5000, "eligible": True},
    }
    lines = details(data, "USD", NEW_YORK)
    assert "Amount: 30.00 USD" in lines
    assert "Offer answer due: Thu 2027-01-07 10:00 EST" in lines
    assert "Items: Holo card" in lines
    assert "Auto claim: Insured: 50.00 USD; Eligible: yes" in lines
    text = " ".join(lines)
    assert "False" not in text and "None" not in text and "{" not in text and "3000" not in text
    # who uploaded each file: the first step that referenced it
    photo = "att_" + "ab" * 16
    history = [
        {
            "type": "opened",
            "actor": "buyer:b-1",
            "data": {"photos": [photo + "#sha256=" + "c" * 64]},
        },
        {"type": "message_posted", "actor": "seller:s-1", "data": {"attachments": [photo]}},
    ]
    assert uploaders(history) == {photo: ("buyer:b-1", "opened")}
