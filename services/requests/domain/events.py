"""The published names and data of the aggregate's events (API.md, the CloudEvents `type`): derived
from the event classes, so an event is named once, where the aggregate declares it. Pure, so the
outbox and the auditing read them without the application."""

from __future__ import annotations

import re
from typing import Any

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def event_name(domain_event: Any) -> str:
    """`SupportRequest.FullRefundOffered` -> `full_refund_offered` (API.md, CloudEvents type)."""
    return event_name_of_class(type(domain_event).__name__)


def event_name_of_class(class_name: str) -> str:
    return _CAMEL.sub("_", class_name).lower()


def event_data(domain_event: Any) -> dict[str, Any]:
    data = {k: v for k, v in domain_event.__dict__.items() if k not in _ENVELOPE_FIELDS}
    data.pop("at", None)
    data.pop("actor", None)
    return data
