"""Jinja2 templates per notification kind and locale (R54): `templates/<locale>/<kind>.j2`.

Each kind's template extends its locale's `_base.j2` and defines two blocks: `subject` (one line)
and `content` (the body between the base's greeting and footer). The same text serves the e-mail and
the in-app notification. Undefined variables are errors (StrictUndefined), so a template that
names a field its event does not carry fails the rendering tests rather than a recipient.

Rendering happens at the edge, never in the projection: the feed, the live stream and the mailer
render a stored notification (kind, locale, recipient, its source's JSON context) with
`render_notification`, which falls back to the generic `update` template when the kind's own
template fails.

Times are shown in the marketplace's zone (R2), amounts from integer minor units.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notifications.domain import DEFAULT_LOCALE, LOCALES
from shared.business_time import calendar_for

log = logging.getLogger("seller_support.notifications")

TEMPLATES = Path(__file__).with_name("templates")
FALLBACK_KIND = "update"

_DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
}
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "TWD", "VND"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    locale: str


def pick_locale(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def zone_of(marketplace: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(calendar_for(marketplace or "US").zone)
    except Exception:
        return ZoneInfo("UTC")


def format_time(value: Any, locale: str, zone: ZoneInfo) -> str:
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    local = moment.astimezone(zone)
    day = _DAYS[locale][local.weekday()]
    month = _MONTHS[locale][local.month - 1]
    return f"{day} {local.day} {month} {local.year}, {local:%H:%M} {local.tzname()}"


def format_money(amount: Any, currency: str, locale: str) -> str:
    if amount is None:
        return "—"
    minor = int(amount)
    if currency.upper() in _ZERO_DECIMAL_CURRENCIES:
        number = f"{minor:,}"
    else:
        sign = "-" if minor < 0 else ""
        whole, cents = divmod(abs(minor), 100)
        number = f"{sign}{whole:,}.{cents:02d}"
    if locale == "nl":  # 1.234,56
        number = number.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{currency.upper()} {number}"


def recipient_context(
    shared: Mapping[str, Any], audience: str, recipient_id: str
) -> dict[str, Any]:
    """A source's stored context completed with what differs per recipient."""
    counterpart = {"buyer": shared.get("seller_id"), "seller": shared.get("buyer_id")}.get(audience)
    return {
        "audience": audience,
        "recipient_id": recipient_id,
        "counterpart_id": counterpart,
        **shared,
    }


class Renderer:
    def __init__(self, templates: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates)),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text e-mail and in-app text
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates ship with the package and never change while the process runs; reloading
            # would stat every template file on every notification rendered.
            auto_reload=False,
        )

    def has_template(self, kind: str, locale: str) -> bool:
        return (Path(self.env.loader.searchpath[0]) / locale / f"{kind}.j2").is_file()  # type: ignore[union-attr]

    def render(self, kind: str, locale: str | None, context: Mapping[str, Any]) -> Rendered:
        chosen = pick_locale(locale)
        zone = zone_of(context.get("marketplace"))
        currency = str(context.get("currency") or "USD")
        values = {
            **context,
            "kind": kind,
            "locale": chosen,
            "when": lambda v: format_time(v, chosen, zone),
            "money": lambda v, c=None: format_money(v, c or currency, chosen),
        }
        template = self.env.get_template(f"{chosen}/{kind}.j2")
        ctx = template.new_context(values)
        subject = " ".join("".join(template.blocks["subject"](ctx)).split())
        body = template.render(values).strip() + "\n"
        return Rendered(subject=subject, body=body, locale=chosen)

    def render_notification(self, notification: Mapping[str, Any]) -> Rendered:
        """A stored notification's text (its `kind`, `locale`, `audience`, `recipient_id` and its
        source's `context`); the generic update when its own template fails."""
        kind, locale = notification["kind"], notification["locale"]
        context = recipient_context(
            notification["context"], notification["audience"], notification["recipient_id"]
        )
        try:
            return self.render(kind, locale, context)
        except Exception:  # a template bug must not keep a notification from being read or sent
            log.exception("rendering %s failed; showing the generic update", kind)
            return self.render(FALLBACK_KIND, locale, context)
