"""The web app's pure rules: the buttons of the steps the API lists, the words of a state, amounts
typed in major units, and a Dutch text for every English one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from services.webapp import i18n
from services.webapp.views import (
    Action,
    InvalidInput,
    actions_for,
    command_for,
    may_message,
    next_deadline,
    status_key,
    to_minor,
    waits_on,
)
from shared.business_time import calendar_for
from shared.vocabulary import Outcome

US = calendar_for("US")
NEW_YORK = ZoneInfo("America/New_York")


@given(minor=st.integers(min_value=1, max_value=10**12), locale=st.sampled_from(["en_US", "nl_NL"]))
def test_amount_typed_as_the_locale_writes_it_is_sent_as_the_same_minor_units(
    minor: int, locale: str
) -> None:
    # 1,234.56 (English) and 1.234,56 (Dutch) both mean 123456 cents.
    typed = format_decimal(Decimal(minor).scaleb(-2), format="#,##0.00", locale=locale)
    assert to_minor(typed, 2) == minor


def test_amounts_in_major_units() -> None:
    assert to_minor("10.00", 2) == 1000
    assert to_minor("10,5", 2) == 1050
    assert to_minor("1,234.56", 2) == 123456
    assert to_minor("1.234,56", 2) == 123456
    assert to_minor("7", 2) == 700
    assert to_minor("500", 0) == 500
    for bad in ("", "abc", "0", "-5", "1.2.3x", "9" * 30):
        try:
            to_minor(bad, 2)
        except InvalidInput:
            continue
        raise AssertionError(f"{bad!r} accepted")


def _state(status: str, **extra: object) -> dict[str, object]:
    return {"status": status, "buyer_id": "b", "seller_id": "s", "deadlines": {}, **extra}


NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_issue27_the_buttons_are_the_steps_the_api_lists() -> None:
    # given the steps the API lists for the caller (domain/next_step.py decides them)
    state = _state("awaiting_seller", actions=["full_refund", "partial_refund", "message"])
    # then the page offers exactly those, a message as its own form
    assert actions_for(state) == [Action.FULL_REFUND, Action.PARTIAL_REFUND]
    assert may_message(state)
    # and feedback is one button per thumb, a decision one per outcome
    assert actions_for(_state("resolved", actions=["feedback"])) == [
        Action.THUMBS_UP,
        Action.THUMBS_DOWN,
    ]
    decide = actions_for(_state("escalated", actions=["decide", "assign"]))
    assert [a.value for a in decide] == [f"decide_{o.value}" for o in Outcome]
    # and nothing is offered that the API did not list, nor a step this app does not know
    assert actions_for(_state("escalated", actions=["some_new_step"])) == []
    assert actions_for(_state("awaiting_seller")) == [] and not may_message(_state("resolved"))


def test_issue27_waits_on_is_the_apis() -> None:
    # the state's `waiting_on`; a search row says `nobody` once closed
    assert waits_on(_state("replacement_pending", waiting_on="seller")) == "seller"
    assert waits_on(_state("resolved", waiting_on="nobody")) is None
    assert waits_on(_state("resolved", waiting_on=None)) is None
    assert waits_on(None) is None


def test_issue27_b4_b7_b8_status_words_tell_the_situations_apart() -> None:
    # B4: a no-refund explanation is not a request for information
    no_refund = _state("awaiting_buyer", deadlines={"no_refund_close": "2027-01-12T05:00:00+00:00"})
    assert status_key(no_refund) == "awaiting_buyer:no_refund"
    assert status_key(_state("awaiting_buyer")) == "awaiting_buyer"
    # B7: a promised replacement is not on its way before the carrier's first scan
    assert i18n.STATUS_WORDS[status_key(_state("replacement_pending"))] == (
        "Waiting for the seller to ship the replacement"
    )
    # B8: a late replacement says the buyer may return the original
    late = _state("replacement_pending", deadlines={"return_for_refund": "2027-01-12T05:00:00Z"})
    assert status_key(late) == "replacement_pending:late"
    for key in (*STATUSES, "awaiting_buyer:no_refund", "replacement_pending:late"):
        assert key in i18n.STATUS_WORDS


def test_issue27_the_next_deadline_shown_is_an_overdue_one_first() -> None:
    # given a state with an overdue deadline and a later open window, explained by the API
    explanation = {
        "business_hours_given": 48.0,
        "business_hours_left": 0.0,
        "skipped": [{"first": "2026-12-12", "last": "2026-12-13", "holiday": None}],
    }
    state = _state(
        "replacement_pending",
        overdue=["replacement_ship"],
        deadline_explanations={
            "replacement_ship": {**explanation, "due": "2026-12-09T19:00:00+00:00"},
            "return_for_refund": {
                **explanation,
                "due": "2026-12-16T19:00:00+00:00",
                "business_hours_left": 100.0,
            },
        },
    )
    shown = next_deadline(state)
    # then the page shows the overdue one, passed, with the API's skipped days
    assert shown is not None and shown.kind == "replacement_ship" and shown.passed
    assert [(s.first, s.last) for s in shown.skipped] == [(date(2026, 12, 12), date(2026, 12, 13))]
    assert next_deadline(_state("resolved")) is None


def test_commands_are_the_api_bodies() -> None:
    assert command_for(Action.PARTIAL_REFUND, {"amount": "10.00"}, 2).body == {
        "type": "partial_refund",
        "amount": 1000,
    }
    assert command_for(Action.DECIDE_UPHOLD_SELLER, {}, 2).body == {"outcome": "uphold_seller"}
    assert command_for(Action.NO_REFUND, {"message": "m", "evidence": "a\n\nb"}, 2).body == {
        "type": "no_refund",
        "message": "m",
        "evidence": ["a", "b"],
    }
    assert command_for(Action.THUMBS_DOWN, {}, 2).suffix == "feedback"


WEBAPP = Path(__file__).resolve().parents[2] / "services" / "webapp"
_CALLS = re.compile(r"""_\(\s*(["'])(.+?)\1""")


def test_every_english_text_has_a_dutch_one() -> None:
    sources = [*WEBAPP.glob("templates/*.html"), *WEBAPP.glob("**/*.py")]
    used = {m.group(2) for f in sources for m in _CALLS.finditer(f.read_text())}
    tables = (
        i18n.STATUS_WORDS,
        i18n.RESOLUTION_WORDS,
        i18n.REASON_WORDS,
        i18n.DEADLINE_WORDS,
        i18n.EVENT_WORDS,
    )
    used |= {text for table in tables for text in table.values()}
    used |= {"Customer Service", "All Messages", *i18n.ACTOR_WORDS.values()}
    missing = sorted(t for t in used if t not in i18n.NL)
    assert len(used) > 100
    assert missing == []


def test_money_and_dates_follow_the_locale() -> None:
    assert i18n.Translator("en").money(123456, "USD") == "$1,234.56"
    assert i18n.Translator("nl").money(123456, "EUR") == "€\xa01.234,56"
    moment = datetime(2026, 12, 7, 15, tzinfo=UTC)
    assert (
        i18n.Translator("nl")
        .when(moment, ZoneInfo("Europe/Amsterdam"))
        .startswith("ma 7 dec 2026, 16:00")
    )


def test_email_links_open_the_web_apps_request_page(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.notifications.settings import NotificationsSettings

    # Default: the server's own address and port
    for name in ("SUPPORT_PUBLIC_URL", "SUPPORT_NOTIFICATIONS_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORT_HOST", "0.0.0.0")
    monkeypatch.setenv("SUPPORT_PORT", "8123")
    assert NotificationsSettings().public_base_url == "http://127.0.0.1:8123"
    # Configured: SUPPORT_PUBLIC_URL
    monkeypatch.setenv("SUPPORT_PUBLIC_URL", "https://support.example.com")
    settings = NotificationsSettings()
    from services.notifications.projection import Notifier

    notice = Notifier(settings).notice(_Facts(), [], source_id="s", at=NOW, event="opened", data={})
    assert notice.context["link"] == "https://support.example.com/app/requests/r-1"


class _Facts:
    request_id, order_id, buyer_id, seller_id, reason = "r-1", "o-1", "b", "s", "defective"
    marketplace, currency, routed_to_support, return_required_by = "US", "USD", None, None


STATUSES = [
    "awaiting_seller",
    "awaiting_buyer",
    "offer_pending",
    "awaiting_return",
    "return_in_transit",
    "awaiting_inspection",
    "replacement_pending",
    "escalated",
    "resolved",
    "cancelled",
]
