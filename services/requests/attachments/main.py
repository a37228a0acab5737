"""Composition of attachments inside the requests service: `open_attachments` builds the service on
the requests application's engine and plugs it in as that application's attachments port;
`sweep_loop` is the periodic task that deletes what no request referenced within 24 hours."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from uuid import UUID

from services.requests.application import RequestsApplication
from services.requests.attachments.application import Attachments
from services.requests.attachments.domain import Limits
from services.requests.attachments.dossier import HttpLedger
from services.requests.attachments.storage import blob_store_for
from services.requests.settings import Settings

log = logging.getLogger("seller_support.attachments")


def limits_of(settings: Settings) -> Limits:
    return Limits(
        image_bytes=settings.attachments_image_max_bytes,
        pdf_bytes=settings.attachments_pdf_max_bytes,
        video_bytes=settings.attachments_video_max_bytes,
        daily_uploads=settings.attachments_daily_uploads,
        daily_bytes=settings.attachments_daily_bytes,
    )


def open_attachments(settings: Settings, requests: RequestsApplication) -> Attachments:
    def parties_of(request_id: str) -> tuple[str, str] | None:
        try:
            request = requests.repository.get(UUID(request_id))
        except Exception:  # unknown or unreadable: nobody is on it
            return None
        return (request.buyer_id, request.seller_id)

    blobs = blob_store_for(
        settings.database_url, settings.data_dir, requests.engine, settings.attachments_store
    )
    spool = settings.data_dir / "attachments-incoming"
    spool.mkdir(parents=True, exist_ok=True)
    service = Attachments(
        requests.engine,
        blobs,
        limits_of(settings),
        requests.clock,
        parties_of,
        max_image_pixels=settings.attachments_max_image_pixels,
        spool_dir=spool,
        max_decode_bytes=settings.attachments_max_decode_bytes,
        parallel_decodes=settings.attachments_parallel_decodes,
    )
    requests.attachments = service
    return service


async def sweep_loop(service: Attachments, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            removed = await asyncio.to_thread(service.sweep)
            if removed:
                log.info("attachments swept", extra={"removed": removed})
        except Exception:
            log.exception("attachments sweep failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def attach(app: Any, settings: Settings, stop: asyncio.Event) -> asyncio.Task[None]:
    """In the requests lifespan: open the service on `app.state.attachments` and start the sweep,
    which ends when `stop` (the lifespan's own) is set."""
    app.state.attachments = open_attachments(settings, app.state.requests)
    if settings.ledger_url:  # distributed mode: the dossier reads the ledger's public API
        app.state.ledger_entries = HttpLedger(settings.ledger_url)
    return asyncio.create_task(
        sweep_loop(app.state.attachments, settings.attachments_sweep_interval_seconds, stop)
    )
