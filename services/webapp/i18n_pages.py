"""The Dutch of the texts of the pages in `services/webapp/pages/` and their templates (issue 29),
kept beside the older catalog in `i18n.py`, which merges it into `NL`."""

from __future__ import annotations

from collections.abc import Mapping

PAGES_NL: Mapping[str, str] = {
    # who did it
    "You": "U",
    # evidence
    "Evidence": "Bewijs",
    "Back to the request": "Terug naar het verzoek",
    "Show the evidence of every step": "Toon het bewijs van elke stap",
    "No photos, files or links yet.": "Nog geen foto's, bestanden of links.",
    "A file you cannot open": "Een bestand dat u niet kunt openen",
    "{kind} {n} from {actor}": "{kind} {n} van {actor}",
    "Link {n}": "Link {n}",
    "Attached file {n}": "Bijgevoegd bestand {n}",
    "JPEG photo": "JPEG-foto",
    "PNG image": "PNG-afbeelding",
    "WebP image": "WebP-afbeelding",
    "PDF document": "PDF-document",
    "MP4 video": "MP4-video",
    "MOV video": "MOV-video",
    "File": "Bestand",
    "{n} bytes": "{n} bytes",
    "{n} KB": "{n} kB",
    "{n} MB": "{n} MB",
    # case file, as of, assigning
    "Case file": "Dossier",
    "Case dossier": "Dossier (PDF)",
    "As of": "Per",
    "Show": "Toon",
    "As it stood on {when}.": "Zoals het er op {when} voor stond.",
    "Back to now": "Terug naar nu",
    "Nothing had happened yet.": "Er was nog niets gebeurd.",
    "As of: type a date and time such as 2027-01-05 14:30.": (
        "Per: typ een datum en tijd zoals 2027-01-05 14:30."
    ),
    "You are assigned to this request.": "U bent aan dit verzoek toegewezen.",
    "This page is for {roles}.": "Deze pagina is voor {roles}.",
    # confirming money and decisions
    "Confirm": "Bevestigen",
    "Cancel": "Annuleren",
    "Confirm: {what}": "Bevestigen: {what}",
    "What happens": "Wat er gebeurt",
    "Automatic USPS claim": "Automatische USPS-claim",
    "Type the amount to offer.": "Typ het bedrag dat u aanbiedt.",
    "The largest amount allowed is {max}.": "Het hoogste toegestane bedrag is {max}.",
    "The amount must be less than the full refund of {paid}.": (
        "Het bedrag moet lager zijn dan de volledige terugbetaling van {paid}."
    ),
    "The buyer gets {paid} back (the items and their shipping); it reaches them in 3 to 5 days. "
    "You are charged {charge} now.": (
        "De koper krijgt {paid} terug (de artikelen en hun verzending); dat staat binnen 3 tot 5 dagen "
        "op de rekening. U betaalt nu {charge}."
    ),
    "The buyer has 5 business days to send the items back. When you confirm the return (or 2 "
    "business days after it is delivered) the buyer gets {paid} back and you are charged {charge} "
    "plus the return label's cost.": (
        "De koper heeft 5 werkdagen om de artikelen terug te sturen. Als u de retour bevestigt (of "
        "2 werkdagen na de bezorging) krijgt de koper {paid} terug en betaalt u {charge} plus de "
        "kosten van het retourlabel."
    ),
    "The buyer is offered {amount}. If they accept, they get {amount} back and you are charged "
    "{amount}; if they decline, they may return the items for a full refund.": (
        "De koper krijgt {amount} aangeboden. Accepteert de koper, dan krijgt die {amount} terug en "
        "betaalt u {amount}; weigert de koper, dan mag die de artikelen retourneren voor een "
        "volledige terugbetaling."
    ),
    "The buyer gets {paid} back. The seller pays: {charge} is charged to the seller.": (
        "De koper krijgt {paid} terug. De verkoper betaalt: {charge} gaat ten laste van de verkoper."
    ),
    "The buyer sends the items back; when the return is confirmed the buyer gets {paid} back. "
    "The seller pays: {charge} plus the return label's cost.": (
        "De koper stuurt de artikelen terug; na bevestiging van de retour krijgt de koper {paid} "
        "terug. De verkoper betaalt: {charge} plus de kosten van het retourlabel."
    ),
    "No refund: the request closes in the seller's favour. Nobody pays anything.": (
        "Geen terugbetaling: het verzoek sluit in het voordeel van de verkoper. Niemand betaalt iets."
    ),
    "The buyer gets {paid} back. The platform pays; the seller is charged nothing.": (
        "De koper krijgt {paid} terug. Het platform betaalt; de verkoper betaalt niets."
    ),
    "The platform files the shipping-insurance claim for you 14 days after the ship date; a paid "
    "claim is credited to your ledger.": (
        "Het platform dient de verzekeringsclaim 14 dagen na de verzenddatum voor u in; een "
        "uitbetaalde claim komt in uw grootboek."
    ),
    # notifications
    "Older notifications": "Oudere meldingen",
    "Newest notifications": "Nieuwste meldingen",
    "{count} unread": "{count} ongelezen",
    # inbox
    "Due {when}": "Uiterlijk {when}",
    "Everything": "Alles",
    "Filters": "Filters",
    "Overdue": "Te laat",
    "Search my requests": "Mijn verzoeken zoeken",
    "Waiting on me": "Wacht op mij",
    # support queue
    "Mine": "Van mij",
    "Unassigned": "Niet toegewezen",
}
