"""Fixed text of the reliability report (docs/reliability.md), beside the run's figures: what the
system refuses or cleans up so that a fault does not leave it half-working (issue 26)."""

LINES = [
    "## Edges that are guarded (issue 26)",
    "",
    "- **The gateway dies whole.** nginx runs as one process (`master_process off`,",
    "  deploy/gateway/nginx.conf.template): a kill -9 used to leave the master's worker holding the",
    "  port while supervisord restarted nginx into `bind()` failures (96 times in 5 minutes) and",
    "  showed RUNNING. Now its death frees the port and supervisord's fresh nginx answers; every",
    "  profile above kills the gateway and checks that the port is held by the fresh nginx alone.",
    "- **A stale listener is cleaned or refused.** `make up` and `make down` stop an nginx of ours",
    "  that nothing supervises (an orphan of an earlier run) and `make up` refuses to start when",
    "  another program holds the gateway's port, naming it (deploy/gateway/stale_listener.py).",
    "- **E-mails claimed when the database dropped** are settled when it answers again, by the same",
    "  process: the message the server accepted meanwhile is recorded as sent (not sent twice), the",
    "  untried claims are released at once instead of after their 5-minute lease",
    "  (services/notifications/mailer.py). Only a crash still leaves them to the lease.",
    "- **Impossible facts are refused**: an `order_delivered` (or a delivered scan of its shipment)",
    "  dated before the order was placed or",
    "  shipped is 422 (it would start return and no-refund windows before the parcel existed).",
    "",
]
