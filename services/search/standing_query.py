"""A seller's account standing (R69) read from the search projection: one aggregate over the
seller's requests opened in the window (index `ix_search_seller_opened`), and the list query of the
requests behind each figure (`GET /v1/support-requests` with the same filters: `answer`,
`escalated_unanswered`, `overturned`). The rules are services/search/standing.py; the SQL classes
below are the same as `standing.answer_of` (a Hypothesis test checks them against a direct count).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.engine import Engine

from services.search import store
from services.search.standing import Answer, Figure, Standards, figures, months_before

_r = store.requests.c

ROUTED = _r.seller_response_due.is_(None)  # routed to support at opening: never the seller's
MISSED = and_(not_(ROUTED), or_(_r.missed_deadline.is_(true()), _r.responded_in_time.is_(False)))
IN_TIME = and_(not_(ROUTED), _r.responded_in_time.is_(true()), _r.missed_deadline.is_not(true()))
PENDING = and_(not_(ROUTED), not_(MISSED), not_(IN_TIME))
ANSWER_CONDITIONS = {Answer.IN_TIME: IN_TIME, Answer.MISSED: MISSED, Answer.PENDING: PENDING}


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def standing_statement(seller_id: str, since: datetime, until: datetime) -> Any:
    """The one aggregate behind a seller's standing (bench/programme.py times it beside its SQL)."""
    return select(
        _count(IN_TIME).label("in_time"),
        _count(MISSED).label("missed"),
        _count(and_(not_(ROUTED), _r.escalated_unanswered.is_(true()))).label(
            "escalated_unanswered"
        ),
        _count(and_(not_(ROUTED), _r.overturned.is_(true()))).label("overturned"),
    ).where(_r.seller_id == seller_id, _r.opened_at >= since, _r.opened_at < until)


def standing(engine: Engine, seller_id: str, now: datetime, standards: Standards) -> dict[str, Any]:
    until = now.astimezone(UTC)
    since = months_before(until, standards.months)
    with engine.connect() as connection:
        row = connection.execute(standing_statement(seller_id, since, until)).one()
    window = {"seller_id": seller_id, "opened_after": since.isoformat()}
    window["opened_before"] = until.isoformat()

    def link(*pairs: tuple[str, str]) -> str:
        return f"/v1/support-requests?{urlencode([*window.items(), *pairs])}"

    links = {
        Figure.ANSWERED_IN_TIME: link(("answer", Answer.IN_TIME), ("answer", Answer.MISSED)),
        Figure.ESCALATED_UNANSWERED: link(("escalated_unanswered", "true")),
        Figure.OVERTURNED: link(("overturned", "true")),
    }
    shown = figures(
        in_time=int(row.in_time),
        missed=int(row.missed),
        escalated_unanswered=int(row.escalated_unanswered),
        overturned=int(row.overturned),
        standards=standards,
    )
    for figure in shown:
        figure["requests"] = links[Figure(str(figure["name"]))]
    shown[0]["missed_requests"] = link(("answer", Answer.MISSED))
    shown[0]["pending_requests"] = link(("answer", Answer.PENDING))
    return {
        "seller_id": seller_id,
        "window": {"from": since.isoformat(), "to": until.isoformat(), "months": standards.months},
        "figures": shown,
        "evaluated_at": until.isoformat(),
    }
