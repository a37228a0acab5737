"""Versioned policy: the durations a request is given when its deadlines are set.

The article has been published with different durations over time. A request records the version it
was opened under and the instants of its deadlines, so publishing a new policy never moves a deadline
that was already set.
"""

from __future__ import annotations

from dataclasses import dataclass


class UnknownPolicyError(ValueError):
    """A request names a policy version this build does not know."""


@dataclass(frozen=True)
class Policy:
    version: str
    seller_response_hours: int  # R8, R18
    offer_answer_hours: int  # R14
    return_dropoff_days: int  # R11, R14, R16
    inspection_days: int  # R12, R31
    replacement_ship_hours: int  # R16
    replacement_return_days: int  # R16
    no_refund_close_days: int  # R17
    claim_wait_calendar_days: int  # R38
    default_claim_coverage: int  # R38, minor units of USD


POLICY_2025_09 = Policy(
    version="2025-09",
    seller_response_hours=48,
    offer_answer_hours=48,
    return_dropoff_days=5,
    inspection_days=2,
    replacement_ship_hours=48,
    replacement_return_days=5,
    no_refund_close_days=5,
    claim_wait_calendar_days=14,
    default_claim_coverage=10_000,
)

POLICIES: dict[str, Policy] = {POLICY_2025_09.version: POLICY_2025_09}
CURRENT_POLICY_VERSION = POLICY_2025_09.version


def policy_for(version: str) -> Policy:
    try:
        return POLICIES[version]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise UnknownPolicyError(f"unknown policy version {version!r}; known: {known}") from None
