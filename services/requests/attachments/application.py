"""Use cases of attachments: upload (check, clean, store), read, reference from a request's
commands, and sweep what no request referenced in time.

`Attachments` runs in the requests service beside `RequestsApplication`, on the same database
engine (its metadata table sits beside the event store), and hooks into it as its
`attachments` port: `resolve` turns the ids a command names into recorded references before the
command runs, and `bind` claims them for the request inside the command's own transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import uuid4

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.requests.attachments.domain import (
    AttachmentFacts,
    AttachmentNotFound,
    AttachmentTaken,
    Limits,
    MediaKind,
    ReferenceField,
    UnsafeOrBrokenFile,
    check_declared,
    check_kind,
    check_no_repeats,
    check_not_empty,
    check_pdf_features,
    check_quota,
    check_reference,
    check_size,
    may_read,
    new_id,
    parse_reference,
    recorded_reference,
)
from services.requests.attachments.images import DecodeGate, clean_image
from services.requests.attachments.storage import (
    ATTACHMENTS_STORE,
    BlobStore,
    attachments,
    blob_lock,
    referenced_elsewhere,
    sha256_of,
)
from services.requests.attachments.uploads import Upload
from shared.clock import Clock
from shared.migrations import ensure_schema

UNREFERENCED_LIFETIME = timedelta(hours=24)
QUOTA_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    """An attachment's metadata row, as the API shows it."""

    id: str
    media_type: str
    bytes: int
    sha256: str
    width: int | None
    height: int | None
    thumbnail: str | None
    kind: str
    uploader: tuple[str, str]
    uploaded_at: datetime
    request_id: str | None
    thumbnail_sha256: str | None

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "media_type": self.media_type,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "thumbnail": self.thumbnail,
        }


@dataclass(frozen=True)
class Cleaned:
    """An upload after its checks: the bytes to store (re-encoded for images) and what they are."""

    file: IO[bytes]
    media_type: str
    kind: MediaKind
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


class Attachments:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        limits: Limits,
        clock: Clock,
        parties_of: Any,
        max_image_pixels: int = 40_000_000,
        spool_dir: Path | None = None,
        max_decode_bytes: int = 128 * 2**20,
        parallel_decodes: int = 2,
    ) -> None:
        """`parties_of(request_id) -> (buyer_id, seller_id) | None`: who is on a request."""
        self.engine = engine
        self.blobs = blobs
        self.limits = limits
        self.clock = clock
        self.parties_of = parties_of
        self.max_image_pixels = max_image_pixels
        self.max_decode_bytes = max_decode_bytes
        self.decode_gate = DecodeGate(parallel_decodes)
        self.spool_dir = spool_dir
        ensure_schema(engine, ATTACHMENTS_STORE)

    # --- upload ----------------------------------------------------------------------------------

    def upload(self, role: str, uploader_id: str, upload: Upload) -> tuple[Stored, bool]:
        """Check, clean and store one file; returns it and whether it is new (False: the same
        uploader already uploaded the same bytes and they are not referenced yet)."""
        check_not_empty(upload.size)
        kind = check_kind(upload.detected)
        assert upload.detected is not None
        check_declared(upload.declared_type, upload.detected)
        check_size(kind, upload.size, self.limits)
        cleaned = self._clean(upload, kind)
        try:
            return self._store(role, uploader_id, cleaned)
        finally:
            if cleaned.file is not upload.file:
                cleaned.file.close()

    def _clean(self, upload: Upload, kind: MediaKind) -> Cleaned:
        assert upload.detected is not None
        if kind == MediaKind.IMAGE:
            return self._clean_image(upload.path, upload.detected)
        if kind == MediaKind.PDF:
            _check_pdf(upload.path)
        return Cleaned(upload.file, upload.detected, kind)

    def _clean_image(self, path: Path, detected: str) -> Cleaned:
        """Decoded and re-encoded with its memory bounded (images.py, issue 26)."""
        clean = clean_image(
            path,
            detected,
            max_pixels=self.max_image_pixels,
            max_decode_bytes=self.max_decode_bytes,
            gate=self.decode_gate,
            spool_dir=self.spool_dir,
        )
        return Cleaned(
            clean.file,
            clean.media_type,
            MediaKind.IMAGE,
            clean.width,
            clean.height,
            clean.thumbnail,
        )

    def _store(self, role: str, uploader_id: str, cleaned: Cleaned) -> tuple[Stored, bool]:
        sha256, size = sha256_of(cleaned.file)
        thumb_sha = None
        if cleaned.thumbnail is not None:
            thumb_sha, _ = sha256_of(io.BytesIO(cleaned.thumbnail))
        now = self.clock.now()
        with blob_lock, self.engine.begin() as connection:
            same = connection.execute(
                select(attachments).where(
                    attachments.c.uploader_role == role,
                    attachments.c.uploader_id == uploader_id,
                    attachments.c.sha256 == sha256,
                    attachments.c.request_id.is_(None),
                )
            ).first()
            if same is not None:
                return _stored(same._mapping), False
            uploads, total = connection.execute(
                select(func.count(), func.coalesce(func.sum(attachments.c.bytes), 0)).where(
                    attachments.c.uploader_role == role,
                    attachments.c.uploader_id == uploader_id,
                    attachments.c.uploaded_at > now - QUOTA_WINDOW,
                )
            ).one()
            check_quota(int(uploads), int(total), size, self.limits)
            # Bytes first, row second: a row never names missing bytes.
            self.blobs.put(sha256, cleaned.file)
            if cleaned.thumbnail is not None and thumb_sha is not None:
                self.blobs.put(thumb_sha, io.BytesIO(cleaned.thumbnail))
            row = {
                "id": new_id(uuid4().hex),
                "uploader_role": role,
                "uploader_id": uploader_id,
                "media_type": cleaned.media_type,
                "kind": str(cleaned.kind),
                "bytes": size,
                "sha256": sha256,
                "width": cleaned.width,
                "height": cleaned.height,
                "thumbnail_sha256": thumb_sha,
                "thumbnail_bytes": None if cleaned.thumbnail is None else len(cleaned.thumbnail),
                "uploaded_at": now,
                "request_id": None,
                "referenced_at": None,
            }
            try:
                connection.execute(insert(attachments), row)
            except BaseException:
                self._forget_unnamed(sha256, thumb_sha)  # no orphan bytes after a failed insert
                raise
        return _stored(row), True

    def _forget_unnamed(self, *hashes: str | None) -> None:
        for sha256 in hashes:
            if sha256 is None:
                continue
            with self.engine.connect() as connection:
                if referenced_elsewhere(connection, sha256):
                    continue
            self.blobs.delete(sha256)

    # --- reading ---------------------------------------------------------------------------------

    def get(self, attachment_id: str) -> Stored | None:
        with self.engine.connect() as connection:
            row = connection.execute(_BY_ID, {"b_id": attachment_id}).first()
        return None if row is None else _stored(row._mapping)

    def readable(self, attachment_id: str, role: str, actor_id: str) -> Stored:
        """The attachment if this caller may read it; 404 alike for unknown and not theirs."""
        stored = self.get(attachment_id)
        if stored is not None:
            parties = None if stored.request_id is None else self.parties_of(stored.request_id)
            if may_read(
                role=role, actor_id=actor_id, uploader=stored.uploader, request_parties=parties
            ):
                return stored
        raise AttachmentNotFound(f"no attachment {attachment_id}")

    def content(self, sha256: str) -> Iterator[bytes]:
        return self.blobs.read(sha256)

    def of_request(self, request_id: str) -> list[Stored]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(attachments)
                .where(attachments.c.request_id == request_id)
                .order_by(attachments.c.referenced_at, attachments.c.id)
            ).all()
        return [_stored(r._mapping) for r in rows]

    # --- references (the requests application's port) -------------------------------------------

    def resolve(
        self,
        role: str,
        actor_id: str,
        request_id: str | None,
        field: str,
        references: list[str],
    ) -> list[str]:
        """Check each attachment id a command names and give its recorded form (id + sha256);
        plain URL or text references pass unchanged, as before issue 21."""
        check_no_repeats(references)
        resolved = []
        for reference in references:
            parsed = parse_reference(reference)
            if parsed is None:
                resolved.append(reference)
                continue
            attachment_id, sha256 = parsed
            stored = self.get(attachment_id)
            check_reference(
                None if stored is None else _facts(stored),
                actor_role=role,
                actor_id=actor_id,
                field=ReferenceField(field),
                request_id=request_id,
                sha256=sha256,
                reference=attachment_id,
            )
            assert stored is not None
            resolved.append(recorded_reference(stored.id, stored.sha256))
        return resolved

    def bind(self, session: Session, request: Any) -> None:
        """In the command's transaction: every attachment the new events reference now belongs to
        the request. One that another request took meanwhile, or that the sweep removed, fails the
        whole command (nothing is stored half)."""
        rid = str(request.id)
        for event in request.pending_events:
            for name in ReferenceField:
                for reference in getattr(event, str(name), None) or ():
                    parsed = parse_reference(reference) if isinstance(reference, str) else None
                    if parsed is None or parsed[1] is None:
                        continue
                    claimed = session.execute(
                        _BIND,
                        {
                            "b_id": parsed[0],
                            "b_sha": parsed[1],
                            "b_rid": rid,
                            "request_id": rid,
                            "referenced_at": self.clock.now(),
                        },
                    ).rowcount
                    if claimed != 1:
                        raise AttachmentTaken(
                            f"attachment {parsed[0]} was taken by another support request or "
                            "removed meanwhile; upload it again"
                        )

    # --- sweep -----------------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None, limit: int = 500) -> int:
        """Delete attachments no request referenced within 24 hours of their upload, and their
        bytes once no other row names them; returns how many rows went."""
        now = now or self.clock.now()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(attachments.c.id)
                .where(
                    attachments.c.request_id.is_(None),
                    attachments.c.uploaded_at <= now - UNREFERENCED_LIFETIME,
                )
                .limit(limit)
            ).all()
        removed = 0
        for (attachment_id,) in rows:
            with blob_lock:
                with self.engine.begin() as connection:
                    gone = connection.execute(
                        delete(attachments)
                        .where(
                            attachments.c.id == attachment_id, attachments.c.request_id.is_(None)
                        )
                        .returning(attachments.c.sha256, attachments.c.thumbnail_sha256)
                    ).first()
                if gone is None:
                    continue  # referenced meanwhile
                removed += 1
                for sha256 in gone:
                    if sha256 is None:
                        continue
                    with self.engine.connect() as connection:
                        if referenced_elsewhere(connection, sha256):
                            continue
                    self.blobs.delete(sha256)
        return removed

    def stored_blobs(self) -> set[str]:
        """Every sha256 a metadata row names (for audits and tests)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(attachments.c.sha256, attachments.c.thumbnail_sha256)
            ).all()
        return {s for row in rows for s in row if s}


_BY_ID = select(attachments).where(attachments.c.id == bindparam("b_id"))
_BIND = (
    update(attachments)
    .where(
        and_(
            attachments.c.id == bindparam("b_id"),
            attachments.c.sha256 == bindparam("b_sha"),
            or_(attachments.c.request_id.is_(None), attachments.c.request_id == bindparam("b_rid")),
        )
    )
    .values(request_id=bindparam("request_id"), referenced_at=bindparam("referenced_at"))
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _stored(row: Any) -> Stored:
    return Stored(
        id=row["id"],
        media_type=row["media_type"],
        bytes=int(row["bytes"]),
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        thumbnail=None
        if row["thumbnail_sha256"] is None
        else f"/v1/attachments/{row['id']}/thumbnail",
        kind=row["kind"],
        uploader=(row["uploader_role"], row["uploader_id"]),
        uploaded_at=_aware(row["uploaded_at"]),
        request_id=row["request_id"],
        thumbnail_sha256=row["thumbnail_sha256"],
    )


def _facts(stored: Stored) -> AttachmentFacts:
    return AttachmentFacts(
        id=stored.id,
        uploader_role=stored.uploader[0],
        uploader_id=stored.uploader[1],
        kind=MediaKind(stored.kind),
        sha256=stored.sha256,
        request_id=stored.request_id,
    )


def _check_pdf(path: Path) -> None:
    """Every object the document holds is walked (services/requests/attachments/pdf_check.py):
    no active content, no embedded file, every page's content parses, not encrypted. pikepdf is
    imported with the first PDF checked (issue 30), not with the service."""
    from services.requests.attachments.pdf_check import EncryptedPdf, UnreadablePdf, inspect_pdf

    try:
        findings = inspect_pdf(path)
    except EncryptedPdf:
        raise UnsafeOrBrokenFile("the PDF is encrypted; send it without a password") from None
    except UnreadablePdf as error:
        raise UnsafeOrBrokenFile(f"the PDF does not parse: {error}") from None
    check_pdf_features(findings.active, findings.embedded)
