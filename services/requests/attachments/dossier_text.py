"""The case dossier's words (finding B11): codes as words, ledger kinds, who uploaded each file,
and an event's data as lines a person reads (money in the currency, times in the marketplace's
zone, items by title), never a raw dict or minor units. Pure; `dossier.py` sets them in the PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def local(moment: Any, zone: ZoneInfo) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        return "-"
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


LEDGER_KINDS = {
    "refund_no_return": "Full refund",
    "refund_after_return": "Refund after the return",
    "partial_refund": "Partial refund",
    "support_ruling": "Refund decided by support",
    "claim_credit": "Shipping claim paid",
}
# Keys of event data that hold money in minor units of the request's currency.
_MONEY_KEYS = ("amount", "label_cost", "charge", "price", "payout", "fee", "refunded", "insured")
# Keys that say nothing to a reader (the event's own bookkeeping).
_QUIET_KEYS = frozenset({"version", "request_id", "policy_version", "at"})
_FILE_KEYS = ("photos", "evidence", "attachments")


def words(code: Any) -> str:
    """`partial_refund_offered` -> "Partial refund offered"; None -> "-"."""
    if code in (None, ""):
        return "-"
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


def actor_words(actor: Any) -> str:
    role, _sep, who = str(actor).partition(":")
    return f"{role} {who}" if who else role


def uploaders(history: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Each attachment id -> (who, the step) that first referenced it: the dossier says who
    uploaded each photo (B11)."""
    found: dict[str, tuple[str, str]] = {}
    for entry in history:
        for key in _FILE_KEYS:
            for value in entry["data"].get(key) or []:
                reference = str(value.get("id", "")) if isinstance(value, dict) else str(value)
                found.setdefault(reference.split("#")[0], (entry["actor"], entry["type"]))
    return found


def details(data: dict[str, Any], currency: str, zone: ZoneInfo) -> list[str]:
    """An event's data as lines a person reads: money in the currency, times in the zone, files
    by reference, items by title; empty, false and bookkeeping values left out (B11)."""
    lines = []
    for key, value in data.items():
        if key in _QUIET_KEYS or value is None or value is False or value in ("", [], {}):
            continue
        name = words(key.removesuffix("_due") + (" due" if key.endswith("_due") else ""))
        if key == "items" and isinstance(value, list):
            titles = [str(i.get("title") or i.get("item_id")) for i in value if isinstance(i, dict)]
            lines.append(f"{name}: {', '.join(titles)}")
        elif isinstance(value, int) and not isinstance(value, bool) and key.endswith(_MONEY_KEYS):
            lines.append(f"{name}: {money(value, currency)}")
        elif key.endswith(("_due", "_at", "_until")) and isinstance(value, str | datetime):
            lines.append(f"{name}: {local(value, zone)}")
        elif isinstance(value, dict):
            inner = details(value, currency, zone)
            if inner:
                lines.append(f"{name}: " + "; ".join(inner))
        elif isinstance(value, list):
            lines.append(f"{name}: " + ", ".join(short(v) for v in value))
        elif value is True:
            lines.append(f"{name}: yes")
        else:
            lines.append(f"{name}: {short(value)}")
    return lines


def money(amount: Any, currency: Any) -> str:
    if not isinstance(amount, int):
        return "-"
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d} {currency or ''}".strip()


def short(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if len(text) <= 300 else text[:297] + "..."
