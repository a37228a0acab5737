"""English and Dutch: a catalog per language and Babel for dates, numbers and money.

Templates call `_` with the English text; English is the key, `NL` holds the Dutch of every key
(a unit test finds every such call in the templates and code and checks Dutch has it). Dates and times are
shown in the marketplace's zone, money from integer minor units, both formatted for the locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision

from services.webapp.i18n_pages import PAGES_NL
from shared.vocabulary import (
    RETURN_FOR_REFUND_WINDOW,
    Deadline,
    OfferState,
    Reason,
    Resolution,
    Status,
)

LOCALES: tuple[str, ...] = ("en", "nl")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "nl": "Nederlands"}
_BABEL: Mapping[str, str] = {"en": "en_US", "nl": "nl_NL"}

STATUS_WORDS: Mapping[str, str] = {
    Status.AWAITING_SELLER: "Waiting for the seller's response",
    Status.AWAITING_BUYER: "Waiting for the buyer's information",
    # B4: after a no-refund explanation the buyer was not asked for anything
    f"{Status.AWAITING_BUYER}:no_refund": "The seller declined a refund; the buyer may reply or escalate",
    Status.OFFER_PENDING: "An offer waits for the buyer's answer",
    Status.AWAITING_RETURN: "Waiting for the buyer to ship the return",
    Status.RETURN_IN_TRANSIT: "The return is on its way",
    Status.AWAITING_INSPECTION: "The return arrived; waiting for the seller's inspection",
    # B7: nothing is on its way before the carrier's first scan
    Status.REPLACEMENT_PENDING: "Waiting for the seller to ship the replacement",
    f"{Status.REPLACEMENT_PENDING}:late": "The replacement is late; the buyer may return the original",
    Status.ESCALATED: "Escalated to platform support",
    Status.RESOLVED: "Resolved",
    Status.CANCELLED: "Cancelled",
}
# B9: only a pending offer is current
OFFER_WORDS: Mapping[str, str] = {
    OfferState.PENDING: "Offer",
    OfferState.ACCEPTED: "Accepted offer",
    OfferState.DECLINED: "Declined offer",
    OfferState.LAPSED: "Lapsed offer",
}
RESOLUTION_WORDS: Mapping[str, str] = {
    Resolution.FULL_REFUND: "full refund",
    Resolution.PARTIAL_REFUND: "partial refund",
    Resolution.REPLACEMENT: "replacement",
    Resolution.NO_REFUND: "no refund",
    Resolution.RETURN_NOT_SHIPPED: "return not shipped",
}
REASON_WORDS: Mapping[str, str] = {
    Reason.SIGNIFICANTLY_DELAYED: "significantly delayed",
    Reason.MISSING_ITEM: "missing item",
    Reason.WRONG_ITEM: "wrong item",
    Reason.NOT_AS_DESCRIBED: "not as described",
    Reason.DEFECTIVE: "defective",
    Reason.RETURNED_TO_SENDER: "returned to sender",
    Reason.DAMAGED_IN_TRANSIT: "damaged in transit",
    Reason.OTHER: "other",
}
DEADLINE_WORDS: Mapping[str, str] = {
    Deadline.SELLER_RESPONSE: "Seller's response due",
    Deadline.OFFER_ANSWER: "Answer to the offer due",
    Deadline.RETURN_DROPOFF: "Return must be shipped by",
    Deadline.RETURN_INSPECTION: "Inspection of the return due",
    Deadline.REPLACEMENT_SHIP: "Replacement must ship by",
    Deadline.NO_REFUND_CLOSE: "Closes without refund on",
    RETURN_FOR_REFUND_WINDOW: "Original may be returned for a refund until",
}
EVENT_WORDS: Mapping[str, str] = {
    "opened": "Request opened",
    "full_refund_offered": "Full refund given",
    "return_required": "Return requested for a full refund",
    "partial_refund_offered": "Partial refund offered",
    "replacement_promised": "Replacement promised",
    "no_refund_explained": "No refund: the seller explained why",
    "information_requested": "The seller asked for information",
    "message_posted": "Message",
    "offer_accepted": "Offer accepted",
    "offer_declined": "Offer declined",
    "offer_lapsed": "Offer lapsed",
    "return_label_issued": "Return label issued",
    "return_dropped_off": "Return shipped",
    "return_delivered": "Return delivered to the seller",
    "return_confirmed": "Return confirmed",
    "return_auto_confirmed": "Return confirmed automatically",
    "return_disputed": "Return disputed",
    "return_window_expired": "Return window expired",
    "return_for_refund_chosen": "Buyer chose to return the item for a refund",
    "replacement_shipped": "Replacement shipped",
    "replacement_overdue": "Replacement overdue",
    "seller_response_overdue": "Seller's response overdue",
    "no_refund_closed": "Closed without refund",
    "escalated": "Escalated to support",
    "support_decided": "Support decided",
    "feedback_given": "Feedback given",
    "agent_assigned": "Support agent assigned",
}
ACTOR_WORDS: Mapping[str, str] = {
    "buyer": "buyer",
    "seller": "seller",
    "support": "support",
    "system": "system",
    "carrier": "carrier",
    "platform": "platform",
    "auditor": "auditor",
    "admin": "admin",
}

NL: Mapping[str, str] = {
    **PAGES_NL,
    # frame and navigation
    "Seller Support": "Seller Support",
    "Skip to content": "Naar de inhoud",
    "Main": "Hoofdmenu",
    "Inbox": "Inbox",
    "Support queue": "Supportwachtrij",
    "Search requests": "Verzoeken zoeken",
    "Ledger": "Grootboek",
    "Rating": "Beoordeling",
    "Performance": "Prestaties",
    "Notifications": "Meldingen",
    "Sign out": "Afmelden",
    "Language": "Taal",
    "Change": "Wijzig",
    "Signed in as {role} {user}": "Aangemeld als {role} {user}",
    "Something went wrong": "Er ging iets mis",
    "Back to the start": "Terug naar het begin",
    "Not allowed": "Niet toegestaan",
    "The form expired; please try again.": "Het formulier is verlopen; probeer het opnieuw.",
    "Done.": "Gedaan.",
    # sign-in
    "Sign in": "Aanmelden",
    "Role": "Rol",
    "User id": "Gebruikers-id",
    "Bearer token": "Bearer-token",
    "buyer": "koper",
    "seller": "verkoper",
    "support": "support",
    "auditor": "auditor",
    "system": "systeem",
    "carrier": "vervoerder",
    "platform": "platform",
    "admin": "beheerder",
    "Development sign-in: choose a role and any user id; the app mints a token for it.": "Ontwikkel-aanmelding: kies een rol en een gebruikers-id; de app maakt er een token voor.",
    "Paste the bearer token the platform gave you.": "Plak het bearer-token dat het platform u gaf.",
    "Type a user id.": "Vul een gebruikers-id in.",
    "That token was refused: {detail}": "Dat token werd geweigerd: {detail}",
    # inbox
    "Customer Service": "Klantenservice",
    "All Messages": "Alle berichten",
    "Archived": "Gearchiveerd",
    "Archive": "Archiveren",
    "Mark unread": "Markeer als ongelezen",
    "Move to inbox": "Terug naar inbox",
    "Unread": "Ongelezen",
    "Order {order}": "Bestelling {order}",
    "with {who}": "met {who}",
    "Last activity {when}": "Laatste activiteit {when}",
    "{count} waiting on you": "{count} wachten op u",
    "Waits on you": "Wacht op u",
    "No conversations here.": "Hier zijn geen gesprekken.",
    "More": "Meer",
    "Conversations": "Gesprekken",
    # request page
    "Request on order {order}": "Verzoek over bestelling {order}",
    "Status": "Status",
    "Resolution: {resolution}": "Afhandeling: {resolution}",
    "Reason": "Reden",
    "Opened": "Geopend",
    "Buyer": "Koper",
    "Seller": "Verkoper",
    "Items": "Artikelen",
    "Price": "Prijs",
    "Photos": "Foto's",
    "Photo {n}": "Foto {n}",
    "No photos.": "Geen foto's.",
    "Description": "Omschrijving",
    "Next deadline": "Volgende termijn",
    "No open deadline.": "Geen open termijn.",
    "{left} business time left": "nog {left} werktijd",
    "The deadline has passed.": "De termijn is verstreken.",
    "{hours} business hours": "{hours} werkuren",
    "skipped {days}": "overgeslagen: {days}",
    "no days skipped": "geen dagen overgeslagen",
    "{first}–{last}": "{first}–{last}",  # noqa: RUF001
    "Offer": "Bod",
    "Refund": "Terugbetaling",
    "Return tracking number": "Trackingnummer retour",
    "Return shipping cost": "Retourverzendkosten",
    "Escalated": "Geëscaleerd",
    "Timeline": "Tijdlijn",
    "by {actor}": "door {actor}",
    "Messages": "Berichten",
    "No messages yet.": "Nog geen berichten.",
    "Message": "Bericht",
    "Send": "Versturen",
    "Attachments": "Bijlagen",
    "What you can do now": "Wat u nu kunt doen",
    "Nothing waits on you here now.": "Hier wacht nu niets op u.",
    "The conversation closed when the request was escalated.": "Het gesprek is gesloten sinds het verzoek is geëscaleerd.",
    "Full refund": "Volledige terugbetaling",
    "Refund with return": "Terugbetaling met retour",
    "Partial refund": "Gedeeltelijke terugbetaling",
    "Amount": "Bedrag",
    "in {currency}, for example 10.00": "in {currency}, bijvoorbeeld 10,00",
    "Send replacement": "Vervanging sturen",
    "Carrier": "Vervoerder",
    "Tracking number": "Trackingnummer",
    "No refund": "Geen terugbetaling",
    "Evidence links, one per line": "Links naar bewijs, één per regel",
    "Evidence files": "Bestanden als bewijs",
    "Attach files": "Bestanden bijvoegen",
    "Photos (JPEG, PNG, WebP, HEIC), PDF or video (MP4, MOV); at most {files} files.": (
        "Foto's (JPEG, PNG, WebP, HEIC), pdf of video (MP4, MOV); hoogstens {files} bestanden."
    ),
    "Too large": "Te groot",
    "Attach at most {files} files of {size} MB in all.": (
        "Voeg hoogstens {files} bestanden van samen {size} MB bij."
    ),
    "Ask for information": "Om informatie vragen",
    "Confirm return": "Retour bevestigen",
    "Dispute return": "Retour betwisten",
    "Accept offer": "Bod accepteren",
    "Decline offer": "Bod weigeren",
    "Escalate": "Escaleren",
    "Return for refund": "Retourneren voor terugbetaling",
    "Thumbs up": "Duim omhoog",
    "Thumbs down": "Duim omlaag",
    "How was the support?": "Hoe was de hulp?",
    "Decision": "Besluit",
    "Uphold seller": "Verkoper in het gelijk stellen",
    "Platform refund": "Terugbetaling door het platform",
    "That was refused: {detail}": "Dat werd geweigerd: {detail}",
    "Amount: type an amount such as 10.00.": "Bedrag: vul een bedrag in zoals 10,00.",
    # support queue and search
    "Waiting since": "Wacht sinds",
    "Waited": "Gewacht",
    "SLA breached": "SLA overschreden",
    "Grounds": "Gronden",
    "Assigned to": "Toegewezen aan",
    "Nobody": "Niemand",
    "Assign to me": "Aan mij toewijzen",
    "Nothing waits for support.": "Er wacht niets op support.",
    "Search": "Zoeken",
    "Order id, request id or text": "Bestel-id, verzoek-id of tekst",
    "No requests found.": "Geen verzoeken gevonden.",
    "Request": "Verzoek",
    "Order": "Bestelling",
    "Waiting on": "Wacht op",
    "Deadline": "Termijn",
    # ledger, rating, performance, notifications
    "Balance": "Saldo",
    "Entries": "Boekingen",
    "When": "Wanneer",
    "Kind": "Soort",
    "No entries.": "Geen boekingen.",
    "Support rating": "Supportbeoordeling",
    "Level": "Niveau",
    "Not visible yet": "Nog niet zichtbaar",
    "Requests considered": "Meegetelde verzoeken",
    "Window": "Periode",
    "Customer satisfaction (CSAT)": "Klanttevredenheid (CSAT)",
    "Explanation per request": "Toelichting per verzoek",
    "Figure": "Cijfer",
    "Effect": "Effect",
    "Why": "Waarom",
    "raised": "verhoogd",
    "lowered": "verlaagd",
    "none": "geen",
    "mixed": "gemengd",
    "nobody": "niemand",
    "Value": "Waarde",
    "No notifications.": "Geen meldingen.",
    "unavailable: {detail}": "niet beschikbaar: {detail}",
    "Live updates on": "Live bijwerken aan",
    "{count} waiting on support": "{count} wachten op support",
    "{count} past the SLA of {hours} business hours": "{count} over de SLA van {hours} werkuren",
    "Last {days} days": "Laatste {days} dagen",
    "Requests received": "Ontvangen verzoeken",
    "Answered within the deadline": "Binnen de termijn beantwoord",
    "Median first response": "Mediaan eerste antwoord",
    "Missed deadlines": "Gemiste termijnen",
    "Escalations": "Escalaties",
    "Overturned by support": "Teruggedraaid door support",
    # statuses, resolutions, reasons, deadlines, timeline events
    "Accepted offer": "Geaccepteerd bod",
    "Declined offer": "Afgewezen bod",
    "Lapsed offer": "Verlopen bod",
    "Waiting for the seller to ship the replacement": "Wacht tot de verkoper de vervanging verzendt",
    "The replacement is late; the buyer may return the original": (
        "De vervanging is te laat; de koper mag het origineel terugsturen"
    ),
    "The seller declined a refund; the buyer may reply or escalate": (
        "De verkoper weigerde een terugbetaling; de koper mag reageren of escaleren"
    ),
    "Original may be returned for a refund until": (
        "Origineel mag voor een terugbetaling worden teruggestuurd tot"
    ),
    "An offer waits for the buyer's answer": "Een bod wacht op het antwoord van de koper",
    "Answer to the offer due": "Antwoord op het bod uiterlijk",
    "Buyer chose to return the item for a refund": "Koper koos ervoor het artikel te retourneren voor terugbetaling",
    "Cancelled": "Geannuleerd",
    "Closed without refund": "Gesloten zonder terugbetaling",
    "Closes without refund on": "Sluit zonder terugbetaling op",
    "Escalated to platform support": "Geëscaleerd naar platformsupport",
    "Escalated to support": "Geëscaleerd naar support",
    "Feedback given": "Feedback gegeven",
    "Support agent assigned": "Supportmedewerker toegewezen",
    "Full refund given": "Volledig terugbetaald",
    "Inspection of the return due": "Inspectie van de retour uiterlijk",
    "No refund: the seller explained why": "Geen terugbetaling: de verkoper legde uit waarom",
    "Offer accepted": "Bod geaccepteerd",
    "Offer declined": "Bod geweigerd",
    "Offer lapsed": "Bod verlopen",
    "Partial refund offered": "Gedeeltelijke terugbetaling geboden",
    "Replacement must ship by": "Vervanging moet verzonden zijn op",
    "Replacement overdue": "Vervanging te laat",
    "Replacement promised": "Vervanging toegezegd",
    "Replacement shipped": "Vervanging verzonden",
    "Request opened": "Verzoek geopend",
    "Resolved": "Afgehandeld",
    "Return confirmed": "Retour bevestigd",
    "Return confirmed automatically": "Retour automatisch bevestigd",
    "Return delivered to the seller": "Retour afgeleverd bij de verkoper",
    "Return disputed": "Retour betwist",
    "Return label issued": "Retourlabel uitgegeven",
    "Return must be shipped by": "Retour moet verzonden zijn op",
    "Return requested for a full refund": "Retour gevraagd voor volledige terugbetaling",
    "Return shipped": "Retour verzonden",
    "Return window expired": "Retourtermijn verstreken",
    "Seller's response due": "Antwoord van de verkoper uiterlijk",
    "Seller's response overdue": "Antwoord van de verkoper te laat",
    "Support decided": "Support heeft besloten",
    "The return arrived; waiting for the seller's inspection": "De retour is aangekomen; wacht op inspectie door de verkoper",
    "The return is on its way": "De retour is onderweg",
    "The seller asked for information": "De verkoper vroeg om informatie",
    "Waiting for the buyer to ship the return": "Wacht tot de koper de retour verzendt",
    "Waiting for the buyer's information": "Wacht op informatie van de koper",
    "Waiting for the seller's response": "Wacht op het antwoord van de verkoper",
    "damaged in transit": "beschadigd tijdens verzending",
    "defective": "defect",
    "full refund": "volledige terugbetaling",
    "missing item": "ontbrekend artikel",
    "no refund": "geen terugbetaling",
    "not as described": "niet zoals beschreven",
    "other": "overig",
    "partial refund": "gedeeltelijke terugbetaling",
    "replacement": "vervanging",
    "return not shipped": "retour niet verzonden",
    "returned to sender": "retour afzender",
    "significantly delayed": "sterk vertraagd",
    "wrong item": "verkeerd artikel",
}


class Translator:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        # A parsed Locale, not its name: Babel would parse the name again on every call.
        self.babel = Locale.parse(_BABEL[self.locale])

    def __call__(self, text: str, **values: Any) -> str:
        if self.locale == "nl":
            text = NL.get(text, text)
        return text.format(**values) if values else text

    def words(self, table: Mapping[str, str], key: Any) -> str:
        if key is None:
            return ""
        return self(table.get(str(key), str(key).replace("_", " ")))

    def when(self, value: Any, zone: ZoneInfo) -> str:
        if value in (None, ""):
            return "—"
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        # The zone's own abbreviation (EST, CET) in every language: Babel's Dutch names some zones
        # by offset ("-0500") and others by name, so two pages disagreed (finding B13).
        local = moment.astimezone(zone)
        text = format_datetime(local, "EEE d MMM y, HH:mm", tzinfo=zone, locale=self.babel)
        return f"{text} {local.tzname()}"

    def day(self, value: date) -> str:
        return format_date(value, "EEE d MMM", locale=self.babel)

    def money(self, minor: Any, currency: str) -> str:
        if minor is None:
            return "—"
        digits = get_currency_precision(currency)
        return format_currency(Decimal(int(minor)).scaleb(-digits), currency, locale=self.babel)

    def number(self, value: float, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.babel)

    def duration(self, hours: float) -> str:
        """Business time as hours and minutes: `47 h 30 min` / `47 u 30 min`."""
        minutes = max(0, round(hours * 60))
        whole, rest = divmod(minutes, 60)
        unit = "u" if self.locale == "nl" else "h"
        return f"{whole} {unit} {rest} min" if rest else f"{whole} {unit}"


def currency_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def pick_locale(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate:
            short = candidate.split(",")[0].split(";")[0].strip().lower()[:2]
            if short in LOCALES:
                return short
    return DEFAULT_LOCALE
