"""The pure parts of the web app's issue-29 pages: which evidence each step carries (B2, B16), who
did a step in words (B16), what a confirmation sums (R30, R37), and that every code the ledger,
rating and performance pages put into words has its Dutch (B14)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.webapp import i18n, i18n_pages
from services.webapp.pages import actor_name
from services.webapp.pages.confirm import sums
from services.webapp.pages.evidence import (
    Ref,
    attachment_ids,
    file_kind,
    ref_of,
    steps_with_evidence,
)

ID = "att_" + "ab" * 16
RECORDED = f"{ID}#sha256={'c' * 64}"


def test_b16_a_recorded_reference_is_the_stored_file_never_the_raw_text() -> None:
    assert ref_of(RECORDED) == Ref(attachment_id=ID)
    assert ref_of(ID) == Ref(attachment_id=ID)
    assert ref_of("https://example.com/x.jpg") == Ref(url="https://example.com/x.jpg")
    assert ref_of("att_short") == Ref(text="att_short")


def test_b2_every_steps_photos_evidence_and_attachments_in_order() -> None:
    history = [
        {"version": 1, "type": "opened", "at": "t1", "actor": "buyer:b", "data": {"photos": [ID]}},
        {"version": 2, "type": "message_posted", "at": "t2", "actor": "buyer:b", "data": {}},
        {
            "version": 3,
            "type": "no_refund_explained",
            "at": "t3",
            "actor": "seller:s",
            "data": {"evidence": ["https://e.example/l", RECORDED]},
        },
        {
            "version": 4,
            "type": "message_posted",
            "at": "t4",
            "actor": "seller:s",
            "data": {"attachments": [RECORDED]},
        },
    ]
    steps = steps_with_evidence(history)
    assert [s.version for s in steps] == [1, 3, 4]
    assert steps[1].refs == [Ref(url="https://e.example/l"), Ref(attachment_id=ID)]
    assert attachment_ids(steps) == [ID]  # each stored file once


def test_b16_the_actor_in_words() -> None:
    _ = i18n.Translator("en")
    assert actor_name(_, "buyer:nc-buyer") == "Buyer nc-buyer"
    assert actor_name(_, "buyer:nc-buyer", {"role": "buyer", "sub": "nc-buyer"}) == "You"
    assert actor_name(_, "system") == "System"
    assert actor_name(i18n.Translator("nl"), "seller:s-1") == "Verkoper s-1"


def test_file_kinds_in_words() -> None:
    assert file_kind("image/jpeg") == "JPEG photo"
    assert file_kind("application/pdf; charset=binary") == "PDF document"
    assert file_kind("application/zip") == "File"


@given(
    items=st.lists(
        st.fixed_dictionaries(
            {
                "price": st.integers(0, 10**7),
                "seller_payout": st.integers(0, 10**7),
                "buyer_shipping_paid": st.integers(0, 10**5),
                "processing_fee": st.integers(0, 10**5),
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_r30_r37_the_confirmation_sums_the_items_own_figures(items: list[dict]) -> None:
    opened = {"items": [{**i, "item_id": f"i{n}"} for n, i in enumerate(items)]}
    totals = sums(opened, [])
    assert totals["paid"] == sum(i["price"] + i["buyer_shipping_paid"] for i in items)
    assert totals["charge"] == sum(
        i["seller_payout"] + i["buyer_shipping_paid"] + i["processing_fee"] for i in items
    )
    # only the request's own items count
    first = sums(opened, ["i0"])
    assert first["paid"] == items[0]["price"] + items[0]["buyer_shipping_paid"]


def test_b14_every_code_the_pages_put_into_words_has_its_dutch() -> None:
    tables = (
        i18n_pages.LEDGER_KIND_WORDS,
        i18n_pages.LEVEL_WORDS,
        i18n_pages.WINDOW_WORDS,
        i18n_pages.EFFECT_WORDS,
        i18n_pages.RATING_REASON_WORDS,
        i18n_pages.STANDING_WORDS,
        i18n_pages.STANDING_STATE_WORDS,
    )
    missing = sorted(t for table in tables for t in table.values() if t not in i18n.NL)
    assert missing == []


def test_b17_no_rule_numbers_in_the_rating_words() -> None:
    words = [*i18n_pages.RATING_REASON_WORDS.values(), *i18n_pages.EFFECT_WORDS.values()]
    assert not [w for w in words if "(R" in w or "R4" in w]


def test_b13_one_zone_format_in_both_languages() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2027, 1, 5, 15, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert i18n.Translator("en").when(moment, new_york).endswith("10:00 EST")
    assert i18n.Translator("nl").when(moment, new_york).endswith("10:00 EST")
    assert i18n.Translator("nl").when(moment, ZoneInfo("Europe/Amsterdam")).endswith("16:00 CET")


def test_a_standing_figures_api_link_opens_the_apps_list_with_only_the_lists_filters() -> None:
    from services.webapp.pages.request_list import app_link

    link = app_link("/v1/support-requests?seller_id=s-1&responded_in_time=false&evil=1")
    assert link == "/list?seller_id=s-1&responded_in_time=false"


def test_b14_every_holiday_a_deadline_can_skip_has_its_dutch_name() -> None:
    import holidays

    years = range(2026, 2031)
    names = {
        str(n)
        for country in ("US", "NL")
        for n in holidays.country_holidays(country, years=years, language="en_US").values()
    }
    assert "Thanksgiving Day" in names and "King's Day" in names  # English, for both countries
    assert sorted(n for n in names if n not in i18n.NL) == []
