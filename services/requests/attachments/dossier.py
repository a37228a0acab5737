"""The case dossier (`GET /v1/support-requests/{id}/dossier`): one PDF for support and auditors with
the order and its items, the timeline in the marketplace's zone, every message, the photos and
evidence as thumbnails, the carrier scans, the deadlines and why they fell where they did, and the
request's ledger entries.

Rendered with fpdf2. Buyers and sellers write in every script, and a dossier is evidence, so the text
is set in DejaVu Sans from Debian's `fonts-dejavu-core` (installed with chromium; embedded as a
subset of the glyphs used): Latin, Greek, Cyrillic and more come out as written. Without that font
on the machine, the dossier falls back to the PDF core font Helvetica, where text outside Latin-1 is
shown with its closest Latin-1 form or `?` (and says so on its first page).

The ledger is another service: this module only knows `LedgerEntries`, a port that the embedded
composition fills with the ledger application's public read (in process) and distributed mode with
a call to the ledger's public HTTP API at `SUPPORT_LEDGER_URL` (`HttpLedger`).
"""

from __future__ import annotations

import io
import json
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services.requests.attachments.dossier_text import (
    LEDGER_KINDS,
    actor_words,
    details,
    local,
    money,
    uploaders,
    words,
)
from shared.business_time import BusinessCalendar, calendar_for

if TYPE_CHECKING:
    from fpdf import FPDF

# (seller_id, request_id, role, subject, bearer token) -> the request's ledger entries
LedgerEntries = Callable[[str, str, str, str, str], list[dict[str, Any]]]

_LATIN = {
    "\u2014": "-",
    "\u2013": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u20ac": "EUR ",
}


class HttpLedger:
    """The ledger's public API: `GET {base}/v1/sellers/{seller}/ledger?request_id=…`, called with the
    dossier caller's own token (support and auditors read every seller's ledger)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def __call__(
        self, seller_id: str, request_id: str, role: str, sub: str, token: str
    ) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"request_id": request_id, "limit": 500})
        url = f"{self.base_url}/v1/sellers/{urllib.parse.quote(seller_id, safe='')}/ledger?{query}"
        call = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(call, timeout=self.timeout) as answer:
            return list(json.load(answer)["entries"])


@dataclass
class Picture:
    attachment_id: str
    media_type: str
    size: int
    sha256: str
    thumbnail: bytes | None


@dataclass
class DossierData:
    request: dict[str, Any]
    order: dict[str, Any] | None
    history: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    pictures: list[Picture]
    ledger: list[dict[str, Any]] | None
    ledger_note: str = ""
    generated_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def latin(text: Any) -> str:
    value = str(text)
    for wide, narrow in _LATIN.items():
        value = value.replace(wide, narrow)
    value = unicodedata.normalize("NFKC", value)
    return value.encode("latin-1", "replace").decode("latin-1")


def deadline_explanations(history: list[dict[str, Any]], marketplace: str) -> list[str]:
    """For every deadline an event set (`…_due` in its data): from when, until when, how many
    business hours, and which days did not count (weekends, holidays by name)."""
    calendar = calendar_for(marketplace)
    zone = ZoneInfo(calendar.zone)
    lines = []
    for entry in history:
        for key, value in entry["data"].items():
            if not key.endswith("_due") or value is None:
                continue
            due = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            start = entry["at"]
            if isinstance(start, str):
                start = datetime.fromisoformat(start)
            hours = calendar.business_hours_between(start, due)
            skipped = skipped_days(start, due, calendar)
            why = ", ".join(skipped) if skipped else "no weekend or holiday in between"
            lines.append(
                f"{key.removesuffix('_due').replace('_', ' ')}: set by {entry['type']} at "
                f"{local(start, zone)}, due {local(due, zone)} = {hours:g} business hours "
                f"({hours / 24:g} business days) later; not counted: {why}"
            )
    return lines


def skipped_days(start: datetime, end: datetime, calendar: BusinessCalendar) -> list[str]:
    """Each day that did not count, named: the calendar's own runs (shared/business_time.py
    `skipped_days`, which the request state's explanations read too), one day at a time."""
    days = []
    for run in calendar.skipped_days(start, end):
        day = run.first
        while day <= run.last:
            days.append(f"{day.isoformat()} ({run.holiday or day.strftime('%A')})")
            day += timedelta(days=1)
    return days


# Where Debian's fonts-dejavu-core puts its files (also the path in the image, see Dockerfile).
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class Typeface:
    """The dossier's font: a family registered with fpdf2 and how text must be prepared for it."""

    family: str
    regular: Path | None = None
    bold: Path | None = None

    @property
    def unicode(self) -> bool:
        return self.regular is not None

    def text(self, value: Any) -> str:
        return str(value) if self.unicode else latin(value)

    def register(self, pdf: FPDF) -> None:
        if self.regular is not None and self.bold is not None:
            pdf.add_font(self.family, "", str(self.regular))
            pdf.add_font(self.family, "B", str(self.bold))


CORE_FONT = Typeface("Helvetica")


@cache
def find_typeface(directory: Path = DEJAVU_DIR) -> Typeface:
    """DejaVu Sans when its regular and bold files are present, else the core font."""
    regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        return Typeface("DejaVu", regular, bold)
    return CORE_FONT


@cache
def _pdf_class() -> type[FPDF]:
    """fpdf2 is imported on the first dossier, not with the service (issue 30: ~60 MB of memory
    and ~1 s of start-up for a document most processes never render)."""
    from fpdf import FPDF

    class _Pdf(FPDF):
        def __init__(self, typeface: Typeface) -> None:
            super().__init__(format="A4")
            self.typeface = typeface
            typeface.register(self)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(self.typeface.family, size=7)
            self.cell(0, 6, f"Seller Support case dossier - page {self.page_no()}", align="C")

    return _Pdf


def render(data: DossierData, typeface: Typeface | None = None) -> bytes:
    request = data.request
    marketplace = (data.order or {}).get("marketplace") or "US"
    zone = ZoneInfo(calendar_for(marketplace).zone)
    face = typeface or find_typeface()
    settable = face.text  # the text as this typeface can set it (Unicode, or Latin-1)
    family = face.family
    pdf = _pdf_class()(face)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(settable(f"Case dossier {request['id']}"))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(width, 7, settable(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=9)

    def line(text: str) -> None:
        pdf.multi_cell(width, 5, settable(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def indented(text: str) -> None:
        pdf.set_x(pdf.l_margin + 6)
        pdf.multi_cell(width - 6, 4.5, settable(text), align="L", new_x="LMARGIN", new_y="NEXT")

    currency = str(order_currency(data) or "USD")
    uploaded_by = uploaders(data.history)

    pdf.set_font(family, "B", 16)
    # Left-aligned and back at the margin: fpdf2 justifies by default and leaves x at the right
    # edge, which spread the title into gaps and pushed the next block off the page (B11).
    pdf.multi_cell(
        width,
        9,
        settable(f"Case dossier: support request {request['id']}"),
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(family, size=9)
    line(
        f"Status: {words(request['status'])}; resolution: {words(request['resolution'])}; "
        f"reason: {words(request['reason'])}; policy {request.get('policy_version') or '-'}; "
        f"escalated: {'yes' if request['escalated'] else 'no'}."
    )
    line(f"Times in {zone.key} ({marketplace} marketplace).")
    if data.generated_at is not None:
        line(f"Generated {local(data.generated_at, zone)}.")
    if not face.unicode:
        line("Text outside Latin-1 is approximated here: no Unicode font is installed.")

    heading("Order and items")
    order = data.order or {}
    line(
        f"Order {request['order_id']} placed {local(order.get('placed_at'), zone)}; buyer "
        f"{request['buyer_id']}, seller {request['seller_id']}; currency {order.get('currency', '-')}."
    )
    for item in order.get("items", []):
        mark = "*" if item["item_id"] in request["item_ids"] else " "
        line(
            f"{mark} item {item['item_id']}: {item.get('title', '')} ({item.get('category', '-')}), "
            f"price {money(item.get('price'), order.get('currency'))}, seller payout "
            f"{money(item.get('seller_payout'), order.get('currency'))}"
        )
    line("(* = an item of this request)")

    heading("Carrier scans and shipments")
    shipment = order.get("shipment") or {}
    if shipment:
        line(
            f"Original: {shipment.get('carrier', '-')} {shipment.get('service', '')} tracking "
            f"{shipment.get('tracking_number', '-')}, shipped {local(shipment.get('shipped_at'), zone)}"
        )
    line(f"Original delivered: {local(order.get('delivered_at'), zone)}")
    scans = [e for e in data.history if e["actor"] in ("carrier", "platform")]
    for entry in scans:
        detail = "; ".join(details(entry["data"], currency, zone))
        line(f"{local(entry['at'], zone)}  {words(entry['type'])} ({entry['actor']}) {detail}")
    if not scans:
        line("No carrier scan of a return or replacement.")
    address = (request.get("return") or {}).get("address")
    if address:  # R68: recorded when the return was required
        whose = "the seller's" if address.get("source") == "seller" else "the platform's (none set)"
        parts = [address.get(k) for k in ("name", "line1", "line2", "postal_code", "city")]
        parts += [address.get("region"), address.get("country")]
        line(f"Return address ({whose}): " + ", ".join(p for p in parts if p))

    heading("Timeline")
    for entry in data.history:
        line(
            f"{local(entry['at'], zone)}  {words(entry['type'])} by {actor_words(entry['actor'])} "
            f"(v{entry['version']}, {entry['type']})"
        )
        for detail in details(entry["data"], currency, zone):
            indented(detail)

    heading("Messages")
    for message in data.messages:
        attachments = ", ".join(message.get("attachments") or []) or "none"
        line(f"{local(message['at'], zone)}  {message['author']}: {message['body']}")
        indented(f"attachments: {attachments}")
    if not data.messages:
        line("No messages.")

    heading("Photos and evidence")
    for picture in data.pictures:
        who = uploaded_by.get(picture.attachment_id)
        line(
            f"{picture.attachment_id}  {picture.media_type}, {picture.size} bytes"
            + (f", from {actor_words(who[0])} with {words(who[1])}" if who else "")
        )
        indented(f"sha256 {picture.sha256}")
        if picture.thumbnail is not None:
            if pdf.get_y() + 45 > pdf.h - 15:
                pdf.add_page()
            pdf.image(io.BytesIO(picture.thumbnail), h=40, keep_aspect_ratio=True)
            pdf.ln(1)
    if not data.pictures:
        line("No uploaded files (plain references, if any, are in the timeline).")

    heading("Deadlines and why they fell where they did")
    line(
        "Business time runs on whole local business days (Monday-Friday, not a public holiday of "
        "the marketplace's country); weekends and holidays do not count (R1, R2)."
    )
    for explanation in deadline_explanations(data.history, marketplace):
        line("- " + explanation)
    current = {k: v for k, v in request["deadlines"].items() if v is not None}
    overdue = set(request.get("overdue") or ())
    line(
        "In view now: "
        + (
            ", ".join(
                f"{k} {local(v, zone)}{' (passed)' if k in overdue else ''}"
                for k, v in current.items()
            )
            or "none"
        )
    )

    heading("Ledger entries of this request")
    if data.ledger is None:
        line(f"Not available: {data.ledger_note}")
    elif not data.ledger:
        line("No ledger entry for this request.")
    else:
        for entry in data.ledger:
            kind = LEDGER_KINDS.get(str(entry.get("kind")), words(entry.get("kind")))
            line(
                f"{local(entry.get('at'), zone)}  {kind} "
                f"{money(entry.get('amount'), entry.get('currency'))}  (entry {entry.get('id')})"
            )
    for note in data.notes:
        line(note)
    return bytes(pdf.output())


def order_currency(data: DossierData) -> str | None:
    return (data.order or {}).get("currency") or (data.request.get("refund") or {}).get("currency")
