"""The Dutch of the texts of the pages in `services/webapp/pages/` and their templates (issue 29),
kept beside the older catalog in `i18n.py`, which merges it into `NL`."""

from __future__ import annotations

from collections.abc import Mapping

# What the ledger, rating and performance pages show for the API's codes (findings B14, B17):
# words, never a raw code or a rule number. English here; the Dutch is in PAGES_NL below.
LEDGER_KIND_WORDS: Mapping[str, str] = {
    "refund_no_return": "Full refund",
    "refund_after_return": "Refund after the return",
    "partial_refund": "Partial refund",
    "support_ruling": "Refund decided by support",
    "claim_credit": "Shipping claim paid",
}
LEVEL_WORDS: Mapping[str, str] = {
    "excellent": "Excellent",
    "great": "Great",
    "good": "Good",
    "average": "Average",
    "below_average": "Below average",
}
WINDOW_WORDS: Mapping[str, str] = {
    "90_days": "The last 90 days",
    "last_10": "Your last 10 requests",
}
EFFECT_WORDS: Mapping[str, str] = {
    "raised": "Raised the rating",
    "lowered": "Lowered the rating",
    "mixed": "Raised and lowered the rating",
    "none": "No effect on the rating",
}
# One line per reason the ratings service gives (its `code`), said for that reason alone, so that a
# request that was lowered for one reason and has a neutral note for another never reads as both
# "lowered" and "does not affect the rating" (B17).
RATING_REASON_WORDS: Mapping[str, str] = {
    "fitting_resolution": "You resolved it with a fitting resolution",
    "positive_feedback": "The buyer gave a thumbs up",
    "negative_feedback": "The buyer gave a thumbs down",
    "escalated_after_no_response": (
        "You did not respond within 2 business days and the buyer escalated"
    ),
    "overturned_by_support": "Support decided against you after the buyer escalated",
    "ineligibility_explained": "You explained why the case was not eligible",
    "support_agreed_with_seller": "Support agreed with you",
    "platform_funded_refund": "The platform paid the refund",
    "support_decided_seller_dispute": "Support decided on the return you disputed",
}

STANDING_WORDS: Mapping[str, str] = {
    "answered_in_time": "Answered in time",
    "escalated_unanswered": "Escalated without an answer",
    "overturned": "Overturned by support",
}
STANDING_STATE_WORDS: Mapping[str, str] = {
    "exceeds": "Better than the standard",
    "meets": "Meets the standard",
    "below": "Below the standard",
}

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
    # ledger, rating, performance (B14, B17, B18)
    "Refund after the return": "Terugbetaling na de retour",
    "Refund decided by support": "Terugbetaling besloten door support",
    "Shipping claim paid": "Verzendclaim uitbetaald",
    "Excellent": "Uitstekend",
    "Great": "Zeer goed",
    "Good": "Goed",
    "Average": "Gemiddeld",
    "Below average": "Onder het gemiddelde",
    "The last 90 days": "De laatste 90 dagen",
    "Your last 10 requests": "Uw laatste 10 verzoeken",
    "Raised the rating": "Verhoogde de beoordeling",
    "Lowered the rating": "Verlaagde de beoordeling",
    "Raised and lowered the rating": "Verhoogde en verlaagde de beoordeling",
    "No effect on the rating": "Geen invloed op de beoordeling",
    "You resolved it with a fitting resolution": "U loste het passend op",
    "The buyer gave a thumbs up": "De koper gaf een duim omhoog",
    "The buyer gave a thumbs down": "De koper gaf een duim omlaag",
    "You did not respond within 2 business days and the buyer escalated": (
        "U reageerde niet binnen 2 werkdagen en de koper escaleerde"
    ),
    "Support decided against you after the buyer escalated": (
        "Support besliste tegen u nadat de koper escaleerde"
    ),
    "You explained why the case was not eligible": "U legde uit waarom de zaak niet in aanmerking kwam",
    "Support agreed with you": "Support was het met u eens",
    "The platform paid the refund": "Het platform betaalde de terugbetaling",
    "Support decided on the return you disputed": "Support besliste over de retour die u betwistte",
    "{points} points": "{points} punten",
    "no points": "geen punten",
    "What these figures count": "Wat deze cijfers tellen",
    "Requests received: every request opened on your orders in the window.": (
        "Ontvangen verzoeken: elk verzoek op uw bestellingen in deze periode."
    ),
    "Answered within the deadline: of the requests you answered or whose 48 business hours have "
    "ended, those you answered in time. Requests still inside their 48 business hours are not "
    "counted yet.": (
        "Binnen de termijn beantwoord: van de verzoeken die u beantwoordde of waarvan de 48 "
        "werkuren voorbij zijn, de verzoeken die u op tijd beantwoordde. Verzoeken die nog binnen "
        "hun 48 werkuren vallen, tellen nog niet mee."
    ),
    "Missed deadlines: requests you did not answer within their 48 business hours.": (
        "Gemiste termijnen: verzoeken die u niet binnen hun 48 werkuren beantwoordde."
    ),
    "Escalations: requests the buyer escalated to support.": (
        "Escalaties: verzoeken die de koper aan support voorlegde."
    ),
    "Overturned by support: escalated requests support decided against you.": (
        "Door support herzien: geëscaleerde verzoeken waarin support tegen u besliste."
    ),
    "Only the reasons that carry points move the rating; the others are shown for your information.": (
        "Alleen redenen met punten veranderen de beoordeling; de andere staan er ter informatie."
    ),
    "Type an order id, the start of one, a request id or words from the item or the messages.": (
        "Typ een bestelnummer of het begin ervan, een verzoek-id of woorden uit het artikel of de "
        "berichten."
    ),
    # orders, getting help, cancellations
    "Orders": "Bestellingen",
    "No orders.": "Geen bestellingen.",
    "Placed": "Geplaatst",
    "Placed {when}": "Geplaatst {when}",
    "Get help": "Hulp vragen",
    "Send request": "Verzoek versturen",
    "Photos (JPEG, PNG, WebP, HEIC); at most {files} files.": (
        "Foto's (JPEG, PNG, WebP, HEIC); hoogstens {files} bestanden."
    ),
    "Your request was sent.": "Uw verzoek is verstuurd.",
    "Refunded {amount}": "Terugbetaald: {amount}",
    "You can ask for help with this item.": "U kunt hulp vragen bij dit artikel.",
    "Help can be asked for this item.": "Voor dit artikel kan hulp worden gevraagd.",
    "Help cannot be asked now: {why}": "Nu kan geen hulp worden gevraagd: {why}",
    "View support request": "Supportverzoek bekijken",
    "Support requests": "Supportverzoeken",
    "Shipment": "Zending",
    "Original shipment": "Oorspronkelijke zending",
    "Shipped": "Verzonden",
    "Delivered": "Bezorgd",
    "Not yet": "Nog niet",
    "Last scan": "Laatste scan",
    "Not shipped yet.": "Nog niet verzonden.",
    "The order's shipment is not available.": "De zending van de bestelling is niet beschikbaar.",
    "Cancel the order": "De bestelling annuleren",
    "Request cancellation": "Annulering aanvragen",
    "Cancellation request": "Annuleringsverzoek",
    "Your cancellation request was sent to the seller.": (
        "Uw annuleringsverzoek is naar de verkoper gestuurd."
    ),
    "Accept cancellation": "Annulering accepteren",
    "Decline cancellation": "Annulering weigeren",
    "Answer by {when}": "Antwoord uiterlijk {when}",
    "The buyer asks to cancel: {reason}": "De koper vraagt om annulering: {reason}",
    # what happens next (buyer)
    "What happens next": "Wat er nu gebeurt",
    "The seller offers {amount}. If you accept, you get {amount} back. If you decline, you may "
    "send the item back within 5 business days for a full refund.": (
        "De verkoper biedt {amount}. Accepteert u, dan krijgt u {amount} terug. Weigert u, dan mag "
        "u het artikel binnen 5 werkdagen terugsturen voor een volledige terugbetaling."
    ),
    "Answer by {when}.": "Antwoord uiterlijk {when}.",
    "Send the item back for a full refund.": (
        "Stuur het artikel terug voor een volledige terugbetaling."
    ),
    "Drop it off by {when}.": "Lever het uiterlijk {when} af.",
    "Return address": "Retouradres",
    "Return label tracking number: {number}": "Trackingnummer van het retourlabel: {number}",
    "The return label and its tracking number appear here as soon as the platform issues it.": (
        "Het retourlabel en het trackingnummer verschijnen hier zodra het platform het aanmaakt."
    ),
    "Your return is on its way to the seller. The seller inspects it within 2 business days of "
    "delivery; then you are refunded.": (
        "Uw retour is onderweg naar de verkoper. De verkoper controleert het binnen 2 werkdagen na "
        "bezorging; daarna krijgt u uw geld terug."
    ),
    "Platform support reviews the case, with everything you and the seller sent, and decides. You "
    "get an e-mail and a notification when they do.": (
        "Platformsupport bekijkt de zaak, met alles wat u en de verkoper stuurden, en beslist. U "
        "krijgt een e-mail en een melding zodra dat gebeurt."
    ),
    "You are refunded {amount}. It reaches your original payment method in 3 to 5 days.": (
        "U krijgt {amount} terug. Het staat binnen 3 tot 5 dagen op uw oorspronkelijke "
        "betaalmethode."
    ),
    "The seller answers by the deadline above; if they do not, you may escalate to platform "
    "support.": (
        "De verkoper antwoordt voor de termijn hierboven; zo niet, dan kunt u het aan "
        "platformsupport voorleggen."
    ),
    "You get a notification when something changes.": "U krijgt een melding als er iets verandert.",
    "no feedback yet": "nog geen feedback",
    # seller programme, standing, the request list
    "Settings": "Instellingen",
    "Standing": "Status als verkoper",
    "Seller support programme": "Programma voor verkopersupport",
    "You are enrolled since {when}.": "U doet mee sinds {when}.",
    "You are enrolled.": "U doet mee.",
    "You are on the waitlist since {when}.": "U staat sinds {when} op de wachtlijst.",
    "You are not enrolled yet: requests on your orders go to platform support.": (
        "U doet nog niet mee: verzoeken op uw bestellingen gaan naar platformsupport."
    ),
    "Join the waitlist": "Op de wachtlijst",
    "You are on the waitlist.": "U staat op de wachtlijst.",
    "Buyers send returns here; the address in force when a return is required is the one they "
    "see.": (
        "Kopers sturen retouren hierheen; ze zien het adres dat geldt op het moment dat een retour "
        "nodig is."
    ),
    "Name": "Naam",
    "Address line 1": "Adresregel 1",
    "Address line 2": "Adresregel 2",
    "City": "Plaats",
    "Region": "Regio",
    "Postal code": "Postcode",
    "Country": "Land",
    "Save": "Opslaan",
    "Your return address is saved.": "Uw retouradres is opgeslagen.",
    "From {start} to {end}": "Van {start} tot {end}",
    "Standard": "Norm",
    "Where you stand": "Waar u staat",
    "Requests": "Verzoeken",
    "The requests behind it": "De verzoeken erachter",
    "Nothing settled yet": "Nog niets afgehandeld",
    "{count} of {total}": "{count} van {total}",
    "at least {share} %": "minstens {share} %",
    "at most {count}": "hoogstens {count}",
    "Evaluated {when}": "Beoordeeld {when}",
    "Answered in time": "Op tijd beantwoord",
    "Escalated without an answer": "Geëscaleerd zonder antwoord",
    "Better than the standard": "Beter dan de norm",
    "Meets the standard": "Voldoet aan de norm",
    "Below the standard": "Onder de norm",
    "Any": "Alle",
    "CSV": "CSV",
    # public holidays, as the holidays library names them in English (B14)
    "Christmas Day": "Eerste kerstdag",
    "Christmas Day (observed)": "Eerste kerstdag (vervangende dag)",
    "Columbus Day": "Columbusdag",
    "Independence Day": "Onafhankelijkheidsdag",
    "Independence Day (observed)": "Onafhankelijkheidsdag (vervangende dag)",
    "Juneteenth National Independence Day": "Juneteenth",
    "Juneteenth National Independence Day (observed)": "Juneteenth (vervangende dag)",
    "Labor Day": "Dag van de Arbeid",
    "Martin Luther King Jr. Day": "Martin Luther Kingdag",
    "Memorial Day": "Memorial Day",
    "New Year's Day": "Nieuwjaarsdag",
    "New Year's Day (observed)": "Nieuwjaarsdag (vervangende dag)",
    "Thanksgiving Day": "Thanksgiving",
    "Veterans Day": "Veteranendag",
    "Veterans Day (observed)": "Veteranendag (vervangende dag)",
    "Washington's Birthday": "Presidentsdag",
    "Ascension Day": "Hemelvaartsdag",
    "Easter Monday": "Tweede paasdag",
    "Easter Sunday": "Eerste paasdag",
    "Good Friday": "Goede vrijdag",
    "King's Day": "Koningsdag",
    "Liberation Day": "Bevrijdingsdag",
    "Pentecost": "Eerste pinksterdag",
    "Pentecost Monday": "Tweede pinksterdag",
    "Second Day of Christmas": "Tweede kerstdag",
}
