"""The streamed reader of `POST /v1/attachments`: multipart/form-data parsed as it arrives
(python-multipart), the part named `file` spooled to a temporary file with a running size check.

Nothing is buffered whole: the type is detected from the first bytes (`filetype`), the limit of that
kind applies from then on, and reading stops at the first byte past it (413) or at the first bytes
of a type that is not accepted (415).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import filetype
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.requests.attachments.domain import (
    SNIFF_BYTES,
    FileTooLarge,
    Limits,
    MalformedUpload,
    MediaKind,
    UnsupportedMediaType,
    check_kind,
    check_size,
)

FILE_PART = "file"
# Other parts (a caption, say) are read and dropped, up to this many bytes in all.
OTHER_PARTS_LIMIT = 64 * 1024


def detect(head: bytes) -> str | None:
    """The media type the bytes themselves say (magic numbers), or None."""
    return filetype.guess_mime(head[:SNIFF_BYTES]) if head else None


@dataclass
class Upload:
    file: IO[bytes]
    size: int = 0
    declared_type: str = ""
    filename: str = ""
    detected: str | None = None
    kind: MediaKind | None = None

    @property
    def path(self) -> Path:
        return Path(self.file.name)

    def close(self) -> None:
        self.file.close()


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""


class _Reader:
    def __init__(self, limits: Limits, spool_dir: Path | None) -> None:
        self.limits = limits
        self.upload = Upload(tempfile.NamedTemporaryFile(dir=spool_dir, prefix="upload-"))  # noqa: SIM115
        self.head = bytearray()
        self.part: _Part | None = None
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.in_file = False
        self.files = 0
        self.other_bytes = 0
        self.ended = False

    # python-multipart callbacks -----------------------------------------------------------------

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        assert self.part is not None
        name = self.header_field.decode("latin-1").strip().lower()
        self.part.headers[name] = self.header_value.decode("latin-1").strip()
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        assert self.part is not None
        _, params = parse_options_header(self.part.headers.get("content-disposition", ""))
        self.part.name = params.get(b"name", b"").decode("utf-8", "replace")
        self.in_file = self.part.name == FILE_PART
        if self.in_file:
            self.files += 1
            if self.files > 1:
                raise MalformedUpload("send one file per upload, in one part named 'file'")
            self.upload.declared_type = self.part.headers.get("content-type", "")
            self.upload.filename = params.get(b"filename", b"").decode("utf-8", "replace")[:200]

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if not self.in_file:
            self.other_bytes += size
            if self.other_bytes > OTHER_PARTS_LIMIT:
                raise FileTooLarge(f"parts other than 'file' may hold {OTHER_PARTS_LIMIT} bytes")
            return
        upload = self.upload
        upload.size += size
        if upload.kind is None:
            if len(self.head) < SNIFF_BYTES:
                self.head += data[start : start + SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._classify()
        if upload.size > (
            self.limits.largest if upload.kind is None else self.limits.for_kind(upload.kind)
        ):
            if upload.kind is not None:
                check_size(upload.kind, upload.size, self.limits)
            raise FileTooLarge(f"files may be at most {self.limits.largest} bytes")
        upload.file.write(data[start:end])

    def on_part_end(self) -> None:
        if self.in_file and self.upload.kind is None and self.head:
            self._classify()
        self.in_file = False

    def on_end(self) -> None:
        self.ended = True

    def _classify(self) -> None:
        self.upload.detected = detect(bytes(self.head))
        self.upload.kind = check_kind(self.upload.detected)

    def callbacks(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_part_data",
                "on_part_end",
                "on_end",
            )
        }


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UnsupportedMediaType("send the file as multipart/form-data, in a part named 'file'")
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise MalformedUpload("the multipart/form-data Content-Type has no valid boundary")
    return boundary


async def receive(
    chunks: AsyncIterator[bytes], content_type: str, limits: Limits, spool_dir: Path | None = None
) -> Upload:
    """Read the body as it streams in; the caller closes the returned upload (its temp file)."""
    boundary = boundary_of(content_type)
    reader = _Reader(limits, spool_dir)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        async for chunk in chunks:
            if chunk:
                parser.write(chunk)
        if not reader.ended:
            raise MalformedUpload(
                "the body ended before the closing multipart boundary (truncated upload, or a "
                "boundary that does not match the Content-Type's)"
            )
        if reader.files == 0:
            raise MalformedUpload("no part named 'file' in the multipart body")
        reader.upload.file.flush()
        reader.upload.file.seek(0)
        return reader.upload
    except MultipartParseError as error:
        reader.upload.close()
        raise MalformedUpload(f"the multipart body does not parse: {error}") from None
    except BaseException:
        reader.upload.close()
        raise
