"""Bearer JWT authentication shared by every service's HTTP API.

Tokens carry `sub` (the user or system id), `role` and `exp`. HS256 with a shared secret is the
default; RS256 verifies with a public key (production) and mints with the private key (dev tooling).
A service stores one `TokenCodec` on `app.state.token_codec`; the `Authenticated` dependency reads it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.bounds import ID_PATTERN, MAX_TIME, MIN_TIME
from shared.problems import ProblemError

Role = Literal["buyer", "seller", "support", "auditor", "admin", "platform"]
ROLES: tuple[str, ...] = get_args(Role)

DEV_SECRET = "dev-insecure-secret-do-not-use-in-production"


class InvalidToken(Exception):
    """The token is missing a claim, badly signed, expired or otherwise unusable."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and role."""

    role: str
    sub: str

    @property
    def id(self) -> str:
        return self.sub

    def __str__(self) -> str:
        return f"{self.role}:{self.sub}"


@dataclass(frozen=True)
class TokenCodec:
    algorithm: Literal["HS256", "RS256"] = "HS256"
    secret: str = DEV_SECRET
    public_key: str | None = None
    private_key: str | None = None
    leeway_seconds: int = 10

    def _signing_key(self) -> str:
        if self.algorithm == "HS256":
            return self.secret
        if not self.private_key:
            raise InvalidToken("RS256 needs SUPPORT_JWT_PRIVATE_KEY to mint tokens")
        return self.private_key

    def _verifying_key(self) -> str:
        if self.algorithm == "HS256":
            return self.secret
        if not self.public_key:
            raise InvalidToken("RS256 needs SUPPORT_JWT_PUBLIC_KEY to verify tokens")
        return self.public_key

    def encode(
        self,
        *,
        sub: str,
        role: str,
        ttl: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
        if not valid_subject(sub):
            raise ValueError(f"a token's subject must be an id: {SUBJECT_RULE}")
        issued = now or datetime.now(UTC)
        claims = {"sub": sub, "role": role, "iat": issued, "exp": issued + ttl}
        return jwt.encode(claims, self._signing_key(), algorithm=self.algorithm)

    def decode(self, token: str) -> Principal:
        """A token's signature and claims are verified once (and remembered); its expiry is
        checked on every use. Clients send the same token with request after request, and
        verifying it was a few percent of a command's CPU."""
        principal, expires = _verified(self, token)
        if time.time() > expires + self.leeway_seconds:
            raise InvalidToken("the token has expired; get a new one")
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._verifying_key(),
                algorithms=[self.algorithm],
                options={"require": ["sub", "role", "exp"]},
                leeway=self.leeway_seconds,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired; get a new one") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is not valid: {error}") from None
        except (OverflowError, ValueError, TypeError) as error:  # e.g. an `iat` of 10**400
            raise InvalidToken(f"the token's claims are not valid: {error}") from None
        for claim in ("exp", "iat", "nbf"):
            # RFC 7519 NumericDate: a JSON number, here bounded like every time (shared/bounds);
            # PyJWT alone takes "exp": "99999999999" and 10**400 (which then overflowed a float).
            value = claims.get(claim)
            if value is None and claim != "exp":
                continue
            if not _numeric_date(value):
                raise InvalidToken(
                    f"the token's {claim} must be a number of seconds between "
                    f"{MIN_TIME.isoformat()} and {MAX_TIME.isoformat()}"
                )
        role, sub = claims.get("role"), claims.get("sub")
        if role not in ROLES:
            raise InvalidToken(f"the token's role {role!r} is unknown; one of: {', '.join(ROLES)}")
        if not valid_subject(sub):
            # bounded like every id (shared/bounds): the subject reaches events, pages and CSV
            # exports, where `=HYPERLINK(...)` or a line break must never arrive (issue 26)
            raise InvalidToken(f"the token's subject must be an id: {SUBJECT_RULE}")
        return Principal(role=role, sub=sub), float(claims["exp"])


SUBJECT_RULE = "1-128 letters, digits and . _ : @ - (first a letter or digit)"
_SUBJECT = re.compile(ID_PATTERN)


def valid_subject(sub: Any) -> bool:
    return isinstance(sub, str) and _SUBJECT.fullmatch(sub) is not None


def _numeric_date(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and MIN_TIME.timestamp() <= value < MAX_TIME.timestamp()
    )


@functools.lru_cache(maxsize=4096)
def _verified(codec: TokenCodec, token: str) -> tuple[Principal, float]:
    """Only tokens that verified are remembered (an exception is not cached)."""
    return codec._verify(token)


def codec_of(app: Any) -> TokenCodec:
    codec = getattr(app.state, "token_codec", None)
    if codec is None:
        raise RuntimeError("app.state.token_codec is not set: build the app with its lifespan")
    return codec


_bearer = HTTPBearer(auto_error=False, description="a JWT from `seller-support token`")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="seller-support"'}


PRINCIPAL_SCOPE_KEY = "seller_support.principal"
"""Where a middleware that already verified the request's bearer token leaves its `(token,
Principal)`, so the route's dependency does not verify the same token a second time."""


async def principal_from_request(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # `async def` without awaiting anything: a plain `def` dependency costs a thread-pool hop.
    if credentials is None:
        raise ProblemError(
            401,
            "send `Authorization: Bearer <token>`; `seller-support token --role ROLE --sub ID` "
            "prints one for local use",
            slug="unauthenticated",
            headers=_CHALLENGE,
        )
    verified = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if verified is not None and verified[0] == credentials.credentials:
        return verified[1]
    try:
        return codec_of(request.app).decode(credentials.credentials)
    except InvalidToken as error:
        raise ProblemError(
            401,
            str(error),
            slug="invalid-token",
            headers={"WWW-Authenticate": 'Bearer realm="seller-support", error="invalid_token"'},
        ) from None


Authenticated = Annotated[Principal, Depends(principal_from_request)]


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller's principal, or None without an `Authorization` header (public reads); a token
    that is sent must still be valid (401 otherwise)."""
    if credentials is None:
        return None
    return await principal_from_request(request, credentials)


MaybeAuthenticated = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 for any other)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    async def check(principal: Authenticated) -> Principal:
        if principal.role not in roles:
            raise ProblemError(
                403,
                f"a {principal.role} may not do this; it is for: {', '.join(roles)}",
                slug="wrong-role",
            )
        return principal

    return check
