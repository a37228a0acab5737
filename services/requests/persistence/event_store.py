"""The requests event store: eventsourcing-sqlalchemy, with a lighter write path.

Changes to `SQLAlchemyApplicationRecorder`, each measured on a command's path in the API:

- a request's events are loaded with one Core select built once, not an ORM query built (and its
  cache key computed) per load: that was 4 % of the embedded server's CPU;
- a command's events go in with one Core `INSERT ... RETURNING id` instead of ORM objects and a
  session flush (the ORM unit of work was about a tenth of the API's CPU per command);
- no `NOTIFY` after the insert. Nothing here LISTENs (the relay and the in-process feed poll the
  notification log), and on PostgreSQL a transaction that notified takes a database-wide lock at
  commit: every command's commit would queue there a second time, besides the events-table lock.

The table lock that keeps the notification log's order equal to commit order stays, but is held for
less: at 100 commands/s five commands on average queued for it, while its holder mostly waited for
its own process (GIL) between statements. So rows that belong with the events but need no lock (the
hash chain, `before_lock`) are written before it, and on PostgreSQL the `LOCK TABLE` and the events'
`INSERT` go to the server as one query: the holder's next round trip is its `COMMIT`.

Selected with `PERSISTENCE_MODULE=services.requests.persistence.event_store:EventStoreFactory`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.orm import Session

_ON_COMMIT = "seller_support.events_committed"
_listening = False


def _after_commit(session: Session) -> None:
    callback = session.info.pop(_ON_COMMIT, None)
    if callback is not None:
        callback()


def _after_rollback(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


def _listen_for_commits() -> None:
    """One listener for every session, registered the first time a recorder wants to know: it
    calls the callback a transaction that wrote events left in `session.info` (issue 30)."""
    global _listening
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _listening = True


class EventsRecorder(SQLAlchemyApplicationRecorder):
    # Called with the transaction's session and the events about to be inserted, before the lock.
    before_lock: Callable[[Session, Sequence[StoredEvent]], None] | None = None
    # Called (from the committing thread) once a transaction that wrote events has committed:
    # the embedded projection pump is woken by it instead of polling (`call_after_commit`).
    on_commit: Callable[[], None] | None = None

    def call_after_commit(self, callback: Callable[[], None]) -> None:
        """Have `callback()` called after every commit of a transaction that wrote events; it
        must not block (it runs on the command's thread, after its commit)."""
        _listen_for_commits()
        self.on_commit = callback

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = self.events_record_cls.__table__
        self._qualified_name = (
            f"{self.schema_name}.{self.events_table_name}"
            if self.schema_name
            else self.events_table_name
        )
        self._select_all = (
            select(table.c.originator_version, table.c.topic, table.c.state)
            .where(table.c.originator_id == bindparam("b_originator_id"))
            .order_by(table.c.originator_version)
        )

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        if gt is not None or lte is not None or desc or limit is not None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        with self.transaction(commit=False) as session:
            rows = session.execute(self._select_all, {"b_originator_id": uuid}).all()
        return [
            StoredEvent(
                originator_id=uuid,
                originator_version=version,
                topic=topic,
                state=bytes(state) if isinstance(state, memoryview) else state,
            )
            for version, topic, state in rows
        ]

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        if self.before_lock is not None:
            self.before_lock(session, stored_events)
        if self.on_commit is not None:
            session.info[_ON_COMMIT] = self.on_commit
        if session.get_bind().dialect.name == "postgresql":
            return self._lock_and_insert_in_one_round_trip(session, stored_events)
        table = self.events_record_cls.__table__
        rows = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [
                {
                    "originator_id": e.originator_id,
                    "originator_version": e.originator_version,
                    "topic": e.topic,
                    "state": e.state,
                }
                for e in stored_events
            ],
        )
        return [row[0] for row in rows]

    def _lock_and_insert_in_one_round_trip(
        self, session: Session, stored_events: Sequence[StoredEvent]
    ) -> list[int]:
        """`LOCK TABLE` and one multi-row `INSERT … RETURNING id` as one query string, bound on the
        client (psycopg's `ClientCursor`), so the server gets both at once. Under the exclusive
        lock the ids are drawn in `VALUES` order, so sorted they are the events'.

        psycopg is imported here, on PostgreSQL's path only: a SQLite process never loads it
        (issue 30, ~23 MB)."""
        import psycopg
        from psycopg import ClientCursor

        values = ", ".join(["(%s, %s, %s, %s)"] * len(stored_events))
        parameters: list[Any] = []
        for e in stored_events:
            parameters += [e.originator_id, e.originator_version, e.topic, e.state]
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with ClientCursor(raw) as cursor:
            try:
                cursor.execute(
                    f"LOCK TABLE {self._qualified_name} IN EXCLUSIVE MODE; "
                    f"INSERT INTO {self._qualified_name} "
                    "(originator_id, originator_version, topic, state) "
                    f"VALUES {values} RETURNING id",
                    parameters,
                )
            except psycopg.IntegrityError as error:  # not through SQLAlchemy: map it here
                raise IntegrityError(error) from error
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                raise OperationalError(error) from error  # an outage (shared/problems.py)
            cursor.nextset()  # past the LOCK's result, to the INSERT's
            return sorted(row[0] for row in cursor.fetchall())


class EventStoreFactory(SQLAlchemyFactory):
    application_recorder_class = EventsRecorder


# The `PERSISTENCE_MODULE` that selects this event store.
EVENT_STORE = f"{__name__}:{EventStoreFactory.__qualname__}"
