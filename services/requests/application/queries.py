"""Queries: a request as the caller may see it (now or as of a moment, R62), its history, and the
requests of an order. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.requests.application.actors import Actor
from services.requests.application.core import RequestsCore
from services.requests.application.errors import OrderNotFound, RequestNotFound
from services.requests.domain import SupportRequest, event_data, event_name


class Queries(RequestsCore):
    def get_request(
        self, request_id: UUID | str, actor: Actor, as_of: datetime | None = None
    ) -> SupportRequest:
        request = self._load_for(request_id, actor)
        if as_of is None:
            self._with_order_record(request)
            return request
        past = self.state_as_of(request.id, as_of)
        if past is None:
            raise RequestNotFound(f"support request {request_id} did not exist at {as_of}")
        return past

    def state_as_of(self, request_id: UUID, as_of: datetime) -> SupportRequest | None:
        """R62: replay the request's events that had happened by `as_of`."""
        request = None
        for domain_event in self.events.get(request_id):
            if domain_event.at > as_of:
                break
            request = domain_event.mutate(request)
        return request

    def history(self, request_id: UUID | str, actor: Actor) -> list[dict[str, Any]]:
        request = self._load_for(request_id, actor)
        return [
            {
                "version": e.originator_version,
                "type": event_name(e),
                "at": e.at,
                "actor": e.actor,
                "data": event_data(e),
            }
            for e in self.events.get(request.id)
        ]

    def requests_for_order(self, order_id: str, actor: Actor) -> list[SupportRequest]:
        with self.side_tables.transaction(commit=False) as session:
            order = self._order_row(session, order_id)
            ids = self.side_tables.requests_of_order(session, order_id)
        parties = () if order is None else (order["buyer_id"], order["seller_id"])
        if actor.role not in ("support", "auditor") and actor.id not in parties:
            raise OrderNotFound(f"no order {order_id}")
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        found = [self._load(i) for i in ids]
        for request in found:
            self._with_order_record(request)
        return found

    def _with_order_record(self, request: SupportRequest) -> None:
        """What is left to refund on its items (R63), read when the state's steps and limits ask
        (domain/next_step.py), so that they are those a command would accept now."""
        self._read_order_record_later(request)
