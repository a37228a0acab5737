"""Use cases of the search service: the list query (scoped by role, filtered, sorted, keyset-paged),
its CSV export (streamed), the support queue with its SLA, and a seller's performance figures.

Plain values in, plain values out; no HTTP. Errors:
- `Forbidden` (403): the caller's role may not list requests, read the queue or that seller;
- `InvalidQuery` (422): a filter value, cursor or limit that cannot be used, naming the parameter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from prometheus_client import Gauge
from sqlalchemy import (
    DateTime,
    Engine,
    Select,
    String,
    and_,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)

from services.search import store
from services.search.domain import (
    DEADLINE_KINDS,
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    ITEM_FIELDS,
    MAX_LIMIT,
    SORTS,
    EscalatedBy,
    InvalidQuery,
    Reason,
    Resolution,
    Status,
    WaitingOn,
    breach_cutoff,
    business_hours_waited,
    decode_cursor,
    encode_cursor,
    percentile,
    query_fingerprint,
    query_words,
    sla_due,
)
from services.search.projection import CONSUMER, handle, row_from_db
from services.search.settings import SearchSettings
from services.search.standing import Answer
from services.search.standing_query import ANSWER_CONDITIONS
from services.search.standing_query import standing as standing_of
from shared.clock import Clock
from shared.migrations import ensure_schema
from shared.spreadsheet import safe_row
from shared.transport.projection import Projection

LIST_ROLES = ("buyer", "seller", "support", "auditor")
QUEUE_ROLES = ("support",)
PERFORMANCE_ROLES = ("seller", "support", "auditor")

QUEUE_WAITING = Gauge(
    "seller_support_support_queue_waiting",
    "requests waiting on support (escalated, disputed return, routed at opening), as of the last "
    "queue read or refresh",
)
QUEUE_BREACHES = Gauge(
    "seller_support_support_queue_sla_breaches",
    "requests waiting on support longer than the SLA target (business hours), as of the last "
    "queue read or refresh",
)


class Forbidden(PermissionError):
    """The caller's role may not do this (403)."""


@dataclass(frozen=True)
class Viewer:
    role: str
    id: str


@dataclass(frozen=True)
class ListQuery:
    """Every filter of `GET /v1/support-requests` (None / empty: not filtered)."""

    status: tuple[str, ...] = ()
    reason: str | None = None
    resolution: str | None = None
    seller_id: str | None = None
    buyer_id: str | None = None
    order_id: str | None = None
    escalated: bool | None = None
    escalated_by: str | None = None
    buyer_escalated: bool | None = None
    waiting_on: str | None = None
    assigned_to: str | None = None
    due_before: datetime | None = None
    opened_after: datetime | None = None  # inclusive
    opened_before: datetime | None = None  # exclusive
    responded: bool | None = None
    responded_in_time: bool | None = None
    missed_deadline: bool | None = None
    overturned: bool | None = None
    escalated_unanswered: bool | None = None  # R69 (issue 28)
    answer: tuple[str, ...] = ()  # R69: in_time, missed, pending (standing.Answer)
    q: str | None = None
    sort: str = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def check(self) -> None:
        for value in self.status:
            _one_of("status", value, Status)
        _one_of("reason", self.reason, Reason)
        _one_of("resolution", self.resolution, Resolution)
        _one_of("waiting_on", self.waiting_on, WaitingOn)
        _one_of("escalated_by", self.escalated_by, EscalatedBy)
        for value in self.answer:
            _one_of("answer", value, Answer)
        if self.sort not in SORTS:
            raise InvalidQuery("sort", f"unknown sort {self.sort!r}; one of: {', '.join(SORTS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidQuery("limit", f"must be between 1 and {MAX_LIMIT}, got {self.limit}")
        for name in ("due_before", "opened_after", "opened_before"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise InvalidQuery(name, "needs a UTC offset (e.g. 2026-12-07T14:00:00-05:00)")
            try:
                if moment is not None:
                    moment.astimezone(UTC)
            except (OverflowError, ValueError):
                raise InvalidQuery(name, "out of range") from None
        if self.q is not None:
            query_words(self.q)

    def fingerprint(self, viewer: Viewer) -> str:
        """What a cursor is bound to: every filter and the sort, and who asks (not the limit)."""
        values = asdict(self)
        values.pop("limit")
        values.pop("cursor")
        values["status"] = sorted(self.status)
        for name in ("due_before", "opened_after", "opened_before"):
            if values[name] is not None:
                values[name] = values[name].astimezone(UTC).isoformat()
        values["q"] = None if self.q is None else query_words(self.q)
        values["viewer"] = [viewer.role, viewer.id]
        return query_fingerprint(values)


def _one_of(parameter: str, value: str | None, vocabulary: Any) -> None:
    if value is not None and value not in {str(v) for v in vocabulary}:
        allowed = ", ".join(str(v) for v in vocabulary)
        raise InvalidQuery(parameter, f"unknown value {value!r}; one of: {allowed}")


@dataclass(frozen=True)
class QueueQuery:
    assigned_to: str | None = None
    unassigned: bool | None = None
    breached: bool | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def fingerprint(self, viewer: Viewer, target: int) -> str:
        return query_fingerprint(
            {
                "queue": True,
                "assigned_to": self.assigned_to,
                "unassigned": self.unassigned,
                "breached": self.breached,
                "sla": target,
                "viewer": [viewer.role, viewer.id],
            }
        )


# Yes/no filters on a column of the same name: true matches true, false everything else.
FLAGS = (
    "escalated",
    "buyer_escalated",
    "responded_in_time",
    "missed_deadline",
    "overturned",
    "escalated_unanswered",
)

_SORT_COLUMNS = {
    "due_at": store.requests.c.due_key,
    "opened_at": store.requests.c.opened_at,
    "last_activity_at": store.requests.c.last_activity_at,
}
_STAMP = DateTime(timezone=True)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SearchApplication:
    def __init__(
        self, engine: Engine, clock: Clock, settings: SearchSettings | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings or SearchSettings()
        ensure_schema(engine, store.STORE)
        self.projection = Projection(engine, CONSUMER, handle)

    def close(self) -> None:
        self.engine.dispose()

    # --- the list query --------------------------------------------------------------------------

    def _scope(self, viewer: Viewer) -> list[Any]:
        r = store.requests.c
        if viewer.role == "buyer":
            return [r.buyer_id == viewer.id]
        if viewer.role == "seller":
            return [r.seller_id == viewer.id]
        if viewer.role in ("support", "auditor"):
            return []
        raise Forbidden(f"a {viewer.role} may not list support requests")

    def _filters(self, query: ListQuery) -> list[Any]:
        r = store.requests.c
        where: list[Any] = []
        if query.status:
            where.append(r.status.in_(sorted(set(query.status))))
        for name in ("reason", "resolution", "seller_id", "buyer_id", "order_id", "waiting_on"):
            value = getattr(query, name)
            if value is not None:
                where.append(r[name] == value)
        if query.escalated_by is not None:
            where.append(r.escalated_by == query.escalated_by)
        if query.assigned_to is not None:
            where.append(r.assigned_to == query.assigned_to)
        for name in FLAGS:
            value = getattr(query, name)
            if value is not None:
                where.append(r[name].is_(true()) if value else r[name].is_not(true()))
        if query.answer:
            where.append(or_(*(ANSWER_CONDITIONS[Answer(a)] for a in sorted(set(query.answer)))))
        if query.responded is not None:
            column = r.first_response_at
            where.append(column.is_not(None) if query.responded else column.is_(None))
        if query.due_before is not None:
            where.append(r.next_deadline < _utc(query.due_before))
        if query.opened_after is not None:
            where.append(r.opened_at >= _utc(query.opened_after))
        if query.opened_before is not None:
            where.append(r.opened_at < _utc(query.opened_before))
        if query.q is not None:
            where.append(self._q_match(query.q))
        return where

    def _q_match(self, q: str) -> Any:
        """`q`'s words in the text (description, item titles, messages); one word may also be
        the start of a request id or an order id — the short ids the ledger and rating pages
        print, an order-id prefix such as `nc-` (finding B19)."""
        match = self._text_match(query_words(q))
        raw = q.strip().lower()
        if len(raw) >= 2 and not any(c.isspace() for c in raw):
            r = store.requests.c
            return or_(
                match,
                r.id.startswith(raw, autoescape=True),
                func.lower(r.order_id).startswith(raw, autoescape=True),
            )
        return match

    def _text_match(self, words: list[str]) -> Any:
        if self.engine.dialect.name == "postgresql":
            return literal_column("search_requests.document").op("@@")(
                func.plainto_tsquery(literal_column("'simple'"), " ".join(words))
            )
        match = " ".join(f'"{w}"' for w in words)
        matching = (
            select(literal_column("request_id"))
            .select_from(text(store.FTS_TABLE))
            .where(text(f"{store.FTS_TABLE} MATCH :fts_match").bindparams(fts_match=match))
        )
        return store.requests.c.id.in_(matching)

    def list_statement(self, viewer: Viewer, query: ListQuery) -> tuple[Select[Any], str]:
        """The page's SELECT (without LIMIT) and the query's fingerprint."""
        query.check()
        where = self._scope(viewer) + self._filters(query)
        fingerprint = query.fingerprint(viewer)
        descending = query.sort.startswith("-")
        column = _SORT_COLUMNS[query.sort.lstrip("-")]
        identity = store.requests.c.id
        if query.cursor is not None:
            key, after_id = decode_cursor(query.cursor, fingerprint)
            position = tuple_(literal(key, _STAMP), literal(after_id, String()))
            keyset = tuple_(column, identity)
            where.append(keyset < position if descending else keyset > position)
        order = [column.desc(), identity.desc()] if descending else [column.asc(), identity.asc()]
        return select(store.requests).where(*where).order_by(*order), fingerprint

    def list_requests(self, viewer: Viewer, query: ListQuery) -> dict[str, Any]:
        statement, fingerprint = self.list_statement(viewer, query)
        with self.engine.connect() as conn:
            rows = conn.execute(statement.limit(query.limit + 1)).all()
        page = [row_from_db(r._mapping) for r in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            key = _sort_value(last, query.sort.lstrip("-"))
            next_cursor = encode_cursor(fingerprint, key, last.id)
        now = self.clock.now()
        return {"items": [row.item(now) for row in page], "next_cursor": next_cursor}

    def export_csv(self, viewer: Viewer, query: ListQuery, chunk_rows: int = 500) -> Iterator[str]:
        """Every row the query matches (from its cursor on, `limit` aside), as CSV text chunks:
        a header row of the list item's field names (`id` first), then one line per request.
        Checks the query before returning; the rows are read through a server-side cursor
        (`yield_per`) while the chunks are sent, never held all at once."""
        statement, _ = self.list_statement(viewer, query)
        # only the item's columns: the description and messages may be long and are not exported
        return self._csv_chunks(statement.with_only_columns(*_CSV_COLUMNS), chunk_rows)

    def _csv_chunks(self, statement: Select[Any], chunk_rows: int) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(ITEM_FIELDS)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                statement
            )
            for partition in result.partitions():
                # every text cell through safe_cell: no formula runs in a spreadsheet (issue 26)
                writer.writerows(safe_row(_csv_values(stored)) for stored in partition)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue()

    # --- the support queue -----------------------------------------------------------------------

    def queue(
        self, viewer: Viewer, query: QueueQuery, now: datetime | None = None
    ) -> dict[str, Any]:
        """Requests waiting on support, oldest wait first, with the business time waited, the
        grounds, the assignee and the SLA (target, due time, breached)."""
        if viewer.role not in QUEUE_ROLES:
            raise Forbidden("the support queue is for support agents")
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidQuery("limit", f"must be between 1 and {MAX_LIMIT}, got {query.limit}")
        now = now or self.clock.now()
        target = self.settings.queue_sla_hours
        r = store.requests.c
        fingerprint = query.fingerprint(viewer, target)
        where: list[Any] = [r.waiting_on == str(WaitingOn.SUPPORT)]
        if query.assigned_to is not None:
            where.append(r.assigned_to == query.assigned_to)
        if query.unassigned is not None:
            where.append(
                r.assigned_to.is_(None) if query.unassigned else r.assigned_to.is_not(None)
            )
        with self.engine.connect() as conn:
            cutoffs = self._breach_cutoffs(conn, now, target)
            waiting, breaches = self._count_waiting(conn, cutoffs)
            if query.breached is not None:
                where.append(self._breached_clause(cutoffs, query.breached))
            if query.cursor is not None:
                key, after_id = decode_cursor(query.cursor, fingerprint)
                position = tuple_(literal(key, _STAMP), literal(after_id, String()))
                where.append(tuple_(r.escalated_at, r.id) > position)
            rows = conn.execute(
                select(store.requests)
                .where(*where)
                .order_by(r.escalated_at.asc(), r.id.asc())
                .limit(query.limit + 1)
            ).all()
        QUEUE_WAITING.set(waiting)
        QUEUE_BREACHES.set(breaches)
        page = [row_from_db(s._mapping) for s in rows[: query.limit]]
        items = []
        for row in page:
            since = row.escalated_at or row.opened_at
            due = sla_due(row.marketplace, since, target)
            items.append(
                {
                    **row.item(now),
                    "waiting_since": since.isoformat(),
                    "business_hours_waited": business_hours_waited(row.marketplace, since, now),
                    "escalated_by": row.escalated_by,
                    "grounds": list(row.escalation_grounds),
                    "escalation_reason": row.escalation_reason,
                    "sla": {
                        "target_business_hours": target,
                        "due_at": due.isoformat(),
                        "breached": now >= due,
                    },
                }
            )
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            next_cursor = encode_cursor(fingerprint, last.escalated_at or last.opened_at, last.id)
        return {
            "items": items,
            "next_cursor": next_cursor,
            "sla_target_business_hours": target,
            "waiting": waiting,
            "breaches": breaches,
        }

    def _breach_cutoffs(self, conn: Any, now: datetime, target: int) -> dict[str, datetime]:
        r = store.requests.c
        markets = conn.execute(
            select(r.marketplace).where(r.waiting_on == str(WaitingOn.SUPPORT)).distinct()
        ).scalars()
        return {m: breach_cutoff(m, now, target) for m in markets}

    def _breached_clause(self, cutoffs: Mapping[str, datetime], breached: bool) -> Any:
        r = store.requests.c
        if not cutoffs:
            return false() if breached else true()
        if breached:
            return or_(*(and_(r.marketplace == m, r.escalated_at <= c) for m, c in cutoffs.items()))
        return or_(*(and_(r.marketplace == m, r.escalated_at > c) for m, c in cutoffs.items()))

    def _count_waiting(self, conn: Any, cutoffs: Mapping[str, datetime]) -> tuple[int, int]:
        r = store.requests.c
        waiting = conn.execute(
            select(func.count()).where(r.waiting_on == str(WaitingOn.SUPPORT))
        ).scalar_one()
        breaches = 0
        if cutoffs:
            breaches = conn.execute(
                select(func.count()).where(
                    r.waiting_on == str(WaitingOn.SUPPORT), self._breached_clause(cutoffs, True)
                )
            ).scalar_one()
        return int(waiting), int(breaches)

    def refresh_metrics(self, now: datetime | None = None) -> tuple[int, int]:
        """Sets the queue gauges (waiting, breaches) without a read; returns them."""
        now = now or self.clock.now()
        with self.engine.connect() as conn:
            cutoffs = self._breach_cutoffs(conn, now, self.settings.queue_sla_hours)
            waiting, breaches = self._count_waiting(conn, cutoffs)
        QUEUE_WAITING.set(waiting)
        QUEUE_BREACHES.set(breaches)
        return waiting, breaches

    # --- seller performance ----------------------------------------------------------------------

    def standing(
        self, seller_id: str, viewer: Viewer, now: datetime | None = None
    ) -> dict[str, Any]:
        """R69: the seller's account standing "if evaluated today" (docs/standing.md)."""
        if viewer.role not in PERFORMANCE_ROLES:
            raise Forbidden(f"a {viewer.role} may not read seller standing")
        if viewer.role == "seller" and viewer.id != seller_id:
            raise Forbidden("a seller reads their own standing only")
        return standing_of(
            self.engine, seller_id, now or self.clock.now(), self.settings.standards()
        )

    def performance(
        self, seller_id: str, viewer: Viewer, now: datetime | None = None
    ) -> dict[str, Any]:
        """The seller's figures over the last `performance_days` days of opened requests, each
        with the list query (a URL) of the requests behind it."""
        if viewer.role not in PERFORMANCE_ROLES:
            raise Forbidden(f"a {viewer.role} may not read seller performance")
        if viewer.role == "seller" and viewer.id != seller_id:
            raise Forbidden("a seller reads their own performance only")
        now = now or self.clock.now()
        since = _utc(now - timedelta(days=self.settings.performance_days))
        r = store.requests.c
        with self.engine.connect() as conn:
            rows = [
                row_from_db(s._mapping)
                for s in conn.execute(
                    select(store.requests).where(
                        r.seller_id == seller_id, r.opened_at >= since, r.opened_at < _utc(now)
                    )
                )
            ]
        window = {"seller_id": seller_id, "opened_after": since.isoformat()}

        def link(**flags: Any) -> str:
            params = dict(window)
            params["opened_before"] = _utc(now).isoformat()
            params.update(
                {k: str(v).lower() if isinstance(v, bool) else v for k, v in flags.items()}
            )
            return f"/v1/support-requests?{urlencode(params)}"

        # A request still inside its response deadline and not answered yet is neither in time
        # nor missed: it counts once it is answered or its deadline passes (finding B18).
        due = [
            row
            for row in rows
            if row.seller_response_due is not None
            and (
                row.first_response_at is not None
                or row.missed_deadline
                or row.seller_response_due <= _utc(now)
            )
        ]
        in_time = [row for row in due if row.responded_in_time]
        hours = sorted(
            row.first_response_hours for row in rows if row.first_response_hours is not None
        )
        return {
            "seller_id": seller_id,
            "window": {
                "days": self.settings.performance_days,
                "from": since.isoformat(),
                "to": _utc(now).isoformat(),
            },
            "received": {"count": len(rows), "link": link()},
            "responded_within_deadline": {
                "count": len(in_time),
                "of": len(due),
                "share": None if not due else round(len(in_time) / len(due), 4),
                "link": link(responded_in_time=True),
            },
            "first_response_business_hours": {
                "responses": len(hours),
                "median": percentile(hours, 0.5),
                "p90": percentile(hours, 0.9),
                "link": link(responded=True, sort="-opened_at"),
            },
            "missed_deadlines": {
                "count": sum(1 for row in rows if row.missed_deadline),
                "link": link(missed_deadline=True),
            },
            "escalations": {
                "count": sum(1 for row in rows if row.buyer_escalated),
                "link": link(buyer_escalated=True),
            },
            "support_overturns": {
                "count": sum(1 for row in rows if row.overturned),
                "link": link(overturned=True),
            },
        }


def _sort_value(row: Any, sort: str) -> datetime:
    if sort == "due_at":
        return row.due_key
    return getattr(row, sort)


_r = store.requests.c
# The CSV's columns, in ITEM_FIELDS order, read straight from the row (no `Row` is built: at
# 100,000 rows that was most of the export's time). `_csv_values` must equal `Row.item()` as CSV
# (tested field by field).
_CSV_COLUMNS = (
    _r.id,
    _r.order_id,
    _r.buyer_id,
    _r.seller_id,
    _r.item_ids,
    _r.reason,
    _r.status,
    _r.resolution,
    _r.version,
    _r.opened_at,
    _r.deadlines,
    _r.offer,
    _r.return_state,
    _r.escalated,
    _r.refund,
    _r.waiting_on,
    _r.next_deadline,
    _r.last_activity_at,
    _r.assigned_to,
)
_NO_DEADLINES = dict.fromkeys(DEADLINE_KINDS)
_RETURN_FIELDS = ("tracking_number", "label_cost", "delivered_at", "address")


def _stamp(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _csv_values(row: Any) -> list[Any]:
    (id_, order, buyer, seller, items, reason, status, resolution, version, opened) = row[:10]
    deadlines, offer, ret, escalated, refund, waiting, due, activity, assigned = row[10:]
    return [
        id_,
        order,
        buyer,
        seller,
        _csv_value(items),
        reason,
        status,
        resolution or "",
        version,
        _stamp(opened),
        _csv_value({**_NO_DEADLINES, **(deadlines or {})}),
        ""
        if offer is None
        else _csv_value({"amount": offer["amount"], "state": offer.get("state")}),
        "" if ret is None else _csv_value({k: ret.get(k) for k in _RETURN_FIELDS}),
        "true" if escalated else "false",
        _csv_value(refund),
        waiting,
        _stamp(due),
        _stamp(activity),
        assigned or "",
    ]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


__all__ = ["Forbidden", "InvalidQuery", "ListQuery", "QueueQuery", "SearchApplication", "Viewer"]
