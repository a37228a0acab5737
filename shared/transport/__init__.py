"""The transport port: projections consume `EventMessage`s without knowing where they come from.

Two adapters feed the same handlers: the in-process notification-log feed (embedded mode) and the
Kafka consumer (distributed mode). Exactly-once in effect comes from `Projection.apply`, which records
every applied event id in the same transaction as the handler's changes.
"""

from shared.transport.messages import EventMessage
from shared.transport.projection import Handler, Projection

__all__ = ["EventMessage", "Handler", "Projection"]
