"""`POST /v1/support-requests/{request_id}/assign` (issue 19): a support agent takes a request
waiting on support, so that two agents do not decide the same case.

Body optional: `{"agent_id": "agent-7"}` assigns another agent; without it the caller takes the
request. Answers the request's state (with `assigned_to`); 409 when the request is not waiting on
support, 403 for any role but support. Assigning the agent already on it changes nothing (no event),
so the call is idempotent. The event `agent_assigned` is in the history and on
`seller-support.requests.v1`; the support queue (services/search) shows the assignee.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from services.requests.http.dependencies import Claim, Requests, Support, actor
from services.requests.http.examples import ASSIGNMENT_EXAMPLES
from services.requests.http.routes import COMMAND, REQUEST_PATH
from services.requests.http.schemas import Assignment
from services.requests.http.views import state_response

router = APIRouter(prefix="/v1", tags=["support requests"])


@router.post(REQUEST_PATH + "/assign", **COMMAND, summary="Support assigns an agent to a request")
def assign_agent(
    request_id: str,
    agent: Support,
    requests: Requests,
    claim: Claim,
    body: Annotated[Assignment | None, Body(openapi_examples=ASSIGNMENT_EXAMPLES)] = None,
) -> Response:
    agent_id = None if body is None else body.agent_id
    assigned = requests.assign_agent(request_id, actor(agent), agent_id=agent_id, claim=claim)
    return state_response(assigned, claim, agent.role, requests.clock.now())
