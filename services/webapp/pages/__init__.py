"""The web app's newer pages, one module-level router each (issue 29).

`include(app, webapp)` adds them to the app beside the routes of `services/webapp/http.py` and
gives the templates the helpers these pages use. The older routes stay in `http.py` for now.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.webapp.http import WebApp
from services.webapp.i18n import ACTOR_WORDS, Translator
from services.webapp.i18n_pages import (
    EFFECT_WORDS,
    LEDGER_KIND_WORDS,
    LEVEL_WORDS,
    RATING_REASON_WORDS,
    STANDING_STATE_WORDS,
    STANDING_WORDS,
    WINDOW_WORDS,
)
from services.webapp.pages import (
    confirm,
    notifications,
    orders,
    request_extras,
    request_list,
    seller_programme,
)


def actor_name(_: Translator, actor: str, user: dict[str, Any] | None = None) -> str:
    """Who did a step, in words: "You", "Buyer nc-buyer", "Support agent-1", "System" — never the
    raw `buyer:nc-buyer` (finding B16)."""
    role, _sep, who = actor.partition(":")
    if user and who and role == user.get("role") and who == user.get("sub"):
        return _("You")
    word = _.words(ACTOR_WORDS, role)
    word = word[:1].upper() + word[1:]
    return f"{word} {who}" if who else word


def include(app: FastAPI, webapp: WebApp) -> None:
    webapp.templates.env.globals.update(
        actor_name=actor_name,
        LEDGER_KIND_WORDS=LEDGER_KIND_WORDS,
        LEVEL_WORDS=LEVEL_WORDS,
        WINDOW_WORDS=WINDOW_WORDS,
        EFFECT_WORDS=EFFECT_WORDS,
        RATING_REASON_WORDS=RATING_REASON_WORDS,
        STANDING_WORDS=STANDING_WORDS,
        STANDING_STATE_WORDS=STANDING_STATE_WORDS,
        list_link=request_list.app_link,
    )
    for module in (
        request_extras,
        confirm,
        notifications,
        orders,
        seller_programme,
        request_list,
    ):
        app.include_router(module.router)
