"""What a PDF holds that could act or carry another file (issue 26, classes 1 and 2).

pikepdf (on qpdf) opens the document, unpacks every object stream and decodes every name
(`/J#61vaScript` is `/JavaScript` here, as in every reader), so `Pdf.objects` is every object the
file holds, wherever it hangs: the catalogue, pages, annotations, outlines, AcroForm fields, `/Next`
chains, or an object nothing points at. Each is walked (direct sub-objects too, without following
references: those are visited as objects of their own), and what it is, not where it sits, decides:

- active content: a `/JS` key anywhere, an action whose `/S` is JavaScript, Launch, ImportData,
  SubmitForm, GoToE or RichMediaExecute, any `/XFA` form, a `/JavaScript` name tree;
- embedded files: an `/EmbeddedFiles` name tree, a file specification with `/EF` (RichMedia assets,
  PDF 2.0 associated files `/AF`, `/GoToE` targets, file-attachment annotations all use one), an
  `/EmbeddedFile` stream, an `/AF` array, a `/FileAttachment` annotation.

Why pikepdf over pypdf (already a dependency for the tests): qpdf lists every object of the file
including those packed in object streams and repairs a broken cross-reference table the way readers
do, so nothing a reader would find is missed; pypdf offers no walk over all objects, only from the
catalogue down. docs/attachments.md keeps the list above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

# Actions that run code, start a program, send the form or read data in, or open an embedded file.
ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/RichMediaExecute"}
)
# The walk is iterative; a hostile nesting depth costs a list, not the stack. Past this many
# direct sub-objects the file is refused as unreasonable rather than walked forever.
MAX_NODES = 2_000_000
_RAW_SCRIPT = re.compile(rb"/(JavaScript|JS)\b")


class UnreadablePdf(Exception):
    """The document does not open or parse (its reason in words)."""


class EncryptedPdf(Exception):
    """The document is encrypted."""


@dataclass
class PdfFindings:
    """What the walk found, in words for the error message (empty: nothing to refuse)."""

    active: set[str] = field(default_factory=set)
    embedded: set[str] = field(default_factory=set)


def inspect_pdf(path: Path) -> PdfFindings:
    """Open and parse the whole document (every page's content stream) and list its active
    content and embedded files. Raises `EncryptedPdf` or `UnreadablePdf`."""
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise EncryptedPdf()
            findings = PdfFindings()
            _walk(pdf, findings)
            for page in pdf.pages:
                pikepdf.parse_content_stream(page)  # every content stream must parse
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except (pikepdf.PdfError, RecursionError, ValueError, TypeError, OSError) as error:
        raise UnreadablePdf(str(error).replace(str(path), "the file")) from None
    if _raw_script_name(path):
        findings.active.add("JavaScript (in the raw bytes)")
    return findings


def _raw_script_name(path: Path) -> bool:
    """A second line kept from before: a plainly written script name in bytes no cross-reference
    lists (a reader that rebuilds a broken table might still find it)."""
    with path.open("rb") as stream:
        tail = b""
        while block := stream.read(1024 * 1024):
            if _RAW_SCRIPT.search(tail + block):
                return True
            tail = block[-16:]
    return False


def _walk(pdf: pikepdf.Pdf, findings: PdfFindings) -> None:
    stack: list[pikepdf.Object] = [pdf.trailer, *pdf.objects]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise UnreadablePdf(f"more than {MAX_NODES} objects")
        if isinstance(node, pikepdf.Stream):
            node = node.stream_dict
        if isinstance(node, pikepdf.Dictionary):
            _look_at(node, findings)
            children = (node.get(key) for key in node.keys())  # noqa: SIM118 (pikepdf API)
        elif isinstance(node, pikepdf.Array):
            children = iter(node)
        else:
            continue
        # Direct sub-objects only: an indirect one is in `pdf.objects` and visited once there.
        stack.extend(c for c in children if isinstance(c, pikepdf.Object) and not c.is_indirect)


def _look_at(node: pikepdf.Dictionary, findings: PdfFindings) -> None:
    keys = set(node.keys())
    kind = _name(node.get("/S"))
    if kind in ACTIVE_ACTIONS:
        findings.active.add(f"{kind[1:]} action")
    if "/JS" in keys:
        findings.active.add("JavaScript (/JS)")
    if "/XFA" in keys:
        findings.active.add("XFA form")
    if "/JavaScript" in keys:
        findings.active.add("JavaScript name tree")
    if "/EmbeddedFiles" in keys:
        findings.embedded.add("embedded files name tree")
    if "/EF" in keys:
        findings.embedded.add("file specification with an embedded file (/EF)")
    if "/AF" in keys:
        findings.embedded.add("associated files (/AF)")
    if _name(node.get("/Type")) == "/EmbeddedFile":
        findings.embedded.add("embedded file stream")
    if _name(node.get("/Subtype")) in ("/FileAttachment", "/RichMedia"):
        findings.embedded.add(f"{_name(node.get('/Subtype'))[1:]} annotation")


def _name(value: object) -> str:
    return str(value) if isinstance(value, pikepdf.Name) else ""
