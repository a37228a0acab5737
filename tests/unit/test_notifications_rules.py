"""Notification rules without I/O: who hears about what (R7, R22, R23, R51-R53) and the templates (R54)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifications.domain import (
    NOTIFICATION_KINDS,
    RULES,
    Audience,
    Channel,
    ReminderKind,
    RequestFacts,
    email_address,
    plan,
    remind_at,
    reminder_delivery,
    reminder_due,
)
from services.notifications.rendering import Renderer, format_money, format_time, zone_of

SUPPORT = "support-team"
AT = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
DUE = AT + timedelta(days=2)
FACTS = RequestFacts(
    request_id="r-1",
    buyer_id="b-1",
    seller_id="s-1",
    order_id="o-1",
    marketplace="US",
    currency="USD",
    reason="defective",
)


def data(name: str, actor: str | None = None, **fields: Any) -> dict[str, Any]:
    base = {"request_id": "r-1", "version": 2, "at": AT.isoformat(), "actor": "system"}
    base.update(SAMPLES.get(name, {}))
    if actor is not None:
        base["actor"] = actor
    base.update(fields)
    return base


# Published data of every event (publishing.py: event attributes + request_id, version, at, actor).
SAMPLES: dict[str, dict[str, Any]] = {
    "opened": {
        "version": 1,
        "actor": "buyer:b-1",
        "order_id": "o-1",
        "buyer_id": "b-1",
        "seller_id": "s-1",
        "marketplace": "US",
        "currency": "USD",
        "items": [],
        "reason": "defective",
        "description": "Broken",
        "photos": [],
        "policy_version": "2025-09",
        "routed_to_support": None,
        "seller_response_due": DUE.isoformat(),
    },
    "full_refund_offered": {"actor": "seller:s-1", "amount": 3000, "auto_claim": None},
    "return_required": {
        "actor": "seller:s-1",
        "return_dropoff_due": DUE.isoformat(),
        "auto_claim": None,
    },
    "partial_refund_offered": {
        "actor": "seller:s-1",
        "amount": 1000,
        "offer_answer_due": DUE.isoformat(),
    },
    "offer_accepted": {"actor": "buyer:b-1", "amount": 1000},
    "offer_declined": {"actor": "buyer:b-1", "return_dropoff_due": DUE.isoformat()},
    "replacement_promised": {
        "actor": "seller:s-1",
        "carrier": "USPS",
        "tracking_number": "9400-1",
        "replacement_ship_due": DUE.isoformat(),
    },
    "replacement_shipped": {"actor": "carrier"},
    "replacement_overdue": {"return_until": DUE.isoformat()},
    "return_for_refund_chosen": {"actor": "buyer:b-1", "return_dropoff_due": DUE.isoformat()},
    "no_refund_explained": {
        "actor": "seller:s-1",
        "message": "Outside the policy.",
        "evidence": ["listing.png"],
        "no_refund_close_due": DUE.isoformat(),
    },
    "information_requested": {"actor": "seller:s-1", "message": "A photo, please?"},
    "message_posted": {
        "actor": "buyer:b-1",
        "body": "Here it is.",
        "attachments": ["p.jpg"],
        "seller_response_due": DUE.isoformat(),
    },
    "return_label_issued": {"actor": "platform", "tracking_number": "RET-1", "label_cost": 800},
    "return_dropped_off": {"actor": "carrier"},
    "return_delivered": {"actor": "carrier", "return_inspection_due": DUE.isoformat()},
    "return_confirmed": {"actor": "seller:s-1", "amount": 3000},
    "return_auto_confirmed": {"amount": 3000},
    "return_disputed": {"actor": "seller:s-1", "reason": "Not the item I sent", "evidence": []},
    "return_window_expired": {},
    "escalated": {"actor": "buyer:b-1", "reason": "I disagree", "grounds": ["no_refund"]},
    "support_decided": {
        "actor": "support:agent-1",
        "outcome": "refund_with_return",
        "liable": "seller",
        "amount": 3000,
        "return_dropoff_due": DUE.isoformat(),
    },
    "seller_response_overdue": {},
    "offer_lapsed": {},
    "no_refund_closed": {},
    "feedback_given": {"actor": "buyer:b-1", "thumbs": "up"},
}


def recipients(p) -> dict[tuple[str, str], tuple[Channel, ...]]:
    return {(d.recipient_id, d.kind): d.channels for d in p.deliveries}


# --- R7 / R52: who is told ---------------------------------------------------------------------------


def test_r52_new_request_emails_and_notifies_the_seller_in_app_and_confirms_to_the_buyer():
    p = plan(None, "opened", data("opened"), SUPPORT)
    assert recipients(p) == {
        ("s-1", "opened"): (Channel.EMAIL, Channel.IN_APP),
        ("b-1", "opened"): (Channel.EMAIL, Channel.IN_APP),
    }
    assert p.facts == FACTS
    seller_inbox = next(t for t in p.inbox if t.user_id == "s-1")
    assert seller_inbox.role == Audience.SELLER and seller_inbox.unread is True  # R7
    buyer_inbox = next(t for t in p.inbox if t.user_id == "b-1")
    assert buyer_inbox.role == Audience.BUYER and buyer_inbox.unread is False  # they opened it


def test_r52_request_routed_to_support_tells_buyer_and_support_not_the_seller():
    opened = data("opened", routed_to_support="consumable_item", seller_response_due=None)
    p = plan(None, "opened", opened, SUPPORT)
    assert {d.recipient_id for d in p.deliveries} == {"b-1", SUPPORT}
    assert {t.user_id for t in p.inbox} == {"b-1"}  # not in the seller's Customer Service tab
    assert p.schedule == ()


STEPS = sorted(set(RULES) - {"opened", "message_posted", "feedback_given"})


@pytest.mark.parametrize("name", STEPS)
def test_r52_every_step_tells_both_parties_by_email_and_in_app(name: str):
    p = plan(FACTS, name, data(name), SUPPORT)
    told = recipients(p)
    assert told[("b-1", name)] == (Channel.EMAIL, Channel.IN_APP)
    assert told[("s-1", name)] == (Channel.EMAIL, Channel.IN_APP)
    assert {t.user_id for t in p.inbox} == {"b-1", "s-1"}


@pytest.mark.parametrize("name", ["escalated", "return_disputed"])
def test_r52_escalations_also_tell_the_support_team(name: str):
    p = plan(FACTS, name, data(name), SUPPORT)
    assert (SUPPORT, name) in recipients(p)


def test_r52_a_message_tells_only_the_other_party():
    by_buyer = plan(FACTS, "message_posted", data("message_posted", actor="buyer:b-1"), SUPPORT)
    assert set(recipients(by_buyer)) == {("s-1", "message_posted")}
    by_seller = plan(
        FACTS,
        "message_posted",
        data("message_posted", actor="seller:s-1", seller_response_due=None),
        SUPPORT,
    )
    assert set(recipients(by_seller)) == {("b-1", "message_posted")}


def test_r23_support_decision_emails_the_seller_even_of_a_routed_request():
    routed = RequestFacts(**{**FACTS.__dict__, "routed_to_support": "suspected_fraud"})
    decided = data("support_decided", outcome="refund", return_dropoff_due=None)
    p = plan(routed, "support_decided", decided, SUPPORT)
    assert Channel.EMAIL in recipients(p)[("s-1", "support_decided")]
    assert any(t.user_id == "s-1" for t in p.inbox)  # it now reaches the seller's inbox


def test_r22_a_return_support_approved_is_remembered_and_its_delivery_emails_the_seller():
    decided = plan(FACTS, "support_decided", data("support_decided"), SUPPORT)
    assert decided.facts is not None and decided.facts.return_required_by == "support"
    delivered = plan(decided.facts, "return_delivered", data("return_delivered"), SUPPORT)
    assert Channel.EMAIL in recipients(delivered)[("s-1", "return_delivered")]
    text = Renderer().render(
        "return_delivered", "en", _context(decided.facts, Audience.SELLER, "return_delivered")
    )
    assert "support team approved" in text.body
    assert "confirm or dispute" in text.body


def test_r52_feedback_is_for_the_seller_only_and_in_app_only():
    p = plan(FACTS, "feedback_given", data("feedback_given"), SUPPORT)
    assert recipients(p) == {("s-1", "feedback_given"): (Channel.IN_APP,)}


def test_events_of_unknown_requests_or_unknown_kinds_change_nothing():
    assert not plan(None, "offer_accepted", data("offer_accepted"), SUPPORT).changes_anything
    assert not plan(FACTS, "something_new", data("x"), SUPPORT).changes_anything
    assert not plan(FACTS, "opened", data("opened"), SUPPORT).changes_anything  # seen before


# --- R51: the inbox ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["message_posted", "information_requested", "no_refund_explained"])
def test_r51_a_new_message_brings_the_conversation_back_from_the_archive(name: str):
    p = plan(FACTS, name, data(name), SUPPORT)
    assert p.inbox and all(t.unarchive and t.is_message for t in p.inbox)


@pytest.mark.parametrize("name", ["return_label_issued", "offer_accepted", "escalated"])
def test_r51_other_steps_move_activity_but_leave_archived_conversations_archived(name: str):
    p = plan(FACTS, name, data(name), SUPPORT)
    assert p.inbox and not any(t.unarchive for t in p.inbox)


def test_r51_the_party_who_acted_has_read_it_the_other_has_not():
    p = plan(FACTS, "partial_refund_offered", data("partial_refund_offered"), SUPPORT)
    unread = {t.user_id: t.unread for t in p.inbox}
    assert unread == {"s-1": False, "b-1": True}


def test_r50_the_tab_follows_the_users_side_in_the_request():
    p = plan(None, "opened", data("opened"), SUPPORT)
    assert {t.user_id: t.role for t in p.inbox} == {"s-1": Audience.SELLER, "b-1": Audience.BUYER}


# --- R53: reminders ----------------------------------------------------------------------------------

SCHEDULES = {
    "opened": ReminderKind.SELLER_RESPONSE,
    "message_posted": ReminderKind.SELLER_RESPONSE,
    "partial_refund_offered": ReminderKind.OFFER_ANSWER,
    "return_required": ReminderKind.RETURN_DROPOFF,
    "offer_declined": ReminderKind.RETURN_DROPOFF,
    "return_for_refund_chosen": ReminderKind.RETURN_DROPOFF,
    "support_decided": ReminderKind.RETURN_DROPOFF,
    "return_delivered": ReminderKind.RETURN_INSPECTION,
}


@pytest.mark.parametrize(("name", "kind"), sorted(SCHEDULES.items()))
def test_r53_events_that_set_a_deadline_schedule_its_reminder(name: str, kind: ReminderKind):
    p = plan(None if name == "opened" else FACTS, name, data(name), SUPPORT)
    assert [(r.kind, r.due_at) for r in p.schedule] == [(kind, DUE)]
    assert kind in p.cancel  # a new deadline of a kind replaces the pending one


@pytest.mark.parametrize(
    ("name", "cancelled"),
    [
        ("full_refund_offered", ReminderKind.SELLER_RESPONSE),
        ("information_requested", ReminderKind.SELLER_RESPONSE),
        ("no_refund_explained", ReminderKind.SELLER_RESPONSE),
        ("replacement_promised", ReminderKind.SELLER_RESPONSE),
        ("seller_response_overdue", ReminderKind.SELLER_RESPONSE),
        ("escalated", ReminderKind.SELLER_RESPONSE),
        ("offer_accepted", ReminderKind.OFFER_ANSWER),
        ("offer_lapsed", ReminderKind.OFFER_ANSWER),
        ("return_dropped_off", ReminderKind.RETURN_DROPOFF),
        ("return_window_expired", ReminderKind.RETURN_DROPOFF),
        ("return_confirmed", ReminderKind.RETURN_INSPECTION),
        ("return_disputed", ReminderKind.RETURN_INSPECTION),
        ("return_auto_confirmed", ReminderKind.RETURN_INSPECTION),
    ],
)
def test_r53_a_later_event_that_clears_the_deadline_cancels_its_reminder(
    name: str, cancelled: ReminderKind
):
    assert cancelled in plan(FACTS, name, data(name), SUPPORT).cancel


def test_r53_a_message_that_does_not_restart_the_seller_deadline_keeps_its_reminder():
    p = plan(FACTS, "message_posted", data("message_posted", seller_response_due=None), SUPPORT)
    assert p.cancel == frozenset() and p.schedule == ()


def test_r53_reminders_go_to_whoever_must_act():
    who = {k: reminder_delivery(FACTS, k, SUPPORT).recipient_id for k in ReminderKind}
    assert who == {
        ReminderKind.SELLER_RESPONSE: "s-1",
        ReminderKind.OFFER_ANSWER: "b-1",
        ReminderKind.RETURN_DROPOFF: "b-1",
        ReminderKind.RETURN_INSPECTION: "s-1",
    }


def test_r53_lead_time_and_the_window_in_which_a_reminder_is_sent():
    lead = timedelta(hours=12)
    assert remind_at(DUE, lead, AT) == DUE - lead
    assert remind_at(AT + timedelta(hours=6), lead, AT) is None  # too close: the event said it
    assert not reminder_due(DUE - lead, DUE, DUE - lead - timedelta(seconds=1))
    assert reminder_due(DUE - lead, DUE, DUE - lead)
    assert not reminder_due(DUE - lead, DUE, DUE)  # the deadline passed: never sent late


# --- R54: templates ------------------------------------------------------------------------------


def _context(facts: RequestFacts, audience: Audience, name: str, **extra: Any) -> dict[str, Any]:
    recipient = facts.party(audience, SUPPORT)
    counterpart = {Audience.BUYER: facts.seller_id, Audience.SELLER: facts.buyer_id}.get(audience)
    return {
        "audience": str(audience),
        "recipient_id": recipient,
        "counterpart_id": counterpart,
        **{k: v for k, v in facts.__dict__.items()},
        "event": name,
        "e": data(name) if name in SAMPLES else {},
        "link": "http://127.0.0.1:8000/v1/support-requests/r-1",
        "due_at": DUE,
        **extra,
    }


VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("opened", {"e": data("opened", routed_to_support="consumable_item")}),
    *[
        ("support_decided", {"e": data("support_decided", outcome=o, liable=liable)})
        for o, liable in [
            ("refund", "seller"),
            ("uphold_seller", None),
            ("platform_refund", "platform"),
        ]
    ],
    ("feedback_given", {"e": data("feedback_given", thumbs="down")}),
    ("return_delivered", {"return_required_by": "support"}),
]


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", [*NOTIFICATION_KINDS, "update"])
def test_r54_every_template_renders_for_every_kind_and_audience_in_both_locales(
    kind: str, locale: str
):
    renderer = Renderer()
    assert renderer.has_template(kind, locale)
    bodies = set()
    for audience in Audience:
        text = renderer.render(kind, locale, _context(FACTS, audience, kind))
        assert text.locale == locale
        assert text.subject and "\n" not in text.subject and "{" not in text.subject
        assert "o-1" in text.body and "{{" not in text.body and "{%" not in text.body
        bodies.add(text.body)
    for variant_kind, extra in VARIANTS:
        if variant_kind == kind:
            for audience in Audience:
                renderer.render(kind, locale, _context(FACTS, audience, kind, **extra))


def test_r54_every_kind_has_its_own_template_in_both_locales_and_they_differ():
    renderer = Renderer()
    for kind in NOTIFICATION_KINDS:
        ctx = _context(FACTS, Audience.SELLER, kind)
        en, nl = renderer.render(kind, "en", ctx), renderer.render(kind, "nl", ctx)
        assert en.subject != nl.subject, kind
        assert en.body.startswith("Hello s-1,") and nl.body.startswith("Hallo s-1,")


def test_r54_unknown_locale_falls_back_to_english():
    text = Renderer().render("opened", "fr", _context(FACTS, Audience.SELLER, "opened"))
    assert text.locale == "en"


def test_r54_amounts_and_times_follow_the_locale_and_the_marketplace_zone():
    assert format_money(123456, "USD", "en") == "USD 1,234.56"
    assert format_money(123456, "EUR", "nl") == "EUR 1.234,56"
    assert format_money(500, "JPY", "en") == "JPY 500"
    assert format_time(DUE, "en", zone_of("US")) == "Wed 9 Dec 2026, 14:00 EST"
    assert format_time(DUE, "nl", zone_of("NL")) == "wo 9 dec 2026, 20:00 CET"


def test_recipient_address_is_derived_from_the_user_id_unless_configured():
    assert email_address("s-1", None, "users.seller-support.invalid") == (
        "s-1@users.seller-support.invalid"
    )
    assert email_address("a b/c", None, "d.invalid") == "a_b_c@d.invalid"
    assert email_address("s-1", "me@example.com", "d.invalid") == "me@example.com"
