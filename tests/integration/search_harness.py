"""The search projection fed in process from a requests application, as services/embedded.py does
(without the other projections), on the test's backend."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from services.requests.application import RequestsApplication
from services.requests.http.views import request_view
from services.requests.outbox.publishing import read_messages
from services.search.application import SearchApplication, Viewer
from services.search.main import open_search_at
from shared.transport.notification_log import NotificationLogFeed

SUPPORT = Viewer("support", "agent-1")
AUDITOR = Viewer("auditor", "auditor-1")

# The list item's fields that are the requests service's own state fields (API.md, plus the
# assignee of issue 19).
STATE_FIELDS = (
    "id",
    "order_id",
    "buyer_id",
    "seller_id",
    "item_ids",
    "reason",
    "status",
    "resolution",
    "version",
    "opened_at",
    "deadlines",
    "offer",
    "return",
    "escalated",
    "refund",
    "assigned_to",
)


def search_url(database_url: str, folder: Path) -> str:
    """SQLite: a file of its own; PostgreSQL: the test's schema."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{folder}/search.db"
    return database_url


class SearchSystem:
    """The requests application and the search projection, pumped on demand."""

    def __init__(self, app: RequestsApplication, url: str, clock: Any) -> None:
        self.app, self.clock = app, clock
        self.search: SearchApplication = open_search_at(url, clock)
        self.feed = NotificationLogFeed(
            lambda start, limit: read_messages(app, start, limit), [self.search.projection]
        )

    def tick(self) -> None:
        self.feed.pump()

    def advance(self, hours: float) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.app.fire_due()
        self.tick()

    def close(self) -> None:
        self.search.close()


def normal(value: Any) -> Any:
    """ISO strings and datetimes alike, as UTC ISO text; nested values recursively."""
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None and ("T" in value or " " in value):
            return moment.astimezone(UTC).isoformat()
        return value
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    return value


def state_of(app: RequestsApplication, request_id: Any) -> dict[str, Any]:
    from services.requests.application import Actor

    view = request_view(
        app.get_request(request_id, Actor("auditor", "auditor-1")), "auditor", app.clock.now()
    )
    return {name: normal(view[name]) for name in STATE_FIELDS}


def item_state(item: dict[str, Any]) -> dict[str, Any]:
    return {name: normal(item[name]) for name in STATE_FIELDS}


def caught_up(app: Any, timeout_s: float = 15.0) -> None:
    """Wait until the embedded app's pump loop has applied every stored event to the search
    projection (calling the pump from the test as well would race the loop's own)."""
    import time

    head = app.state.requests.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout_s
    while app.state.search.projection.position() < head:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the search projection did not reach log position {head}")
        time.sleep(0.05)
