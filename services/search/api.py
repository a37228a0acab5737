"""Search API (docs/search.md): finding requests, the support queue, seller performance.

- `GET /v1/support-requests` — buyers (the requests they opened), sellers (the requests about
  their sales), support and auditors (all). Filters, sort, keyset cursor, `limit` <= 200; a page is
  `{"items": [...], "next_cursor": "…" | null}`. With `Accept: text/csv` the whole result (from the
  cursor on) streams as CSV, a header row of the item's field names, `id` first.
- `GET /v1/support/queue` — support: requests waiting on support, oldest wait first, with the
  business hours waited, the grounds, the assignee and the SLA.
- `GET /v1/sellers/{seller_id}/performance` — that seller, support, auditors: the last 90 days.

The composition puts the `SearchApplication` on `app.state.search` (services/embedded.py, or
services/search/main.py standalone). Errors are raised as `ProblemError`s here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.search.application import (
    LIST_ROLES,
    PERFORMANCE_ROLES,
    Forbidden,
    InvalidQuery,
    ListQuery,
    QueueQuery,
    SearchApplication,
    Viewer,
)
from services.search.domain import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    MAX_LIMIT,
    SORTS,
    EscalatedBy,
    Reason,
    Resolution,
    Status,
    WaitingOn,
)
from services.search.standing import Answer
from shared.auth import Principal, require_roles
from shared.consistency import reflecting_projection_of
from shared.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["search"])
# API.md: a read given a command's Consistency-Token answers once it reflects it
READS_OWN_WRITES = reflecting_projection_of("search")

Lister = Annotated[Principal, Depends(require_roles(*LIST_ROLES))]
Agent = Annotated[Principal, Depends(require_roles("support"))]
PerformanceReader = Annotated[Principal, Depends(require_roles(*PERFORMANCE_ROLES))]

Sort = StrEnum("Sort", {s.replace("-", "minus_"): s for s in SORTS})  # type: ignore[misc]
Id = Annotated[str | None, Query(min_length=1, max_length=200)]
Flag = Annotated[bool | None, Query()]
CSV = "text/csv"


async def search_application(request: Request) -> SearchApplication:
    search = getattr(request.app.state, "search", None)
    if search is None:
        raise ProblemError(503, "the search service is not ready yet; retry shortly")
    return search


Search = Annotated[SearchApplication, Depends(search_application)]


class Deadlines(BaseModel):
    seller_response: datetime | None
    offer_answer: datetime | None
    return_dropoff: datetime | None
    return_inspection: datetime | None
    replacement_ship: datetime | None
    no_refund_close: datetime | None
    return_for_refund: datetime | None = Field(
        default=None,
        description="R16: until when the buyer may return the original of an overdue replacement",
    )


class RequestItem(BaseModel):
    """The state fields of API.md, plus who the request waits on, its next deadline, its last
    activity and the support agent assigned to it."""

    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    item_ids: list[str]
    reason: str
    status: str
    resolution: str | None
    version: int
    opened_at: datetime
    deadlines: Deadlines
    offer: dict[str, Any] | None
    return_: dict[str, Any] | None = Field(alias="return")
    escalated: bool
    refund: dict[str, Any] | None
    waiting_on: Literal[tuple(w.value for w in WaitingOn)]  # type: ignore[valid-type]
    next_deadline: datetime | None
    last_activity_at: datetime
    assigned_to: str | None
    overdue: list[str] = Field(
        default_factory=list,
        description="the kinds of the deadlines in view that have passed (they sort first by due_at)",
    )

    model_config = ConfigDict(populate_by_name=True)


class Page(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "next_cursor": None}]})

    items: list[RequestItem]
    next_cursor: str | None = Field(
        description="opaque; pass as `cursor` with the same filters and sort for the next page"
    )


class Sla(BaseModel):
    target_business_hours: int
    due_at: datetime
    breached: bool


class QueueItem(RequestItem):
    waiting_since: datetime
    business_hours_waited: float
    escalated_by: str | None
    grounds: list[str]
    escalation_reason: str | None
    sla: Sla


class Queue(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None
    sla_target_business_hours: int
    waiting: int = Field(description="requests waiting on support in all")
    breaches: int = Field(description="of which past the SLA target")


class Figure(BaseModel):
    count: int
    link: str = Field(description="the list query of the requests behind the figure")


class Share(Figure):
    of: int = Field(
        description="requests with a seller response deadline that were answered or whose deadline passed (one still inside it is not counted yet)"
    )
    share: float | None


class Hours(BaseModel):
    responses: int
    median: float | None
    p90: float | None
    link: str


class Window(BaseModel):
    days: int
    from_: datetime = Field(alias="from")
    to: datetime


class StandingWindow(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    months: int


class StandingFigure(BaseModel):
    """One figure of R69 against its standard."""

    name: str = Field(description="answered_in_time | escalated_unanswered | overturned")
    value: float | int | None = Field(
        description="answered_in_time: the share (null: nothing settled yet); the others: a count"
    )
    standard: float | int = Field(
        description="answered_in_time: the share to reach; the others: the most allowed"
    )
    exceeds_at: float | int = Field(description="the better level that exceeds the standard")
    state: str = Field(description="exceeds | meets | below")
    requests: str = Field(description="the list URL of the requests behind the figure")
    count: int | None = None
    of: int | None = None
    missed_requests: str | None = None
    pending_requests: str | None = None


class Standing(BaseModel):
    seller_id: str
    window: StandingWindow
    figures: list[StandingFigure]
    evaluated_at: str = Field(description='"if evaluated today": the moment of this evaluation')


class Performance(BaseModel):
    seller_id: str
    window: Window
    received: Figure
    responded_within_deadline: Share
    first_response_business_hours: Hours
    missed_deadlines: Figure
    escalations: Figure
    support_overturns: Figure


def _problem(error: Exception) -> ProblemError:
    if isinstance(error, InvalidQuery):
        return ProblemError(422, str(error), slug="invalid-query", parameter=error.parameter)
    return ProblemError(403, str(error), slug="forbidden")


@router.get(
    "/support-requests",
    dependencies=[READS_OWN_WRITES],
    responses={
        **problem_responses(401, 403, 422),
        200: {"content": {CSV: {"schema": {"type": "string"}}}},
    },
    response_model=Page,
    response_model_by_alias=True,
    summary="Find support requests (buyers: theirs; sellers: their sales'; support, auditors: all)",
)
def list_requests(
    request: Request,
    caller: Lister,
    search: Search,
    status: Annotated[list[Status] | None, Query(description="repeatable")] = None,
    reason: Annotated[Reason | None, Query()] = None,  # type: ignore[valid-type]
    resolution: Annotated[Resolution | None, Query()] = None,
    seller_id: Id = None,
    buyer_id: Id = None,
    order_id: Id = None,
    escalated: Flag = None,
    escalated_by: Annotated[EscalatedBy | None, Query()] = None,
    buyer_escalated: Flag = None,
    waiting_on: Annotated[WaitingOn | None, Query()] = None,
    assigned_to: Id = None,
    due_before: Annotated[AwareDatetime | None, Query(description="next deadline before")] = None,
    opened_after: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    opened_before: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    responded: Flag = None,
    responded_in_time: Flag = None,
    missed_deadline: Flag = None,
    overturned: Flag = None,
    escalated_unanswered: Flag = None,
    answer: Annotated[
        list[Answer] | None,
        Query(description="repeatable; R69 standing: in_time, missed, pending"),
    ] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    sort: Annotated[Sort, Query()] = Sort(DEFAULT_SORT),  # type: ignore[valid-type]  # noqa: B008
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
) -> Any:
    query = ListQuery(
        status=tuple(str(s) for s in status or ()),
        reason=None if reason is None else str(reason),
        resolution=None if resolution is None else str(resolution),
        seller_id=seller_id,
        buyer_id=buyer_id,
        order_id=order_id,
        escalated=escalated,
        escalated_by=None if escalated_by is None else str(escalated_by),
        buyer_escalated=buyer_escalated,
        waiting_on=None if waiting_on is None else str(waiting_on),
        assigned_to=assigned_to,
        due_before=due_before,
        opened_after=opened_after,
        opened_before=opened_before,
        responded=responded,
        responded_in_time=responded_in_time,
        missed_deadline=missed_deadline,
        overturned=overturned,
        escalated_unanswered=escalated_unanswered,
        answer=tuple(str(a) for a in answer or ()),
        q=q,
        sort=str(sort.value),
        limit=limit,
        cursor=cursor,
    )
    viewer = Viewer(role=caller.role, id=caller.sub)
    try:
        if CSV in request.headers.get("accept", ""):
            chunks = search.export_csv(viewer, query)
            return StreamingResponse(
                chunks,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="support-requests.csv"'},
            )
        return search.list_requests(viewer, query)
    except (InvalidQuery, Forbidden) as error:
        raise _problem(error) from None


@router.get(
    "/support/queue",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 403, 422),
    response_model=Queue,
    response_model_by_alias=True,
    summary="Requests waiting on support, oldest wait first, with the SLA (support)",
)
def support_queue(
    caller: Agent,
    search: Search,
    assigned_to: Id = None,
    unassigned: Flag = None,
    breached: Flag = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
) -> Any:
    query = QueueQuery(
        assigned_to=assigned_to,
        unassigned=unassigned,
        breached=breached,
        limit=limit,
        cursor=cursor,
    )
    try:
        return search.queue(Viewer(role=caller.role, id=caller.sub), query)
    except (InvalidQuery, Forbidden) as error:
        raise _problem(error) from None


@router.get(
    "/sellers/{seller_id}/performance",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 403, 404),
    response_model=Performance,
    response_model_by_alias=True,
    summary="A seller's response performance over the last 90 days (that seller, support, auditor)",
)
def seller_performance(seller_id: str, caller: PerformanceReader, search: Search) -> Any:
    if caller.role == "seller" and caller.sub != seller_id:
        raise ProblemError(404, f"no performance of seller {seller_id} for you", slug="not-found")
    try:
        return search.performance(seller_id, Viewer(role=caller.role, id=caller.sub))
    except Forbidden as error:
        raise _problem(error) from None


@router.get(
    "/sellers/{seller_id}/standing",
    responses=problem_responses(401, 403, 404),
    response_model=Standing,
    response_model_by_alias=True,
    summary="A seller's account standing over the last 3 months (that seller, support, auditor; R69)",
)
def seller_standing(seller_id: str, caller: PerformanceReader, search: Search) -> Any:
    if caller.role == "seller" and caller.sub != seller_id:
        raise ProblemError(404, f"no standing of seller {seller_id} for you", slug="not-found")
    try:
        return search.standing(seller_id, Viewer(role=caller.role, id=caller.sub))
    except Forbidden as error:
        raise _problem(error) from None
