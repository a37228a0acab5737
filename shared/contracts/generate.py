"""Generate the published JSON Schemas and the AsyncAPI document from the contract models.

    python -m shared.contracts.generate          # (re)write shared/contracts/schemas/*.json + asyncapi.yaml
    python -m shared.contracts.generate --check  # exit 1 when a file in the repo differs (drift)

One schema per request event type (`seller_support.request.<name>.v1.json`), one per upstream
fact type (`upstream.<type>.v1.json`), and one per projection stream message
(`seller_support.ledger.entry_recorded.v1.json`, `seller_support.ratings.support_rating_changed.v1.json`).
The AsyncAPI 3.0 document lists every topic and message and references those files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel

from shared.contracts import ratings_v1
from shared.contracts.ledger_v1 import LEDGER_ENTRY_RECORDED_TYPE, LEDGER_TOPIC, LedgerEntryRecorded
from shared.contracts.requests_v1 import REQUEST_EVENT_CONTRACTS, SCHEMA_ID_PREFIX
from shared.contracts.upstream import UpstreamFact
from shared.vocabulary import REQUESTS_TOPIC

HERE = Path(__file__).resolve().parent
SCHEMAS_DIR = HERE / "schemas"
ASYNCAPI_PATH = HERE / "asyncapi.yaml"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# upstream fact type -> the topic it is published on by the order service
UPSTREAM_TOPICS = {
    "order_placed": "orders.v1",
    "order_shipped": "orders.v1",
    "order_delivered": "orders.v1",
    "fraud_suspected": "orders.v1",
    "seller_registered": "orders.v1",  # R66 (issue 28): the order service knows its sellers
    "shipment_scanned": "shipments.v1",
    "return_label_created": "shipments.v1",
    "claim_paid": "shipments.v1",
}


# The projections' published streams: topic -> (ce_type, model, ce_source, key/subject, ce_id).
PROJECTION_STREAMS: dict[str, tuple[str, type[BaseModel], str, str, str]] = {
    LEDGER_TOPIC: (
        LEDGER_ENTRY_RECORDED_TYPE,
        LedgerEntryRecorded,
        "/seller-support/ledger",
        "the seller id",
        "the entry id (UUIDv5 of the causing event id and the kind), stable across rebuilds",
    ),
    ratings_v1.TOPIC: (
        ratings_v1.EVENT_TYPE,
        ratings_v1.SupportRatingChanged,
        "/seller-support/ratings",
        "the seller id",
        "the change id (UUIDv5 of the seller id and the per-seller sequence)",
    ),
}


def upstream_models() -> dict[str, type[BaseModel]]:
    union = get_args(UpstreamFact)[0]
    models: dict[str, type[BaseModel]] = {}
    for model in get_args(union):
        (fact_type,) = get_args(model.model_fields["type"].annotation)
        models[fact_type] = model
    return models


def _schema(model: type[BaseModel], schema_id: str, description: str | None = None) -> dict:
    schema = model.model_json_schema(mode="serialization")
    head = {"$schema": DRAFT, "$id": schema_id}
    if description and "description" not in schema:
        head["description"] = description
    return {**head, **schema}


def request_schema_file(name: str) -> str:
    return f"seller_support.request.{name}.v1.json"


def upstream_schema_file(fact_type: str) -> str:
    return f"upstream.{fact_type}.v1.json"


def schemas() -> dict[str, dict[str, Any]]:
    """file name -> JSON Schema."""
    result: dict[str, dict[str, Any]] = {}
    for name, model in REQUEST_EVENT_CONTRACTS.items():
        result[request_schema_file(name)] = _schema(
            model, model.schema_id(), f"Data of CloudEvent type {model.ce_type()}"
        )
    for fact_type, model in upstream_models().items():
        result[upstream_schema_file(fact_type)] = _schema(
            model, f"{SCHEMA_ID_PREFIX}upstream.{fact_type}.v1"
        )
    for ce_type, model, *_ in PROJECTION_STREAMS.values():
        result[f"{ce_type}.json"] = _schema(
            model, f"{SCHEMA_ID_PREFIX}{ce_type}", f"Data of CloudEvent type {ce_type}"
        )
    return result


def _ce_headers_schema(
    ce_type: str | None,
    *,
    source: str = "/seller-support/requests",
    subject: str = "the request id",
    ce_id: str = "<request id>:<version>, stable across re-publication",
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": ce_id},
        "ce_source": {"type": "string", "const": source},
        "ce_type": {"type": "string"},
        "ce_subject": {"type": "string", "description": subject},
        "ce_time": {"type": "string", "format": "date-time"},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {
            "type": "string",
            "description": "W3C Trace Context of the command that stored the event, when it had "
            "one, else derived from ce_id",
        },
        "ce_chainhash": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "CloudEvents extension: the request's tamper-evident hash-chain head at "
            "this event (sha256 hex, see docs/audit.md)",
        },
    }
    if ce_type is not None:
        props["ce_type"] = {"type": "string", "const": ce_type}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time"],
        "properties": props,
    }


def asyncapi() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    request_refs: dict[str, Any] = {}
    for name, model in REQUEST_EVENT_CONTRACTS.items():
        key = model.ce_type()
        messages[key] = {
            "name": key,
            "title": name.replace("_", " "),
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else key,
            "contentType": "application/json",
            "headers": _ce_headers_schema(key),
            "payload": {"$ref": f"./schemas/{request_schema_file(name)}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": "the request id"}}},
        }
        request_refs[name] = {"$ref": f"#/components/messages/{key}"}
    upstream_refs: dict[str, dict[str, Any]] = {"orders.v1": {}, "shipments.v1": {}}
    for fact_type in upstream_models():
        key = f"upstream.{fact_type}.v1"
        topic = UPSTREAM_TOPICS[fact_type]
        messages[key] = {
            "name": key,
            "title": fact_type.replace("_", " "),
            "contentType": "application/json",
            "payload": {"$ref": f"./schemas/{upstream_schema_file(fact_type)}"},
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "description": "order id" if topic == "orders.v1" else "tracking number",
                    }
                }
            },
        }
        upstream_refs[topic][fact_type] = {"$ref": f"#/components/messages/{key}"}
    stream_refs: dict[str, dict[str, Any]] = {}
    for topic, (ce_type, model, source, subject, ce_id) in PROJECTION_STREAMS.items():
        doc = (model.__doc__ or ce_type).strip().splitlines()[0]
        messages[ce_type] = {
            "name": ce_type,
            "title": ce_type.split(".")[2].replace("_", " "),
            "summary": doc,
            "contentType": "application/json",
            "headers": _ce_headers_schema(ce_type, source=source, subject=subject, ce_id=ce_id),
            "payload": {"$ref": f"./schemas/{ce_type}.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": subject}}},
        }
        stream_refs[topic] = {ce_type.split(".")[2]: {"$ref": f"#/components/messages/{ce_type}"}}

    def channel(address: str, description: str, refs: dict[str, Any]) -> dict[str, Any]:
        return {"address": address, "description": description, "messages": refs}

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Seller Support event streams",
            "version": "1.0.0",
            "description": (
                "Topics the Seller Support system consumes and publishes. Request events are "
                "CloudEvents 1.0 in Kafka binary mode (ce_* headers, JSON value); every topic has "
                "a dead-letter topic `<topic>.dlq` (same value, headers error, original_topic, "
                "original_partition, original_offset). Generated by "
                "`python -m shared.contracts.generate`; do not edit by hand."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "single-node KRaft broker of deploy/kafka/start.sh",
            }
        },
        "channels": {
            "orders.v1": channel(
                "orders.v1",
                "Order facts from the upstream order service (R60); key = order id.",
                upstream_refs["orders.v1"],
            ),
            "shipments.v1": channel(
                "shipments.v1",
                "Carrier tracking facts for original, return and replacement shipments (R60); "
                "key = tracking number.",
                upstream_refs["shipments.v1"],
            ),
            REQUESTS_TOPIC: channel(
                REQUESTS_TOPIC,
                "Every SupportRequest event, in per-request order; key = request id; at least "
                "once (dedupe by ce_id).",
                request_refs,
            ),
            LEDGER_TOPIC: channel(
                LEDGER_TOPIC,
                "One LedgerEntryRecorded per new seller ledger entry (R30-R39): charges "
                "(negative) and claim credits (positive), in minor units; key = seller id; at "
                "least once from the ledger's transactional outbox (dedupe by ce_id = entry id).",
                stream_refs[LEDGER_TOPIC],
            ),
            ratings_v1.TOPIC: channel(
                ratings_v1.TOPIC,
                "One SupportRatingChanged whenever a seller's public rating changes visibility or "
                "level (R40-R42), also when requests age out of the 90-day window; key = seller "
                "id; at least once from the ratings outbox (dedupe by ce_id, or keep the highest "
                "per-seller sequence).",
                stream_refs[ratings_v1.TOPIC],
            ),
        },
        "operations": {
            "consumeOrders": {
                "action": "receive",
                "channel": {"$ref": "#/channels/orders.v1"},
                "summary": "services/requests records order facts",
            },
            "consumeShipments": {
                "action": "receive",
                "channel": {"$ref": "#/channels/shipments.v1"},
                "summary": "services/requests applies tracking scans to returns and replacements",
            },
            "publishRequestEvents": {
                "action": "send",
                "channel": {"$ref": "#/channels/seller-support.requests.v1"},
                "summary": "the outbox relay publishes every event of the event store",
            },
            "consumeRequestEvents": {
                "action": "receive",
                "channel": {"$ref": "#/channels/seller-support.requests.v1"},
                "summary": "projections (ledger, ratings, notifications), one consumer group each",
            },
            "consumeClaimPayments": {
                "action": "receive",
                "channel": {"$ref": "#/channels/shipments.v1"},
                "summary": "services/ledger credits paid claims (claim_paid, R39); its own group",
            },
            "publishLedger": {
                "action": "send",
                "channel": {"$ref": "#/channels/seller-support.ledger.v1"},
                "summary": "services/ledger publishes every new entry from its outbox",
            },
            "publishRatings": {
                "action": "send",
                "channel": {"$ref": "#/channels/seller-support.ratings.v1"},
                "summary": "services/ratings publishes every rating change from its outbox",
            },
        },
        "components": {"messages": messages},
    }


def rendered() -> dict[Path, str]:
    """Every generated file and its exact content."""
    files = {
        SCHEMAS_DIR / name: json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in schemas().items()
    }
    files[ASYNCAPI_PATH] = (
        "# Generated by `python -m shared.contracts.generate`; do not edit.\n"
        + (yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=100))
    )
    return files


def drift() -> list[str]:
    """Files missing, stale, or no longer generated."""
    expected = rendered()
    problems = []
    for path, content in expected.items():
        if not path.exists():
            problems.append(f"missing: {path.relative_to(HERE)}")
        elif path.read_text() != content:
            problems.append(f"stale: {path.relative_to(HERE)}")
    if SCHEMAS_DIR.exists():
        for path in sorted(SCHEMAS_DIR.glob("*.json")):
            if path not in expected:
                problems.append(f"not generated (remove it): {path.relative_to(HERE)}")
    return problems


def write() -> list[Path]:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    expected = rendered()
    for path in SCHEMAS_DIR.glob("*.json"):
        if path not in expected:
            path.unlink()
    for path, content in expected.items():
        path.write_text(content)
    return list(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.contracts.generate")
    parser.add_argument("--check", action="store_true", help="fail when the files drifted")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python -m shared.contracts.generate", file=sys.stderr)
            return 1
        print(f"contracts up to date ({len(rendered())} files)")
        return 0
    written = write()
    print(f"wrote {len(written)} files under {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
