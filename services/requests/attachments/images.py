"""Decoding and re-encoding an uploaded image, with its memory bounded (issue 26, class 4).

A PNG of zeros compresses about a thousand times: 154 KB on the wire can be 6300 x 6300 RGBA, 159 MB
once decoded, and each copy made on the way (turning, converting, the thumbnail) costs as much
again. One upload raised the server by 1.2 GiB and four in parallel to 1.8 GiB. So:

- **bytes, not only pixels**: the header says the size and mode before a pixel is decoded; more than
  `max_decode_bytes` (width x height x the bytes Pillow keeps a pixel in: 4 for colour, RGB
  included, 1 for grey or palette) is refused at once, like the pixel limit;
- **at most N decodes at a time per process** (`DecodeGate`): other uploads wait their turn, so the
  process's peak is about N x (decoded size x 2), whatever arrives;
- **one copy**: the thumbnail is made in place from the decoded image after the clean one is
  written (Pillow's `reduce` first, `reducing_gap`), never from a copy of it;
- **memory given back**: glibc keeps freed blocks of a few MB in its arenas (the 1.2 GiB stayed);
  after each decode the process asks it to return them (`malloc_trim`), where glibc is the libc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

from services.requests.attachments.domain import (
    STORED_IMAGE_TYPE,
    THUMBNAIL_EDGE,
    UnsafeOrBrokenFile,
)

ORIENTATION = 0x0112


class DecodeGate:
    """At most `size` image decodes at a time in this process; `waiting` callers queue."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.waiting = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            self.waiting += 1
        try:
            self._free.acquire()
        finally:
            with self._lock:
                self.waiting -= 1
        try:
            yield
        finally:
            self._free.release()


@dataclass(frozen=True)
class CleanImage:
    file: IO[bytes]  # the re-encoded image (a temporary file), at its start
    media_type: str
    width: int
    height: int
    thumbnail: bytes


@cache
def pillow() -> Any:
    """Pillow's `Image` module with the HEIF plug-in registered, imported on the first image
    (issue 30): a process that never cleans an image does not load Pillow."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    return Image


def decoded_bytes(width: int, height: int, mode: str) -> int:
    """What Pillow holds for the decoded image: 4 bytes a pixel for every multi-band mode (RGB is
    stored as 4), 4 for 32-bit grey or float, 2 for 16-bit grey, 1 for grey or palette."""
    try:
        bands = pillow().getmodebands(mode)
    except (KeyError, ValueError):  # a mode Pillow does not list: count it as the widest
        bands = 4
    if bands > 1 or mode in ("I", "F"):
        per_pixel = 4
    elif mode.startswith("I;16"):
        per_pixel = 2
    else:
        per_pixel = 1
    return width * height * per_pixel


def clean_image(
    path: Path,
    detected: str,
    *,
    max_pixels: int,
    max_decode_bytes: int,
    gate: DecodeGate,
    spool_dir: Path | None,
) -> CleanImage:
    """Decode and re-encode: EXIF (GPS included), XMP, comments and every other chunk stay behind;
    the orientation EXIF asked for is applied to the pixels first."""
    Image = pillow()
    from PIL import UnidentifiedImageError

    previous = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = max_pixels
            with Image.open(path) as opened:
                need = decoded_bytes(opened.width, opened.height, opened.mode)
                if need > max_decode_bytes:
                    raise UnsafeOrBrokenFile(
                        f"the image would take {need // 2**20} MiB to decode "
                        f"({opened.width} x {opened.height}, {opened.mode}); at most "
                        f"{max_decode_bytes // 2**20} MiB: send a smaller image"
                    )
                with gate.turn():
                    try:
                        return _reencode(opened, detected, spool_dir)
                    finally:
                        give_memory_back()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsafeOrBrokenFile(
            f"the image has more than {max_pixels} pixels; send a smaller image"
        ) from None
    except UnsafeOrBrokenFile:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        # Pillow's messages name the file; the server's temporary path is nobody's business.
        reason = str(error).replace(str(path), "the file").replace(path.name, "the file")
        raise UnsafeOrBrokenFile(f"the image does not decode: {reason}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _reencode(opened: Image.Image, detected: str, spool_dir: Path | None) -> CleanImage:
    from PIL import ImageOps

    opened.load()
    # Turn the pixels as EXIF says before EXIF goes (a copy only when needed).
    turned = opened.getexif().get(ORIENTATION, 1) not in (1, None)
    image = ImageOps.exif_transpose(opened) if turned else opened
    image.info = {}
    stored_type = STORED_IMAGE_TYPE[detected]
    out = tempfile.NamedTemporaryFile(dir=spool_dir, prefix="clean-")  # noqa: SIM115
    try:
        if stored_type == "image/jpeg":
            rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
            # no optimize=True: its second Huffman pass cost 6x the encode for ~7 % fewer bytes
            rgb.save(out, "JPEG", quality=90)
            del rgb
        elif stored_type == "image/png":
            image.save(out, "PNG", optimize=False)
        else:
            image.save(out, "WEBP", quality=90)
        out.flush()
        width, height = image.width, image.height
        # In place, reducing by whole factors first: no full-size copy for the thumbnail.
        image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), reducing_gap=2.0)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=80)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return CleanImage(out, stored_type, width, height, buffer.getvalue())


_LIBC: list[ctypes.CDLL | None] = []


def give_memory_back() -> None:
    """glibc's `malloc_trim(0)`: return freed heap memory to the system (nothing elsewhere)."""
    if not _LIBC:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            _LIBC.append(libc if libc is not None and hasattr(libc, "malloc_trim") else None)
        except OSError:
            _LIBC.append(None)
    if _LIBC[0] is not None:
        _LIBC[0].malloc_trim(0)
