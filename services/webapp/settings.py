"""Settings of the web app: `SUPPORT_WEBAPP_*`, plus the shared `SUPPORT_PRODUCTION` and
`SUPPORT_JWT_*` that decide how people sign in.

- `SUPPORT_WEBAPP_API_URL`: the public API's base URL the app calls (distributed mode: the
  gateway, e.g. `http://127.0.0.1:8000`); empty in embedded mode means the server's own address.
- `SUPPORT_WEBAPP_SESSION_SECRET`: signs the session cookie; default derived from the JWT secret
  (production with RS256 must set it).
- `SUPPORT_WEBAPP_HOST` / `SUPPORT_WEBAPP_PORT`: where `python -m services.webapp.main` listens.
- `SUPPORT_WEBAPP_SESSION_HOURS`: how long a sign-in lasts (and the minted token's lifetime).
- `SUPPORT_WEBAPP_SESSION_IDLE_SECONDS`: a session unused this long ends (default 2 hours).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import DEV_SECRET, TokenCodec


class WebAppSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORT_WEBAPP_", extra="ignore", populate_by_name=True
    )

    api_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8006, ge=0, le=65535)
    session_secret: str = ""
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # a session unused this long is forgotten on the server (services/webapp/sessions.py)
    session_idle_seconds: float = Field(default=2 * 3600, gt=0)
    api_timeout_seconds: float = Field(default=30.0, gt=0)
    # A form with files (a message's attachments, evidence): the whole body at most this large
    # (the largest attachment the API takes, a 50 MB video, plus the form's fields), this many files.
    upload_max_bytes: int = Field(default=51 * 1024 * 1024, gt=0)
    upload_max_files: int = Field(default=5, ge=1, le=50)
    # addresses/networks whose X-Forwarded-For is believed (the gateway); empty: nobody (issue 26)
    trusted_proxies: str = Field(
        default="",
        validation_alias=AliasChoices("SUPPORT_WEBAPP_TRUSTED_PROXIES", "SUPPORT_TRUSTED_PROXIES"),
    )
    production: bool = Field(
        default=False,
        validation_alias=AliasChoices("SUPPORT_WEBAPP_PRODUCTION", "SUPPORT_PRODUCTION"),
    )
    jwt_secret: str = Field(
        default=DEV_SECRET,
        validation_alias=AliasChoices("SUPPORT_WEBAPP_JWT_SECRET", "SUPPORT_JWT_SECRET"),
    )
    jwt_algorithm: Literal["HS256", "RS256"] = Field(
        default="HS256",
        validation_alias=AliasChoices("SUPPORT_WEBAPP_JWT_ALGORITHM", "SUPPORT_JWT_ALGORITHM"),
    )
    jwt_private_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SUPPORT_WEBAPP_JWT_PRIVATE_KEY", "SUPPORT_JWT_PRIVATE_KEY"),
    )
    jwt_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SUPPORT_WEBAPP_JWT_PUBLIC_KEY", "SUPPORT_JWT_PUBLIC_KEY"),
    )

    def token_codec(self) -> TokenCodec:
        return TokenCodec(
            algorithm=self.jwt_algorithm,
            secret=self.jwt_secret,
            public_key=self.jwt_public_key,
            private_key=self.jwt_private_key,
        )

    def cookie_secret(self) -> str:
        if self.session_secret:
            return self.session_secret
        if self.production and self.jwt_algorithm != "HS256":
            raise ValueError("production with RS256 needs SUPPORT_WEBAPP_SESSION_SECRET")
        return hashlib.sha256(f"webapp-session:{self.jwt_secret}".encode()).hexdigest()
