"""Pure rules of attachments: what is accepted, how large, who may reference and read what.

No I/O here: the application detects the type from the bytes, measures, decodes and stores; these
functions say whether the result is acceptable and raise a domain error when it is not.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from services.requests.domain import DomainError, IllegalTransition, InvalidCommand


class MediaKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    VIDEO = "video"


class ReferenceField(StrEnum):
    """Where a request's commands reference attachments."""

    PHOTOS = "photos"
    EVIDENCE = "evidence"
    ATTACHMENTS = "attachments"


# Media type detected from the bytes -> its kind. Every accepted type is spelled here once.
ACCEPTED: dict[str, MediaKind] = {
    "image/jpeg": MediaKind.IMAGE,
    "image/png": MediaKind.IMAGE,
    "image/webp": MediaKind.IMAGE,
    "image/heic": MediaKind.IMAGE,
    "application/pdf": MediaKind.PDF,
    "video/mp4": MediaKind.VIDEO,
    "video/quicktime": MediaKind.VIDEO,
}

# Other names a client may declare for the same type (a part's Content-Type).
SYNONYMS: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/heif": "image/heic",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
    "video/mov": "video/quicktime",
}

# Declared types that say nothing about the content: never a contradiction.
UNINFORMATIVE = {"", "application/octet-stream", "binary/octet-stream"}

# Images are stored re-encoded: HEIC as JPEG (every browser shows it), the rest in their own format.
STORED_IMAGE_TYPE: dict[str, str] = {
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/webp": "image/webp",
    "image/heic": "image/jpeg",
}

THUMBNAIL_EDGE = 320
THUMBNAIL_TYPE = "image/jpeg"
# Bytes needed to tell every accepted type apart (the detector reads at most this many).
SNIFF_BYTES = 262

ID_PREFIX = "att_"
_ID = re.compile(r"^att_[0-9a-f]{32}$")
_REFERENCE = re.compile(r"^(att_[0-9a-f]{32})(?:#sha256=([0-9a-f]{64}))?$")


def accepted_list() -> str:
    return ", ".join(sorted(ACCEPTED))


@dataclass(frozen=True)
class Limits:
    """Largest accepted file per kind, and each user's allowance per rolling 24 hours."""

    image_bytes: int
    pdf_bytes: int
    video_bytes: int
    daily_uploads: int
    daily_bytes: int

    def for_kind(self, kind: MediaKind) -> int:
        return {
            MediaKind.IMAGE: self.image_bytes,
            MediaKind.PDF: self.pdf_bytes,
            MediaKind.VIDEO: self.video_bytes,
        }[kind]

    @property
    def largest(self) -> int:
        return max(self.image_bytes, self.pdf_bytes, self.video_bytes)


# --- errors ---------------------------------------------------------------------------------------


class AttachmentError(DomainError):
    """An upload or a reference broke a rule."""


class MalformedUpload(AttachmentError):
    """The multipart body could not be read: wrong boundary, truncated, no `file` part (400)."""


class EmptyFile(AttachmentError):
    """A zero-byte file (422)."""


class UnsupportedMediaType(AttachmentError):
    """The bytes are of no accepted type, or contradict the declared type (415)."""


class FileTooLarge(AttachmentError):
    """Past the limit of its kind (413)."""


class UnsafeOrBrokenFile(AttachmentError):
    """An image that does not decode or is a decompression bomb; a PDF that does not parse or
    carries JavaScript or embedded files (422)."""


class QuotaExceeded(AttachmentError):
    """The uploader's allowance for the last 24 hours is spent (429)."""


class AttachmentNotFound(AttachmentError):
    """Unknown, swept, or not the caller's to see: all answer the same (404)."""


class AttachmentNotUsable(InvalidCommand, AttachmentError):
    """A reference to an attachment the caller may not use there (422)."""


class AttachmentTaken(IllegalTransition, AttachmentError):
    """The attachment already belongs to another request (409)."""


# --- checks ---------------------------------------------------------------------------------------


def canonical_type(declared: str) -> str:
    base = declared.split(";", 1)[0].strip().lower()
    return SYNONYMS.get(base, base)


def check_kind(detected: str | None) -> MediaKind:
    """The kind of a detected media type, or 415 naming what is accepted."""
    if detected is None or detected not in ACCEPTED:
        found = "an unknown type" if detected is None else detected
        raise UnsupportedMediaType(
            f"the file's bytes are {found}; accepted are {accepted_list()} (checked by content)"
        )
    return ACCEPTED[detected]


def check_declared(declared: str, detected: str) -> None:
    """A declared type that names another accepted or known type than the bytes is refused."""
    named = canonical_type(declared)
    if named in UNINFORMATIVE or named == detected:
        return
    raise UnsupportedMediaType(
        f"the part declares {named} but its bytes are {detected}; declare the right type or "
        "application/octet-stream"
    )


def check_size(kind: MediaKind, size: int, limits: Limits) -> None:
    if size > limits.for_kind(kind):
        raise FileTooLarge(
            f"{kind} files may be at most {limits.for_kind(kind)} bytes; this one is larger"
        )


def check_not_empty(size: int) -> None:
    if size == 0:
        raise EmptyFile("the file is empty (0 bytes); attach the file itself")


def check_quota(uploads: int, total_bytes: int, size: int, limits: Limits) -> None:
    """`uploads`/`total_bytes`: what the uploader stored in the last 24 hours, before this one."""
    if uploads + 1 > limits.daily_uploads:
        raise QuotaExceeded(f"at most {limits.daily_uploads} uploads per 24 hours; try again later")
    if total_bytes + size > limits.daily_bytes:
        raise QuotaExceeded(
            f"at most {limits.daily_bytes} bytes of uploads per 24 hours; try again later"
        )


def check_pdf_features(active: Collection[str], embedded: Collection[str]) -> None:
    """`active`, `embedded`: what a PDF was found to hold, in words (empty: nothing)."""
    if active:
        raise UnsafeOrBrokenFile(
            f"the PDF carries active content ({', '.join(sorted(active))}); JavaScript, "
            "actions that launch, submit, import or open embedded files, and XFA forms are "
            "refused: print it to PDF again without them"
        )
    if embedded:
        raise UnsafeOrBrokenFile(
            f"the PDF carries embedded files ({', '.join(sorted(embedded))}); "
            "attach those files separately"
        )


# --- references -----------------------------------------------------------------------------------


def new_id(hex32: str) -> str:
    return ID_PREFIX + hex32


def is_attachment_id(value: str) -> bool:
    return bool(_ID.match(value))


def parse_reference(value: str) -> tuple[str, str | None] | None:
    """`att_…` or its recorded form `att_…#sha256=…` -> (id, sha256 or None); None for anything
    else (a plain URL or text reference, accepted as before issue 21)."""
    match = _REFERENCE.match(value)
    return None if match is None else (match.group(1), match.group(2))


def recorded_reference(attachment_id: str, sha256: str) -> str:
    """How an event records a reference: the id with the hash of the bytes, so the request's hash
    chain covers what was shown."""
    return f"{attachment_id}#sha256={sha256}"


@dataclass(frozen=True)
class AttachmentFacts:
    """What the rules need to know about a stored attachment."""

    id: str
    uploader_role: str
    uploader_id: str
    kind: MediaKind
    sha256: str
    request_id: str | None


def check_reference(
    facts: AttachmentFacts | None,
    *,
    actor_role: str,
    actor_id: str,
    field: ReferenceField,
    request_id: str | None,
    sha256: str | None,
    reference: str,
) -> None:
    """May this actor reference this attachment in this field of this request?

    Unknown ids and other people's attachments answer alike (no existence leak)."""
    mine = facts is not None and (facts.uploader_role, facts.uploader_id) == (actor_role, actor_id)
    on_this_case = facts is not None and request_id is not None and facts.request_id == request_id
    if facts is None or not (mine or on_this_case):
        raise AttachmentNotUsable(
            f"no attachment {reference} of yours; upload the file with POST /v1/attachments first"
        )
    if sha256 is not None and sha256 != facts.sha256:
        raise AttachmentNotUsable(f"attachment {reference} does not have that sha256")
    if facts.request_id is not None and facts.request_id != request_id:
        raise AttachmentTaken(
            f"attachment {facts.id} already belongs to another support request; upload it again"
        )
    if field == ReferenceField.PHOTOS and (facts.kind != MediaKind.IMAGE or not mine):
        raise AttachmentNotUsable(
            f"attachment {facts.id} cannot be a photo: photos are images uploaded by the buyer"
        )


def check_no_repeats(references: list[str]) -> None:
    ids = [parsed[0] for r in references if (parsed := parse_reference(r)) is not None]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise AttachmentNotUsable(f"attachment(s) referenced twice: {', '.join(repeated)}")


def may_read(
    *,
    role: str,
    actor_id: str,
    uploader: tuple[str, str],
    request_parties: tuple[str, str] | None,
) -> bool:
    """Support and auditors read every referenced attachment; the request's buyer and seller read
    its attachments; before it is referenced, only the uploader reads it."""
    if request_parties is None:
        return uploader == (role, actor_id)
    if role in ("support", "auditor"):
        return True
    buyer, seller = request_parties
    return (role == "buyer" and actor_id == buyer) or (role == "seller" and actor_id == seller)


def disposition(media_type: str) -> str:
    """Images show inline; everything else downloads (a PDF or video never runs in our origin)."""
    return "inline" if ACCEPTED.get(media_type) == MediaKind.IMAGE else "attachment"
