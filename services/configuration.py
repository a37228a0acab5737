"""`seller-support config`: the effective settings of every service, as each service would read them
from the `SUPPORT_*` environment now, with secrets masked.

Masked: every field named in `SECRET_FIELDS` (set or not, its value never shows) and the password
of every URL-shaped value (database URLs, the SMTP URL). A settings class that does not validate
shows its errors instead of values, so the command still tells what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from services.ledger.settings import LedgerSettings
from services.notifications.settings import NotificationsSettings, SmtpServerSettings
from services.ratings.settings import RatingsSettings
from services.requests.settings import KafkaProcessSettings, ProgrammeSettings, Settings
from services.search.settings import SearchSettings
from services.webapp.settings import WebAppSettings
from shared.settings import LoggingSettings, ProcessSettings, ProjectionDatabases

MASK = "***"

# Fields whose whole value is a secret.
SECRET_FIELDS = frozenset({"jwt_secret", "jwt_private_key", "session_secret"})

# name -> a settings class: one per service (the requests one also configures the embedded
# system), the requests service's Kafka processes, the local SMTP server, and the shared ones
# (shared/settings.py). Every pydantic-settings class of the system is here.
SERVICES: dict[str, Callable[[], BaseSettings]] = {
    "requests": Settings,
    "requests_kafka": KafkaProcessSettings,
    "programme": ProgrammeSettings,
    "ledger": LedgerSettings,
    "ratings": RatingsSettings,
    "notifications": NotificationsSettings,
    "smtp_server": SmtpServerSettings,
    "search": SearchSettings,
    "webapp": WebAppSettings,
    "process": ProcessSettings,
    "projection_databases": ProjectionDatabases,
    "logging": LoggingSettings,
}


def mask_url(value: str) -> str:
    """`scheme://user:password@host/…` -> `scheme://user:***@host/…`; anything else unchanged."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or parts.password is None:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def masked(values: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if name in SECRET_FIELDS:
            shown[name] = MASK if value else value
        elif isinstance(value, str):
            shown[name] = mask_url(value)
        else:
            shown[name] = value
    return shown


def effective_settings() -> dict[str, Any]:
    """Each service's settings as JSON values, secrets masked."""
    result: dict[str, Any] = {}
    for service, settings_class in SERVICES.items():
        try:
            settings = settings_class()
        except ValidationError as error:
            result[service] = {"invalid": [e["msg"] for e in error.errors()]}
            continue
        result[service] = masked(settings.model_dump(mode="json"))
    return result
