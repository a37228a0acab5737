"""The web app at `/app/`: buyers, sellers, support agents and auditors in a browser (UI.md).

Server-rendered (Jinja2 + htmx served from our own static files). It is a client of the public HTTP
API and nothing else: every read and command goes through `client.ApiClient` with the signed-in
user's own bearer token, so it can show and do only what the API allows that user.

Layers: `settings` (SUPPORT_WEBAPP_*), `client` (the public-API adapter), `i18n` (catalogs and
Babel formatting), `deadlines` and `views` (pure: what a page shows and offers), `http` (routes,
session, CSRF, security headers), `main` (the composition root; `python -m services.webapp.main`
runs it as its own process for distributed mode). See docs/webapp.md.
"""
