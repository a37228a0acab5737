"""Who hears about what (R7, R23, R51-R53): pure rules from one published request event to a plan.

Nothing here does I/O. `plan(known, name, data, support_id)` takes what the projection already knows
about the request (`RequestFacts`, from its `opened` event), the event's name and its published data,
and answers:

- which notifications to create: recipient, audience (`buyer`, `seller`, `support`), kind (the event
  name, or `reminder_<deadline>`), channels (`email`, `in_app`);
- which reminders to cancel (a deadline that no longer applies) and which to schedule;
- how each party's inbox conversation changes (activity, unread, back from the archive).

Rules (docs/notifications.md has the full table):

- R7/R52: a new request notifies the seller by e-mail and in-app and lands in their Customer Service
  tab; the buyer gets a confirmation. A request routed straight to support (R6) notifies the buyer
  and the support team; the seller, who does not handle it, hears nothing until support decides.
  R66: a request routed because its seller is not enrolled also tells the seller, by e-mail and
  in-app, what happened and how to join.
- R52: every later step notifies both parties on both channels, the party who acted included (a
  confirmation with the next deadline). A message notifies only the other party. Escalations (the
  buyer's, or a seller's dispute of a return) also notify the support team.
- R23: a support decision e-mails the seller (also when the request was routed and the seller had
  not heard of it before). R22: when a return support approved is delivered, the seller is e-mailed
  that they must confirm or dispute it.
- R51: every step moves the conversation's last activity and marks it unread for each party who did
  not act; a step that carries a message (a message, an information request, a no-refund
  explanation) also brings an archived conversation back into the inbox.
- R53: reminders before the seller's response, the buyer's offer answer, the return drop-off and the
  return inspection deadlines; a reminder is cancelled when a later event clears or replaces its
  deadline, and never sent once its deadline has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.vocabulary import Deadline


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"


class Audience(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    SUPPORT = "support"


class ReminderKind(StrEnum):
    """The deadlines that get a reminder: shared/vocabulary.py `Deadline` kinds."""

    SELLER_RESPONSE = Deadline.SELLER_RESPONSE.value
    OFFER_ANSWER = Deadline.OFFER_ANSWER.value
    RETURN_DROPOFF = Deadline.RETURN_DROPOFF.value
    RETURN_INSPECTION = Deadline.RETURN_INSPECTION.value


BOTH_CHANNELS = (Channel.EMAIL, Channel.IN_APP)
IN_APP_ONLY = (Channel.IN_APP,)

# Who must act before each deadline, and so receives its reminder.
REMINDER_AUDIENCE: dict[ReminderKind, Audience] = {
    ReminderKind.SELLER_RESPONSE: Audience.SELLER,
    ReminderKind.OFFER_ANSWER: Audience.BUYER,
    ReminderKind.RETURN_DROPOFF: Audience.BUYER,
    ReminderKind.RETURN_INSPECTION: Audience.SELLER,
}


def reminder_notification_kind(kind: ReminderKind | str) -> str:
    return f"reminder_{kind}"


ALL_DEADLINES = frozenset(ReminderKind)

SELLER_NOT_ENROLLED = "seller_not_enrolled"
"""R66: the routing ground of a request whose seller is not enrolled in seller-handled support;
unlike R6's grounds, the seller is told (what happened, and how to join the waitlist)."""

# --- the rule table ------------------------------------------------------------------------------

_BOTH = (Audience.BUYER, Audience.SELLER)
_ESCALATION = (Audience.BUYER, Audience.SELLER, Audience.SUPPORT)
_COUNTERPART = "counterpart"  # only the party who did not act (messages)


@dataclass(frozen=True)
class Rule:
    audiences: tuple[Audience, ...] | str = _BOTH
    cancels: frozenset[ReminderKind] = frozenset()
    # published data field holding a new deadline -> the reminder it schedules
    sets: Mapping[str, ReminderKind] = field(default_factory=dict)
    channels: tuple[Channel, ...] = BOTH_CHANNELS
    carries_message: bool = False  # R51: brings an archived conversation back


_SR = frozenset({ReminderKind.SELLER_RESPONSE})

RULES: dict[str, Rule] = {
    # R7: opened is special-cased in `plan` (routing decides the audience).
    "opened": Rule(sets={"seller_response_due": ReminderKind.SELLER_RESPONSE}),
    # seller responses (R10-R18)
    "full_refund_offered": Rule(cancels=ALL_DEADLINES),
    "return_required": Rule(
        cancels=ALL_DEADLINES, sets={"return_dropoff_due": ReminderKind.RETURN_DROPOFF}
    ),
    "partial_refund_offered": Rule(
        cancels=_SR, sets={"offer_answer_due": ReminderKind.OFFER_ANSWER}
    ),
    "replacement_promised": Rule(cancels=_SR),
    "no_refund_explained": Rule(cancels=_SR, carries_message=True),
    "information_requested": Rule(cancels=_SR, carries_message=True),
    # the buyer answers an offer (R14)
    "offer_accepted": Rule(cancels=ALL_DEADLINES),
    "offer_declined": Rule(
        cancels=ALL_DEADLINES, sets={"return_dropoff_due": ReminderKind.RETURN_DROPOFF}
    ),
    # replacement (R16)
    "replacement_shipped": Rule(cancels=ALL_DEADLINES),
    "replacement_overdue": Rule(),
    "return_for_refund_chosen": Rule(
        cancels=ALL_DEADLINES, sets={"return_dropoff_due": ReminderKind.RETURN_DROPOFF}
    ),
    # conversation (R17, R18, R51)
    "message_posted": Rule(
        audiences=_COUNTERPART,
        sets={"seller_response_due": ReminderKind.SELLER_RESPONSE},
        carries_message=True,
    ),
    # the return (R11, R12, R22)
    "return_label_issued": Rule(),
    "return_dropped_off": Rule(cancels=frozenset({ReminderKind.RETURN_DROPOFF})),
    "return_delivered": Rule(
        cancels=frozenset({ReminderKind.RETURN_DROPOFF}),
        sets={"return_inspection_due": ReminderKind.RETURN_INSPECTION},
    ),
    "return_confirmed": Rule(cancels=ALL_DEADLINES),
    "return_auto_confirmed": Rule(cancels=ALL_DEADLINES),
    "return_disputed": Rule(audiences=_ESCALATION, cancels=ALL_DEADLINES),
    "return_window_expired": Rule(cancels=ALL_DEADLINES),
    # escalation and support (R19-R23)
    "escalated": Rule(audiences=_ESCALATION, cancels=ALL_DEADLINES),
    "support_decided": Rule(
        cancels=ALL_DEADLINES, sets={"return_dropoff_due": ReminderKind.RETURN_DROPOFF}
    ),
    # deadlines that passed (R8, R15, R17)
    "seller_response_overdue": Rule(cancels=_SR),
    "offer_lapsed": Rule(cancels=frozenset({ReminderKind.OFFER_ANSWER})),
    "no_refund_closed": Rule(cancels=ALL_DEADLINES),
    # R46: the satisfaction answer is private to the seller; an in-app note is enough.
    "feedback_given": Rule(audiences=(Audience.SELLER,), channels=IN_APP_ONLY),
}

# Every kind of notification there is: one template per kind and locale (R54).
NOTIFICATION_KINDS: tuple[str, ...] = (
    *RULES,
    *(reminder_notification_kind(k) for k in ReminderKind),
)

# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFacts:
    """What the projection keeps about a request: its parties and what later events do not repeat."""

    request_id: str
    buyer_id: str
    seller_id: str
    order_id: str
    marketplace: str
    currency: str
    reason: str
    routed_to_support: str | None = None
    return_required_by: str | None = (
        None  # "seller" | "offer_declined" | "replacement_overdue" | "support"
    )

    def party(self, audience: Audience, support_id: str) -> str:
        return {
            Audience.BUYER: self.buyer_id,
            Audience.SELLER: self.seller_id,
            Audience.SUPPORT: support_id,
        }[audience]


@dataclass(frozen=True)
class Delivery:
    recipient_id: str
    audience: Audience
    kind: str
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class ReminderPlan:
    kind: ReminderKind
    audience: Audience
    due_at: datetime


@dataclass(frozen=True)
class InboxTouch:
    """How one party's conversation changes (R50, R51)."""

    user_id: str
    role: Audience  # the user's side in this request: buyer or seller (which tab it shows in)
    counterpart_id: str
    unread: (
        bool | None
    )  # True: unread (told of another's step); False: read (they acted); None: as is
    unarchive: bool  # a new message: back into the inbox
    is_message: bool


@dataclass(frozen=True)
class Plan:
    facts: RequestFacts | None = None
    deliveries: tuple[Delivery, ...] = ()
    cancel: frozenset[ReminderKind] = frozenset()
    schedule: tuple[ReminderPlan, ...] = ()
    inbox: tuple[InboxTouch, ...] = ()

    @property
    def changes_anything(self) -> bool:
        return bool(self.facts or self.deliveries or self.cancel or self.schedule or self.inbox)


NOTHING = Plan()

# --- the rules -----------------------------------------------------------------------------------


def actor_role(actor: str | None) -> str:
    """`buyer:b1` -> `buyer`; `system`, `carrier`, `platform` stay as they are."""
    return (actor or "").split(":", 1)[0]


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def facts_from_opened(data: Mapping[str, Any]) -> RequestFacts:
    return RequestFacts(
        request_id=str(data["request_id"]),
        buyer_id=str(data["buyer_id"]),
        seller_id=str(data["seller_id"]),
        order_id=str(data["order_id"]),
        marketplace=str(data.get("marketplace") or "US"),
        currency=str(data.get("currency") or "USD"),
        reason=str(data.get("reason") or ""),
        routed_to_support=data.get("routed_to_support"),
    )


def plan(known: RequestFacts | None, name: str, data: Mapping[str, Any], support_id: str) -> Plan:
    """The notifications, reminders and inbox changes one event causes."""
    rule = RULES.get(name)
    if rule is None:  # an event this version does not know: nothing to tell anyone
        return NOTHING
    facts = known
    if name == "opened":
        if known is not None:
            return NOTHING  # already known (a replay without tracking rows)
        facts = facts_from_opened(data)
    if facts is None:
        return NOTHING  # an event of a request whose opening this projection never saw
    facts = _updated_facts(facts, name, data)
    acting = actor_role(data.get("actor"))

    audiences = _audiences(facts, name, rule, acting)
    deliveries = tuple(
        Delivery(facts.party(a, support_id), a, name, rule.channels) for a in audiences
    )
    schedule = []
    for field_name, kind in rule.sets.items():
        due = _parse_time(data.get(field_name))
        if due is not None:
            schedule.append(ReminderPlan(kind, REMINDER_AUDIENCE[kind], due))
    # A new deadline of a kind replaces the pending reminder of that kind.
    cancel = rule.cancels | {r.kind for r in schedule}
    inbox = _inbox_touches(facts, name, rule, acting, audiences)
    return Plan(
        facts=facts if facts != known else None,
        deliveries=deliveries,
        cancel=frozenset(cancel),
        schedule=tuple(schedule),
        inbox=inbox,
    )


def _updated_facts(facts: RequestFacts, name: str, data: Mapping[str, Any]) -> RequestFacts:
    required_by = {
        "return_required": "seller",
        "offer_declined": "offer_declined",
        "return_for_refund_chosen": "replacement_overdue",
    }.get(name)
    if name == "support_decided" and data.get("outcome") == "refund_with_return":
        required_by = "support"
    if required_by is not None:
        return replace(facts, return_required_by=required_by)
    return facts


def _audiences(facts: RequestFacts, name: str, rule: Rule, acting: str) -> tuple[Audience, ...]:
    if name == "opened":
        if facts.routed_to_support == SELLER_NOT_ENROLLED:
            # R66: the seller does not handle it either, but is told why and how to join
            return (Audience.BUYER, Audience.SELLER, Audience.SUPPORT)
        if facts.routed_to_support:
            return (Audience.BUYER, Audience.SUPPORT)  # R6: the seller does not handle it
        return (Audience.SELLER, Audience.BUYER)  # R7
    if rule.audiences == _COUNTERPART:
        if acting == Audience.BUYER:
            return (Audience.SELLER,)
        if acting == Audience.SELLER:
            return (Audience.BUYER,)
        return _BOTH
    assert isinstance(rule.audiences, tuple)
    return rule.audiences


def _inbox_touches(
    facts: RequestFacts,
    name: str,
    rule: Rule,
    acting: str,
    audiences: tuple[Audience, ...],
) -> tuple[InboxTouch, ...]:
    """Both parties' conversations move with every step; a party hears of it only once notified
    (a routed request reaches the seller's inbox with support's decision)."""
    parties: list[Audience] = [Audience.BUYER]
    if Audience.SELLER in audiences or not (name == "opened" and facts.routed_to_support):
        parties.append(Audience.SELLER)
    touches = []
    for party in parties:
        is_buyer = party == Audience.BUYER
        touches.append(
            InboxTouch(
                user_id=facts.buyer_id if is_buyer else facts.seller_id,
                role=party,
                counterpart_id=facts.seller_id if is_buyer else facts.buyer_id,
                unread=False if acting == party else (True if party in audiences else None),
                unarchive=rule.carries_message,
                is_message=rule.carries_message,
            )
        )
    return tuple(touches)


# --- reminders -----------------------------------------------------------------------------------


def remind_at(due_at: datetime, lead: timedelta, scheduled_at: datetime | None) -> datetime | None:
    """When to remind of a deadline `lead` ahead; None when that moment is not after the event that
    set the deadline (the event's own notification already told the party)."""
    moment = due_at - lead
    if scheduled_at is not None and moment <= scheduled_at:
        return None
    return moment


def reminder_due(remind: datetime, due_at: datetime, now: datetime) -> bool:
    """A reminder is sent once its moment came and only while its deadline is still ahead."""
    return remind <= now < due_at


def reminder_delivery(facts: RequestFacts, kind: ReminderKind, support_id: str) -> Delivery:
    audience = REMINDER_AUDIENCE[kind]
    return Delivery(
        facts.party(audience, support_id),
        audience,
        reminder_notification_kind(kind),
        BOTH_CHANNELS,
    )


# --- addresses and locales -------------------------------------------------------------------------

LOCALES = ("en", "nl")
DEFAULT_LOCALE = "en"


def email_address(user_id: str, configured: str | None, domain: str) -> str:
    """[decided] `<user_id>@<domain>` unless the user's settings give an address."""
    if configured:
        return configured
    local = "".join(c if c.isalnum() or c in "._-+" else "_" for c in user_id) or "user"
    return f"{local}@{domain}"
