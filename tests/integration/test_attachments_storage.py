"""Both blob stores behind the port (filesystem; the chunks table on SQLite and PostgreSQL), and the
streamed multipart reader stopping at the first byte past the limit."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from services.requests.attachments.domain import FileTooLarge, Limits, UnsupportedMediaType
from services.requests.attachments.storage import (
    CHUNK,
    BlobStore,
    DatabaseBlobs,
    FilesystemBlobs,
    attachments,
    chunks,
    metadata,
)
from services.requests.attachments.uploads import receive
from tests.attachment_files import mp4


@pytest.fixture(params=["filesystem", "database"])
def blobs(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobs(tmp_path / "blobs")
    engine = create_engine(database_url)
    metadata.create_all(engine)
    request.addfinalizer(engine.dispose)
    return DatabaseBlobs(engine)


def test_blobs_are_content_addressed_streamed_back_and_stored_once(blobs: BlobStore) -> None:
    # Given 2.5 chunks of random bytes
    data = os.urandom(CHUNK * 2 + CHUNK // 2)
    sha = hashlib.sha256(data).hexdigest()
    # When they are put twice
    blobs.put(sha, io.BytesIO(data))
    blobs.put(sha, io.BytesIO(data))
    # Then they read back identical, in chunks of at most CHUNK bytes
    parts = list(blobs.read(sha))
    assert b"".join(parts) == data
    assert max(len(p) for p in parts) <= CHUNK
    assert blobs.has(sha)
    if isinstance(blobs, DatabaseBlobs):
        with blobs.engine.connect() as connection:
            stored = connection.execute(
                select(func.count()).select_from(chunks).where(chunks.c.sha256 == sha)
            ).scalar_one()
        assert stored == 3  # once, not twice
    else:
        assert len([p for p in (blobs.root).rglob("*") if p.is_file()]) == 1
    # And delete forgets them
    blobs.delete(sha)
    assert not blobs.has(sha)


def test_the_database_store_keeps_bytes_a_metadata_row_still_names(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        metadata.create_all(engine)
        store = DatabaseBlobs(engine)
        data = b"still referenced"
        sha = hashlib.sha256(data).hexdigest()
        store.put(sha, io.BytesIO(data))
        with engine.begin() as connection:
            connection.execute(
                attachments.insert(),
                {
                    "id": "att_" + "1" * 32,
                    "uploader_role": "buyer",
                    "uploader_id": "b",
                    "media_type": "application/pdf",
                    "kind": "pdf",
                    "bytes": len(data),
                    "sha256": sha,
                    "uploaded_at": datetime.now(UTC),
                },
            )
        store.delete(sha)
        assert store.has(sha)
    finally:
        engine.dispose()


LIMITS = Limits(
    image_bytes=1000, pdf_bytes=1000, video_bytes=64 * 1024, daily_uploads=9, daily_bytes=10**9
)


class CountingBody:
    """A request body arriving in 8 KB chunks; counts how many the reader pulled."""

    def __init__(self, body: bytes, size: int = 8192) -> None:
        self.chunks = [body[i : i + size] for i in range(0, len(body), size)]
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def _multipart(data: bytes) -> bytes:
    return (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n'
        + data
        + b"\r\n--B--\r\n"
    )


def test_the_reader_stops_at_the_first_chunk_past_the_limit(tmp_path: Path) -> None:
    # Given a 1 MB video against a 64 KB video limit, arriving in 8 KB chunks
    body = CountingBody(_multipart(mp4(1024 * 1024)))
    # When it is read
    with pytest.raises(FileTooLarge, match="video"):
        asyncio.run(receive(body.__aiter__(), "multipart/form-data; boundary=B", LIMITS, tmp_path))
    # Then reading stopped right past 64 KB (9 of the 129 chunks); no spooled file is left
    assert body.pulled == 9
    assert list(tmp_path.iterdir()) == []


def test_the_reader_refuses_an_unaccepted_type_from_its_first_bytes(tmp_path: Path) -> None:
    body = CountingBody(_multipart(b"MZ" + b"\x90" * (1024 * 1024)))
    with pytest.raises(UnsupportedMediaType):
        asyncio.run(receive(body.__aiter__(), "multipart/form-data; boundary=B", LIMITS, tmp_path))
    assert body.pulled == 1
    assert list(tmp_path.iterdir()) == []


def test_the_reader_spools_an_accepted_file_to_disk(tmp_path: Path) -> None:
    data = mp4(20_000)
    upload = asyncio.run(
        receive(
            CountingBody(_multipart(data)).__aiter__(),
            "multipart/form-data; boundary=B",
            LIMITS,
            tmp_path,
        )
    )
    try:
        assert upload.size == len(data) and upload.detected == "video/mp4"
        assert upload.path.read_bytes() == data
    finally:
        upload.close()
    assert list(tmp_path.iterdir()) == []
