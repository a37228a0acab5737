"""The requests API's vocabularies are the domain's (issue 17, "every vocabulary spelled once"): the
seller response bodies are one table keyed by `ResponseType`, each body's `type` tag is its key, every
type has an OpenAPI example, and the state's enumerations are the domain enums' values, in order.
Pure: models and their JSON Schemas, no I/O."""

from __future__ import annotations

import pytest

from services.requests.domain import Outcome, Reason, Resolution, ResponseType, Status, Thumbs
from services.requests.http.examples import RESPONSE_EXAMPLES
from services.requests.http.schemas import (
    RESPONSE_BODIES,
    Decision,
    Feedback,
    OpenRequest,
    RequestState,
)


def test_every_seller_response_type_has_exactly_one_body_model() -> None:
    # given the domain's response types, when the API's body table is read, then it has each once
    assert list(RESPONSE_BODIES) == list(ResponseType)
    assert len(set(RESPONSE_BODIES.values())) == len(ResponseType)


@pytest.mark.parametrize("kind", list(ResponseType))
def test_a_response_body_is_tagged_with_its_own_type(kind: ResponseType) -> None:
    # given the body model of a response type, then its discriminator accepts that type only
    schema = RESPONSE_BODIES[kind].model_json_schema()
    assert schema["properties"]["type"]["const"] == kind.value


@pytest.mark.parametrize("kind", list(ResponseType))
def test_every_seller_response_type_has_an_openapi_example_of_that_type(
    kind: ResponseType,
) -> None:
    example = RESPONSE_EXAMPLES[kind]["value"]
    assert example["type"] == kind.value
    # and the example is a valid body of that type
    RESPONSE_BODIES[kind].model_validate(example)


def _enum(schema: dict, field: str) -> list[str]:
    prop = schema["properties"][field]
    options = prop.get("anyOf", [prop])
    return next(o["enum"] for o in options if "enum" in o)


def test_state_and_command_vocabularies_are_the_domain_enums_in_order() -> None:
    state = RequestState.model_json_schema()
    assert _enum(state, "status") == [s.value for s in Status]
    assert _enum(state, "resolution") == [r.value for r in Resolution]
    assert _enum(state, "feedback") == [t.value for t in Thumbs]
    assert _enum(OpenRequest.model_json_schema(), "reason") == [r.value for r in Reason]
    assert _enum(Decision.model_json_schema(), "outcome") == [o.value for o in Outcome]
    assert _enum(Feedback.model_json_schema(), "thumbs") == [t.value for t in Thumbs]
