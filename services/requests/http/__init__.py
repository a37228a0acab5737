"""The requests service's HTTP adapter (API.md): `app.install` puts it on a FastAPI app.

- `schemas`: request and response models, their vocabularies derived from the domain's enums;
- `examples`: the OpenAPI examples;
- `views`: a support request as JSON (`request_view`) and the answers the routes send and store;
- `dependencies`: the application, clock, caller's role and `Idempotency-Key` claim of a route;
- `routes` (support requests), `assignment`, `upstream`, `clock`: the routes, one module each;
- `body_limit`, `idempotency`: the ASGI middleware in front of every route;
- `app`: error statuses, middleware and routes on an app.

Nothing below this package (application, domain, persistence) imports it.
"""
