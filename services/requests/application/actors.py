"""Who is acting: a role and an id (from the caller's token)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("buyer", "seller", "support", "auditor", "admin", "platform")


@dataclass(frozen=True)
class Actor:
    role: str
    id: str

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"
