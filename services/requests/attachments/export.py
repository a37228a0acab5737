"""`seller-support audit export --with-attachments`: every file a request references, written beside
the JSON Lines as `<out>.attachments/<sha256>` (each distinct file once, its hash checked while it is
written), with `manifest.jsonl` saying which attachment id of which request each file is.

The events already carry `att_…#sha256=…` references, so an auditor can match every reference in the
export to a file here, and the hash chain over the events covers the files' hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from services.requests.attachments.application import Attachments
from services.requests.attachments.storage import attachments


class CorruptBlob(RuntimeError):
    """Stored bytes whose hash is not their name."""


def export_files(service: Attachments, directory: Path) -> int:
    """Write every referenced attachment's bytes once, named by sha256; returns how many files."""
    directory.mkdir(parents=True, exist_ok=True)
    with service.engine.connect() as connection:
        rows = connection.execute(
            select(
                attachments.c.id,
                attachments.c.request_id,
                attachments.c.sha256,
                attachments.c.media_type,
                attachments.c.bytes,
            )
            .where(attachments.c.request_id.is_not(None))
            .order_by(attachments.c.request_id, attachments.c.id)
        ).all()
    written: set[str] = set()
    with (directory / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for row in rows:
            if row.sha256 not in written:
                _write_checked(service, row.sha256, directory / row.sha256)
                written.add(row.sha256)
            manifest.write(
                json.dumps(
                    {
                        "id": row.id,
                        "request_id": row.request_id,
                        "sha256": row.sha256,
                        "media_type": row.media_type,
                        "bytes": int(row.bytes),
                    }
                )
                + "\n"
            )
    return len(written)


def _write_checked(service: Attachments, sha256: str, target: Path) -> None:
    digest = hashlib.sha256()
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for block in service.content(sha256):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != sha256:
        partial.unlink()
        raise CorruptBlob(f"the stored bytes of {sha256} hash to {digest.hexdigest()}")
    partial.replace(target)
