"""Which files and links every step of a request carries (pure: no I/O).

The history's events name evidence in three places: the buyer's `photos` when the request opened,
`evidence` of a no-refund answer, a disputed return or a support decision, and `attachments` of a
message. A stored file is referenced as `att_<32 hex>` or, as recorded, `att_…#sha256=…`; anything
else is a link the person typed. The page shows each step's files as thumbnails (images) or as
named files with their size, never the raw reference (findings B2, B16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_REFERENCE = re.compile(r"^(att_[0-9a-f]{32})(?:#sha256=[0-9a-f]{64})?$")
_FIELDS = ("photos", "evidence", "attachments")


@dataclass(frozen=True)
class Ref:
    """One piece of evidence: a stored file (`attachment_id`) or a typed link (`url`)."""

    attachment_id: str | None = None
    url: str | None = None
    text: str | None = None


@dataclass
class Step:
    version: int
    type: str
    at: str
    actor: str
    refs: list[Ref] = field(default_factory=list)


def attachment_id_of(reference: str) -> str | None:
    """`att_…` from `att_…` or `att_…#sha256=…`; None for anything else."""
    found = _REFERENCE.match(reference.strip())
    return found.group(1) if found else None


def ref_of(value: str) -> Ref:
    attachment_id = attachment_id_of(value)
    if attachment_id:
        return Ref(attachment_id=attachment_id)
    text = value.strip()
    if text.startswith(("https://", "http://")):
        return Ref(url=text)
    return Ref(text=text)  # an id or note the API accepted but the page cannot link


def steps_with_evidence(history: list[dict[str, Any]]) -> list[Step]:
    """Every step that carries evidence, oldest first, each with its references in order."""
    steps = []
    for entry in history:
        data = entry.get("data") or {}
        refs = [
            ref_of(str(value.get("id", "")) if isinstance(value, dict) else str(value))
            for name in _FIELDS
            if isinstance(data.get(name), list)
            for value in data[name]
            if value
        ]
        if refs:
            steps.append(
                Step(
                    version=int(entry.get("version", 0)),
                    type=str(entry.get("type", "")),
                    at=str(entry.get("at", "")),
                    actor=str(entry.get("actor", "")),
                    refs=refs,
                )
            )
    return steps


def attachment_ids(steps: list[Step]) -> list[str]:
    """Each stored file once, in the order the page shows them."""
    seen: dict[str, None] = {}
    for step in steps:
        for ref in step.refs:
            if ref.attachment_id:
                seen.setdefault(ref.attachment_id, None)
    return list(seen)


KIND_OF_TYPE = {
    "image/jpeg": "JPEG photo",
    "image/png": "PNG image",
    "image/webp": "WebP image",
    "application/pdf": "PDF document",
    "video/mp4": "MP4 video",
    "video/quicktime": "MOV video",
}


def file_kind(media_type: str) -> str:
    """The file's kind in words ("JPEG photo"), from its stored media type."""
    base = media_type.split(";")[0].strip().lower()
    return KIND_OF_TYPE.get(base, "File")


def actor_parts(actor: str) -> tuple[str, str]:
    """`buyer:nc-buyer` -> ("buyer", "nc-buyer"); `system` -> ("system", "")."""
    role, _, who = actor.partition(":")
    return role, who
