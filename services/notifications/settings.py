"""Settings of the notifications service: environment variables `SUPPORT_NOTIFICATIONS_*`.

- `SUPPORT_NOTIFICATIONS_DATABASE_URL`: SQLAlchemy URL of the service's own database (SQLite or
  PostgreSQL); default `sqlite:///<data dir>/notifications.db`.
- `SUPPORT_DATA_DIR` (or `SUPPORT_NOTIFICATIONS_DATA_DIR`): the data folder (default `./var`); the
  local SMTP server stores received mail under `<data dir>/mail/`.
- `SUPPORT_SMTP_URL` (or `SUPPORT_NOTIFICATIONS_SMTP_URL`): where e-mail goes,
  `smtp://[user:password@]host:port` (plain, opportunistic STARTTLS is not attempted),
  `smtp+starttls://…` or `smtps://…`; default `smtp://127.0.0.1:8025`, the local server of
  `python -m services.notifications.smtp_server`.
- `SUPPORT_PUBLIC_URL`: the origin e-mails link to (the web app's request page,
  `<origin>/app/requests/<id>`); default `http://<SUPPORT_HOST>:<SUPPORT_PORT>`.
- `SUPPORT_NOTIFICATIONS_REMINDER_LEAD`: ISO 8601 duration before a deadline at which its reminder
  is sent (default `PT12H`, calendar time).
- `SUPPORT_NOTIFICATIONS_SENDER`, `…_EMAIL_DOMAIN`, `…_SUPPORT_TEAM_ID`, `…_SEND_MAX_ATTEMPTS`,
  `…_SEND_BACKOFF_INITIAL`, `…_SEND_BACKOFF_MAX`, `…_SMTP_TIMEOUT_SECONDS`,
  `…_STREAM_POLL_SECONDS`, `…_STREAM_HEARTBEAT_SECONDS`, `…_INTERVAL_SECONDS`: see the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SMTP_URL = "smtp://127.0.0.1:8025"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "plain" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
    if security is None:
        raise ValueError(f"SMTP URL must start with smtp://, smtp+starttls:// or smtps://: {url!r}")
    if not parts.hostname:
        raise ValueError(f"SMTP URL needs a host: {url!r}")
    default_port = {"plain": 25, "starttls": 587, "ssl": 465}[security]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class NotificationsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORT_NOTIFICATIONS_", extra="ignore", populate_by_name=True
    )

    database_url: str | None = None
    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("SUPPORT_NOTIFICATIONS_DATA_DIR", "SUPPORT_DATA_DIR"),
    )
    smtp_url: str = Field(
        default=DEFAULT_SMTP_URL,
        validation_alias=AliasChoices("SUPPORT_NOTIFICATIONS_SMTP_URL", "SUPPORT_SMTP_URL"),
    )
    sender: str = "Seller Support <no-reply@seller-support.invalid>"
    # [decided] A user's address is `<user_id>@<email_domain>` unless their settings give one.
    email_domain: str = "users.seller-support.invalid"
    # The platform support team is one recipient (its shared inbox), notified of escalations.
    support_team_id: str = "support-team"
    # Links in notifications open the request's page in the web app under this origin
    # (`SUPPORT_PUBLIC_URL`); default: the server's own address and port (SUPPORT_HOST/PORT).
    public_base_url: str = Field(
        default="",
        validation_alias=AliasChoices(
            "SUPPORT_PUBLIC_URL", "SUPPORT_NOTIFICATIONS_PUBLIC_BASE_URL", "public_base_url"
        ),
    )
    server_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("SUPPORT_HOST"))
    server_port: int = Field(default=8000, validation_alias=AliasChoices("SUPPORT_PORT"))
    reminder_lead: timedelta = Field(default=timedelta(hours=12), gt=timedelta(0))
    send_max_attempts: int = Field(default=8, ge=1)
    send_backoff_initial: timedelta = Field(default=timedelta(seconds=2), gt=timedelta(0))
    send_backoff_max: timedelta = Field(default=timedelta(minutes=15), gt=timedelta(0))
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    stream_poll_seconds: float = Field(default=1.0, gt=0)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    interval_seconds: float = Field(default=1.0, gt=0)  # the embedded pump/reminder/mail loop
    consumer_name: str = "notifications"

    @model_validator(mode="after")
    def _default_public_url(self) -> NotificationsSettings:
        if not self.public_base_url:
            host = "127.0.0.1" if self.server_host in ("0.0.0.0", "::", "") else self.server_host
            self.public_base_url = f"http://{host}:{self.server_port}"
        return self

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: str) -> str:
        parse_smtp_url(value)
        return value

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'notifications.db').resolve()}"

    @property
    def smtp(self) -> SmtpTarget:
        return parse_smtp_url(self.smtp_url)

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"


class SmtpServerSettings(BaseSettings):
    """The local SMTP server (`python -m services.notifications.smtp_server`): `SUPPORT_SMTP_HOST`
    (default 127.0.0.1), `SUPPORT_SMTP_PORT` (default 8025), `SUPPORT_DATA_DIR` (mail is stored
    under `<data dir>/mail/`)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8025, ge=0, le=65535)
    data_dir: Path = Field(default=Path("var"), validation_alias=AliasChoices("SUPPORT_DATA_DIR"))
