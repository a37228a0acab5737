"""OpenAPI examples of the requests API's bodies (shown in /docs; API.md has the same)."""

from __future__ import annotations

from typing import Any

from services.requests.domain import ResponseType

RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    ResponseType.FULL_REFUND: {
        "summary": "R10 full refund",
        "value": {"type": ResponseType.FULL_REFUND.value},
    },
    ResponseType.FULL_REFUND_WITH_RETURN: {
        "summary": "R11 full refund after return, with an automatic USPS claim (R38)",
        "value": {"type": ResponseType.FULL_REFUND_WITH_RETURN.value, "auto_claim": True},
    },
    ResponseType.PARTIAL_REFUND: {
        "summary": "R13 partial refund offer",
        "value": {"type": ResponseType.PARTIAL_REFUND.value, "amount": 1000},
    },
    ResponseType.REPLACEMENT: {
        "summary": "R16 replacement",
        "value": {
            "type": ResponseType.REPLACEMENT.value,
            "carrier": "USPS",
            "tracking_number": "9400111899223",
        },
    },
    ResponseType.NO_REFUND: {
        "summary": "R17 no refund, with evidence",
        "value": {
            "type": ResponseType.NO_REFUND.value,
            "message": "The listing showed this wear.",
            "evidence": ["https://photos.example/listing.jpg"],
        },
    },
    ResponseType.REQUEST_INFO: {
        "summary": "R18 ask for more information",
        "value": {
            "type": ResponseType.REQUEST_INFO.value,
            "message": "Could you send a photo of the label?",
        },
    },
}
"""One example per seller response type, keyed by `ResponseType` (a test checks none is missing)."""

ASSIGNMENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "the caller takes it": {"value": {}},
    "another agent": {"value": {"agent_id": "agent-7"}},
}

UPSTREAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "order_placed": {
        "value": {
            "type": "order_placed",
            "order_id": "o1",
            "buyer_id": "b1",
            "seller_id": "s1",
            "currency": "USD",
            "placed_at": "2026-12-01T10:00:00-05:00",
            "marketplace": "US",
            "items": [
                {
                    "item_id": "i1",
                    "title": "Holo card",
                    "category": "trading_cards",
                    "consumable": False,
                    "price": 2500,
                    "seller_payout": 2200,
                    "buyer_shipping_paid": 500,
                    "processing_fee": 103,
                }
            ],
        }
    },
    "order_shipped": {
        "value": {
            "type": "order_shipped",
            "order_id": "o1",
            "carrier": "USPS",
            "service": "ground_advantage",
            "tracking_number": "9400100000000000000001",
            "shipped_at": "2026-12-02T10:00:00-05:00",
            "insured_value": 10000,
            "extra_protection": False,
        }
    },
    "order_delivered": {
        "value": {
            "type": "order_delivered",
            "order_id": "o1",
            "delivered_at": "2026-12-04T15:00:00-05:00",
        }
    },
    "shipment_scanned": {
        "value": {
            "type": "shipment_scanned",
            "tracking_number": "9400100000000000000002",
            "status": "delivered",
            "at": "2026-12-10T12:00:00-05:00",
        }
    },
    "return_label_created": {
        "value": {
            "type": "return_label_created",
            "request_id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10",
            "tracking_number": "9400100000000000000002",
            "label_cost": 450,
            "at": "2026-12-08T09:00:00-05:00",
        }
    },
    "fraud_suspected": {"value": {"type": "fraud_suspected", "order_id": "o1"}},
    "claim_paid": {
        "value": {
            "type": "claim_paid",
            "tracking_number": "9400100000000000000001",
            "amount": 2500,
            "at": "2026-12-20T09:00:00-05:00",
        }
    },
}
