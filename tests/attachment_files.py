"""Files for the attachment tests, made in memory (no binaries in the repository): JPEG with EXIF
and GPS, PNG, WebP, HEIC (pillow-heif), PDFs clean and with JavaScript or an embedded file, and the
smallest MP4/MOV heads a detector recognises."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

GPS_IFD = 0x8825
MAKE = 0x010F


def photo(
    fmt: str = "JPEG", size: tuple[int, int] = (640, 480), *, gps: bool = True, seed: int = 0
) -> bytes:
    """`seed` changes the colour: different bytes for tests that need them unique."""
    image = Image.new("RGB", size, (200, 30 + seed % 200, (seed * 7) % 256))
    for x in range(0, size[0], 7):  # some detail so encoders have something to keep
        image.putpixel((x, (x * 3) % size[1]), (0, 0, 255))
    exif = Image.Exif()
    exif[MAKE] = "BuyerPhone"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 5.0), 3: "E", 4: (4.0, 53.0, 30.0)}
    buffer = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(buffer, fmt, exif=exif.tobytes())
    return buffer.getvalue()


def big_noise_jpeg(megabytes: float) -> bytes:
    """A JPEG of about this many megabytes (random pixels compress badly)."""
    import os

    side = int((megabytes * 1024 * 1024 / 1.2) ** 0.5)
    image = Image.frombytes("RGB", (side, side // 3), os.urandom(side * (side // 3) * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def pdf(*, javascript: bool = False, embedded: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript:  # a document-level script in the /Names /JavaScript tree
        action = writer._add_object(_js_action())
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {
                NameObject("/JavaScript"): DictionaryObject(
                    {NameObject("/Names"): ArrayObject([TextStringObject("init"), action])}
                )
            }
        )
    if embedded:
        writer.add_attachment("notes.txt", b"hidden")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _js_action() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)"),
        }
    )


def pdf_with_open_action_js() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer._root_object[NameObject("/OpenAction")] = _js_action()
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def mp4(extra: int = 0) -> bytes:
    """An ISO-BMFF file: `ftyp` (isom) and an `mdat` of `extra` bytes."""
    return _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + _box(b"mdat", b"\x00" * extra)


def mov(extra: int = 0) -> bytes:
    return _box(b"ftyp", b"qt  \x00\x00\x00\x00qt  ") + _box(b"mdat", b"\x00" * extra)
