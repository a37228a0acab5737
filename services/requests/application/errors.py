"""Errors the application adds to the domain's (services/requests/domain/errors.py): what the caller
may not see or do, and conflicts with what is stored."""

from __future__ import annotations

from services.requests.domain import IllegalTransition, InvalidCommand


class RequestNotFound(LookupError):
    """Unknown request, or one the caller may not see: both answer the same (no existence leak)."""


class OrderNotFound(LookupError):
    """R9: unknown order, or not the caller's."""


class Forbidden(PermissionError):
    """The caller's role may not do this at all."""


class UnknownItems(InvalidCommand):
    """R4/R9: named items that are not on the order."""


class ItemAlreadyOpen(IllegalTransition):
    """R9: one open request per order item."""


class ConcurrentUpdate(IllegalTransition):
    """Another command changed the request first; retry against the new state."""


class RemedyRaceLost(ConcurrentUpdate):
    """R63: another step refunded the same item first; this one would pass its caps."""


class TrackingNumberInUse(IllegalTransition):
    """A tracking number already belongs to another return or replacement."""


class UpstreamConflict(IllegalTransition):
    """An upstream fact contradicts one already recorded (e.g. an order placed twice, differently)."""


class UnknownTrackingNumber(LookupError):
    """A scan for a shipment no order or request knows."""


class FactNotHandled(LookupError):
    """No handler for this upstream fact type in this process (another service owns it)."""
