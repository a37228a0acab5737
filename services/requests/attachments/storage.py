"""Where attachments live: the metadata table (in the requests service's database) and the blob
store port with its two adapters, both content-addressed by sha256 (each distinct file stored once).

- `FilesystemBlobs` (embedded mode): `<data folder>/attachments/ab/cd/<sha256>`, written to a
  temporary file in the same folder and renamed into place, so a reader never sees half a file.
- `DatabaseBlobs` (distributed mode): the table `ss_attachment_chunks` (sha256, seq, bytes of at most
  1 MiB) in the requests service's PostgreSQL database. Chosen over large objects because chunks are
  ordinary rows: they ride the same backups, replication, `DROP SCHEMA` and privileges as every other
  table (large objects need `lo_unlink` housekeeping and are skipped by a per-table `pg_dump`), a read
  streams one chunk at a time, and psycopg 3 has no large-object API to lean on.

Blobs are put before their metadata row is written and removed only when no row names them; the
process-wide `blob_lock` (and on PostgreSQL a transaction-scoped advisory lock on the hash) keeps an
upload and the sweep from crossing on the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
)

from shared.migrations import Store, ensure_schema

metadata = MetaData()

attachments = Table(
    "ss_attachments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("uploader_role", String(20), nullable=False),
    Column("uploader_id", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("thumbnail_sha256", String(64), nullable=True, index=True),
    Column("thumbnail_bytes", Integer, nullable=True),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, index=True),
    Column("request_id", String(36), nullable=True, index=True),
    Column("referenced_at", DateTime(timezone=True), nullable=True),
)

chunks = Table(
    "ss_attachment_chunks",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


def _alone(table: Table) -> MetaData:
    """A MetaData holding a copy of `table` only: each table is its own store (the module's
    `metadata` keeps both, for callers that create them together)."""
    own = MetaData()
    table.to_metadata(own)
    return own


# the metadata table (always) and the chunks table (only when bytes live in the database) are
# created when used, so each is a store of its own (shared/migrations.py)
ATTACHMENTS_STORE = Store(
    "attachments", "services.requests.migrations.attachments", _alone(attachments)
)
CHUNKS_STORE = Store(
    "attachment_chunks", "services.requests.migrations.attachment_chunks", _alone(chunks)
)

CHUNK = 1024 * 1024
blob_lock = threading.Lock()


class BlobStore(Protocol):
    """Content-addressed bytes: `put` is idempotent, `read` streams, `delete` forgets."""

    name: str

    def put(self, sha256: str, source: BinaryIO) -> None: ...

    def has(self, sha256: str) -> bool: ...

    def read(self, sha256: str) -> Iterator[bytes]: ...

    def delete(self, sha256: str) -> None: ...


def sha256_of(source: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    while block := source.read(CHUNK):
        digest.update(block)
        size += len(block)
    source.seek(0)
    return digest.hexdigest(), size


class FilesystemBlobs:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, source: BinaryIO) -> None:
        target = self._path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := source.read(CHUNK):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def has(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def read(self, sha256: str) -> Iterator[bytes]:
        with self._path(sha256).open("rb") as stream:
            while block := stream.read(CHUNK):
                yield block

    def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256).unlink()


class DatabaseBlobs:
    name = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, sha256: str, source: BinaryIO) -> None:
        source.seek(0)
        with self.engine.begin() as connection:
            _advisory_lock(connection, sha256)
            if connection.execute(_HAS, {"b_sha": sha256}).first() is not None:
                return
            seq = 0
            while block := source.read(CHUNK):
                connection.execute(insert(chunks), {"sha256": sha256, "seq": seq, "data": block})
                seq += 1

    def has(self, sha256: str) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(_HAS, {"b_sha": sha256}).first() is not None

    def read(self, sha256: str) -> Iterator[bytes]:
        # One chunk per statement: a 50 MB video never sits whole in memory.
        seq = 0
        while True:
            with self.engine.connect() as connection:
                block = connection.execute(
                    select(chunks.c.data).where(chunks.c.sha256 == sha256, chunks.c.seq == seq)
                ).scalar_one_or_none()
            if block is None:
                return
            yield bytes(block)
            seq += 1

    def delete(self, sha256: str) -> None:
        with self.engine.begin() as connection:
            _advisory_lock(connection, sha256)
            # Only when no metadata row (attachment or thumbnail) names the bytes any more.
            connection.execute(
                delete(chunks).where(
                    chunks.c.sha256 == sha256,
                    ~exists().where(attachments.c.sha256 == sha256),
                    ~exists().where(attachments.c.thumbnail_sha256 == sha256),
                )
            )


_HAS = select(chunks.c.seq).where(chunks.c.sha256 == bindparam("b_sha")).limit(1)


def _advisory_lock(connection: Connection, sha256: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(sha256[:15], 16)})


def referenced_elsewhere(connection: Connection, sha256: str) -> bool:
    """Whether any metadata row still names these bytes (as a file or as a thumbnail)."""
    count = connection.execute(
        select(func.count())
        .select_from(attachments)
        .where((attachments.c.sha256 == sha256) | (attachments.c.thumbnail_sha256 == sha256))
    ).scalar_one()
    return bool(count)


def blob_store_for(database_url: str, data_dir: Path, engine: Engine, choice: str) -> BlobStore:
    """`choice`: "auto" (PostgreSQL database -> its chunks table; SQLite -> the data folder),
    "filesystem" or "database"."""
    if choice == "database" or (choice == "auto" and database_url.startswith("postgresql")):
        ensure_schema(engine, CHUNKS_STORE)
        return DatabaseBlobs(engine)
    return FilesystemBlobs(data_dir / "attachments")
