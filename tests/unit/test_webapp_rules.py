"""The web app's pure rules: why a deadline falls where it does, amounts typed in major units,
exactly the actions the API would accept, and a Dutch text for every English one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from services.webapp import i18n
from services.webapp.deadlines import explain, next_deadline, skipped_days
from services.webapp.views import (
    DECISIONS,
    SELLER_RESPONSES,
    Action,
    InvalidInput,
    actions_for,
    command_for,
    may_message,
    to_minor,
)
from shared.business_time import calendar_for

US = calendar_for("US")
NEW_YORK = ZoneInfo("America/New_York")


def test_r8_deadline_explained_with_weekend_and_juneteenth() -> None:
    # Given a request opened Thursday 15 June 2023 10:00 in New York (48 business hours, R8)
    opened = datetime(2023, 6, 15, 10, tzinfo=NEW_YORK)
    due = US.add_business_hours(opened, 48)
    history = [
        {
            "type": "opened",
            "at": opened.isoformat(),
            "data": {"seller_response_due": due.isoformat()},
        }
    ]
    # When the page explains it on Friday noon
    now = datetime(2023, 6, 16, 12, tzinfo=NEW_YORK)
    why = explain("seller_response", due, history, US, now)
    # Then it is 48 business hours, skipping Sat-Sun and Mon 19 June (Juneteenth)
    assert due.astimezone(NEW_YORK) == datetime(2023, 6, 20, 10, tzinfo=NEW_YORK)
    assert why.business_hours_given == 48
    assert why.business_hours_left == 22
    assert [(s.first, s.last) for s in why.skipped] == [
        (date(2023, 6, 17), date(2023, 6, 18)),
        (date(2023, 6, 19), date(2023, 6, 19)),
    ]
    assert why.skipped[0].holiday is None
    assert "Juneteenth" in (why.skipped[1].holiday or "")


def test_deadline_set_by_the_latest_event_carrying_it() -> None:
    first = datetime(2026, 12, 7, 9, tzinfo=UTC)
    later = first + timedelta(days=1)
    history = [
        {"type": "opened", "at": first.isoformat(), "data": {"seller_response_due": "x"}},
        {"type": "message_posted", "at": later.isoformat(), "data": {"seller_response_due": "y"}},
    ]
    due = US.add_business_hours(later, 48)
    assert explain("seller_response", due, history, US, later).business_hours_given == 48


def test_next_deadline_is_the_earliest_open_one() -> None:
    assert next_deadline({"seller_response": None, "offer_answer": None}) is None
    kind, _ = next_deadline(
        {"return_dropoff": "2026-12-10T00:00:00+00:00", "offer_answer": "2026-12-09T00:00:00+00:00"}
    ) or ("", None)
    assert kind == "offer_answer"


@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=1, max_value=24 * 15),
)
def test_skipped_days_and_business_days_cover_the_calendar_exactly(
    start: datetime, hours: int
) -> None:
    # Every calendar day between start and due is either a business day or named as skipped.
    due = US.add_business_hours(start, hours)
    zone = ZoneInfo(US.zone)
    first, last = start.astimezone(zone).date(), due.astimezone(zone).date()
    skipped = {
        s.first + timedelta(days=i)
        for s in skipped_days(US, start, due)
        for i in range((s.last - s.first).days + 1)
    }
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert skipped == {d for d in days if not US.is_business_day(d)}


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
    return {
        "status": status,
        "buyer_id": "b",
        "seller_id": "s",
        "escalated": False,
        "may_escalate": False,
        "feedback": None,
        **extra,
    }


NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_only_the_actions_the_api_would_accept_r10_r22() -> None:
    assert actions_for(_state("awaiting_seller"), "seller", "s", [], NOW)[:3] == [
        Action.FULL_REFUND,
        Action.REFUND_WITH_RETURN,
        Action.PARTIAL_REFUND,
    ]
    assert actions_for(_state("awaiting_seller"), "seller", "other", [], NOW) == []
    assert actions_for(_state("awaiting_seller"), "buyer", "b", [], NOW) == []
    assert actions_for(_state("awaiting_seller", may_escalate=True), "buyer", "b", [], NOW) == [
        Action.ESCALATE
    ]
    assert actions_for(_state("offer_pending"), "buyer", "b", [], NOW) == [
        Action.ACCEPT_OFFER,
        Action.DECLINE_OFFER,
    ]
    assert actions_for(_state("awaiting_inspection"), "seller", "s", [], NOW) == [
        Action.CONFIRM_RETURN,
        Action.DISPUTE_RETURN,
    ]
    assert actions_for(_state("escalated"), "support", "agent", [], NOW)[0] == Action.DECIDE_REFUND
    assert actions_for(_state("escalated"), "auditor", "a", [], NOW) == []
    assert actions_for(_state("resolved"), "buyer", "b", [], NOW) == [
        Action.THUMBS_UP,
        Action.THUMBS_DOWN,
    ]
    assert actions_for(_state("resolved", feedback="up"), "buyer", "b", [], NOW) == []
    overdue = [
        {
            "type": "replacement_overdue",
            "data": {"return_until": (NOW + timedelta(days=1)).isoformat()},
        }
    ]
    assert actions_for(_state("replacement_pending"), "buyer", "b", overdue, NOW) == [
        Action.RETURN_FOR_REFUND
    ]
    assert (
        actions_for(_state("replacement_pending"), "buyer", "b", overdue, NOW + timedelta(days=2))
        == []
    )


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


@given(
    status=st.sampled_from(STATUSES),
    role=st.sampled_from(["buyer", "seller", "support", "auditor"]),
    user=st.sampled_from(["b", "s", "someone-else"]),
    may_escalate=st.booleans(),
    escalated=st.booleans(),
)
def test_scoping_nobody_is_offered_another_sides_actions(
    status: str, role: str, user: str, may_escalate: bool, escalated: bool
) -> None:
    # Given any state, when a person who is not that side looks, then none of its actions show.
    state = _state(status, may_escalate=may_escalate, escalated=escalated)
    offered = set(actions_for(state, role, user, [], NOW))
    seller_side = {*SELLER_RESPONSES, Action.CONFIRM_RETURN, Action.DISPUTE_RETURN}
    buyer_side = {
        Action.ACCEPT_OFFER,
        Action.DECLINE_OFFER,
        Action.ESCALATE,
        Action.RETURN_FOR_REFUND,
        Action.THUMBS_UP,
        Action.THUMBS_DOWN,
    }
    if not (role == "seller" and user == "s"):
        assert not offered & seller_side
    if not (role == "buyer" and user == "b"):
        assert not offered & buyer_side
    if role != "support" or status != "escalated":
        assert not offered & set(DECISIONS)
    assert may_message(state, role, user) == (
        (role, user) in (("buyer", "b"), ("seller", "s")) and not escalated
    )
