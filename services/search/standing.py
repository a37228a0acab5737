"""Account standing (R69; R8: missing the 48 business hours "can affect your account status"): the pure
rules. No I/O.

Over the seller's requests opened in the last `months` calendar months (`window`), leaving out the
requests routed to support at opening (R6, R66: never the seller's to answer):

- `answered_in_time`: the share of the requests whose answer is settled that the seller answered
  within the response deadline (R8, 48 business hours). A request is **in time** when its first
  response came by its deadline and the seller missed no later response deadline (R18); **missed**
  when a response deadline passed unanswered or the first response came late; **pending** (neither)
  while it is still inside its deadline with no answer yet;
- `escalated_unanswered`: how many the buyer escalated because the seller had not answered (R19,
  escalation ground `no_response`);
- `overturned`: how many support decided against the seller after the buyer escalated (R44: a
  refund charged to the seller).

Each figure is compared with its standard (settings) as `exceeds`, `meets` or `below`. Satisfaction
(R46) is never read, and nothing but these three facts moves standing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Answer(StrEnum):
    """How a request counts in `answered_in_time` (the list filter `answer`)."""

    IN_TIME = "in_time"
    MISSED = "missed"
    PENDING = "pending"  # inside its deadline, not answered yet: counts as neither


class Figure(StrEnum):
    ANSWERED_IN_TIME = "answered_in_time"
    ESCALATED_UNANSWERED = "escalated_unanswered"
    OVERTURNED = "overturned"


class State(StrEnum):
    EXCEEDS = "exceeds"
    MEETS = "meets"
    BELOW = "below"


@dataclass(frozen=True)
class Standards:
    """The standards (settings `SUPPORT_SEARCH_STANDING_*`): a share to reach (higher is better)
    and counts not to pass (lower is better), each with the better level that `exceeds` it."""

    months: int = 3
    answered_share: float = 0.90
    answered_share_exceeds: float = 0.98
    escalated_unanswered_max: int = 2
    escalated_unanswered_exceeds_max: int = 0
    overturned_max: int = 2
    overturned_exceeds_max: int = 0


def answer_of(
    *, routed: bool, responded_in_time: bool | None, missed_deadline: bool
) -> Answer | None:
    """A request's class in `answered_in_time` (None: routed, not the seller's)."""
    if routed:
        return None
    if missed_deadline or responded_in_time is False:
        return Answer.MISSED
    if responded_in_time:
        return Answer.IN_TIME
    return Answer.PENDING


def share_state(share: float | None, standards: Standards) -> State:
    """No settled request: nothing held against the seller (meets)."""
    if share is None:
        return State.MEETS
    if share >= standards.answered_share_exceeds:
        return State.EXCEEDS
    return State.MEETS if share >= standards.answered_share else State.BELOW


def count_state(count: int, meets_max: int, exceeds_max: int) -> State:
    if count <= exceeds_max:
        return State.EXCEEDS
    return State.MEETS if count <= meets_max else State.BELOW


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months earlier (the last day of a shorter
    month: 31 May minus 3 months is 28 or 29 February)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def figures(
    *, in_time: int, missed: int, escalated_unanswered: int, overturned: int, standards: Standards
) -> list[dict[str, object]]:
    """The three figures with their standards and states (without their list URLs)."""
    settled = in_time + missed
    share = None if settled == 0 else round(in_time / settled, 4)
    return [
        {
            "name": str(Figure.ANSWERED_IN_TIME),
            "value": share,
            "standard": standards.answered_share,
            "exceeds_at": standards.answered_share_exceeds,
            "state": str(share_state(share, standards)),
            "count": in_time,
            "of": settled,
        },
        {
            "name": str(Figure.ESCALATED_UNANSWERED),
            "value": escalated_unanswered,
            "standard": standards.escalated_unanswered_max,
            "exceeds_at": standards.escalated_unanswered_exceeds_max,
            "state": str(
                count_state(
                    escalated_unanswered,
                    standards.escalated_unanswered_max,
                    standards.escalated_unanswered_exceeds_max,
                )
            ),
        },
        {
            "name": str(Figure.OVERTURNED),
            "value": overturned,
            "standard": standards.overturned_max,
            "exceeds_at": standards.overturned_exceeds_max,
            "state": str(
                count_state(overturned, standards.overturned_max, standards.overturned_exceeds_max)
            ),
        },
    ]
