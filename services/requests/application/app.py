"""`RequestsApplication`: the only writer of support-request state, put together from its use
cases (commands.py, upstream.py, timers.py, queries.py, orders.py) over the shared plumbing (core.py)."""

from __future__ import annotations

from collections.abc import Mapping

from services.requests.application.commands import Commands
from services.requests.application.core import SideTablesFactory
from services.requests.application.orders import Orders
from services.requests.application.programme import Programme
from services.requests.application.queries import Queries
from services.requests.application.remedy_fold import fold_remedies
from services.requests.application.timers import Timers
from services.requests.application.upstream import FactHandler, UpstreamFacts
from services.requests.domain.programme import ProgrammeRules
from services.requests.persistence.event_store import EVENT_STORE
from shared.clock import Clock


class RequestsApplication(Commands, UpstreamFacts, Timers, Queries, Orders, Programme):
    """The only writer of support-request state.

    `side_tables`: builds the side tables from the event store's recorder (default: SQL, in the
    events' database and transactions). `fact_handlers`: handlers of upstream facts another
    component owns, added to this service's own (upstream.py)."""

    name = "requests"

    def __init__(
        self,
        clock: Clock,
        env: dict[str, str] | None = None,
        *,
        side_tables: SideTablesFactory | None = None,
        fact_handlers: Mapping[str, FactHandler] | None = None,
    ) -> None:
        super().__init__(clock, env, side_tables=side_tables)
        self._init_fact_handlers(fact_handlers)


def open_application(
    database_url: str, clock: Clock, programme_rules: ProgrammeRules | None = None
) -> RequestsApplication:
    """The requests application on SQLite (`sqlite:///path`) or PostgreSQL (`postgresql+psycopg://…`).
    `programme_rules`: the seller programme's rollout (R66; default: complete).

    A store upgraded to R63 has its stored histories folded into the per-item remedy record before
    the first command (once per store; remedy_fold.py)."""
    application = RequestsApplication(
        clock,
        env={"PERSISTENCE_MODULE": EVENT_STORE, "SQLALCHEMY_URL": database_url},
    )
    if programme_rules is not None:
        application.programme_rules = programme_rules
    try:
        fold_remedies(application, clock.now())
    except BaseException:
        application.close()
        raise
    return application
