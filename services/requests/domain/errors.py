"""The domain's errors: a command broke a rule. `InvalidCommand`: the input was wrong whatever the
state (422); `IllegalTransition`: the request is not in a state where the command applies (409)."""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a rule. Subclasses say whether the input or the moment was wrong."""


class InvalidCommand(DomainError):
    """The command itself is malformed or out of policy, whatever the request's state (422)."""


class IllegalTransition(DomainError):
    """The command does not apply to the request's current state (409)."""


class NoItemsNamed(InvalidCommand):
    """R4: a request names at least one item of the order."""


class DuplicateItems(InvalidCommand):
    """R4: each item is named once."""


class UnknownReason(InvalidCommand):
    """R4/R6: the reason is one of `Reason`."""


class DescriptionRequired(InvalidCommand):
    """R4: the buyer describes the problem."""


class PhotosRequired(InvalidCommand):
    """R5: photos for not_as_described and wrong_item."""


class InvalidPartialAmount(InvalidCommand):
    """R13: more than 0 and less than the full refund."""


class EvidenceRequired(InvalidCommand):
    """R17: a no-refund explanation comes with evidence."""


class MessageRequired(InvalidCommand):
    """R17, R18, R12: the words the rule asks for are missing."""


class TrackingRequired(InvalidCommand):
    """R16: a replacement names its carrier and tracking number."""


class AutoClaimNotEligible(InvalidCommand):
    """R38: the shipment or its items do not qualify for an automatic claim."""


class ResponseNotDue(IllegalTransition):
    """R10-R18: the request is not waiting for the seller."""


class NoOfferPending(IllegalTransition):
    """R14: there is no offer to accept or decline."""


class NoReturnToInspect(IllegalTransition):
    """R12: no delivered return waits for the seller's inspection."""


class ReturnForRefundNotAllowed(IllegalTransition):
    """R16: the replacement is not overdue, or the window closed."""


class ConversationClosed(IllegalTransition):
    """R21: no messages once escalated."""


class EscalationNotAllowed(IllegalTransition):
    """R19/R20: none of the grounds for a buyer's escalation holds."""


class DecisionNotDue(IllegalTransition):
    """R22: only an escalated request is decided."""


class NotWaitingOnSupport(IllegalTransition):
    """Issue 19: only a request waiting on support (escalated) is assigned to an agent."""


class FeedbackNotAllowed(IllegalTransition):
    """R46: once, after completion."""


class ReturnLabelNotExpected(IllegalTransition):
    """No return is awaiting a label."""
