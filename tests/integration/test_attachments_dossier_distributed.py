"""The case dossier in distributed mode (issue 21): the requests API alone reads the request's ledger
entries from the ledger service's public HTTP API (a real uvicorn server) at SUPPORT_LEDGER_URL; the
services share no code path, only HTTP. When the ledger is down the dossier still comes, and says so.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pypdf import PdfReader

from services.ledger.main import create_app as create_ledger_app
from services.ledger.main import open_ledger_at
from services.requests.main import create_app
from services.requests.outbox.publishing import read_messages
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from shared.transport.notification_log import NotificationLogFeed
from tests.attachment_files import photo

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LedgerServer:
    def __init__(self, app: object, port: int) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LedgerServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the ledger server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: AdjustableClock) -> Iterator[dict]:
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        ledger_url=f"http://127.0.0.1:{port}",
        timer_interval_seconds=0.2,
    )
    ledger = open_ledger_at(f"sqlite:///{tmp_path}/ledger.db")
    ledger_app = create_ledger_app(token_codec=settings.token_codec(), ledger=ledger)
    with TestClient(create_app(settings, clock)) as client:
        yield {
            "client": client,
            "codec": settings.token_codec(),
            "ledger": ledger,
            "ledger_server": LedgerServer(ledger_app, port),
        }
    ledger.close()


def test_the_distributed_dossier_reads_the_ledger_over_its_public_http_api(world: dict) -> None:
    client, codec, ledger = world["client"], world["codec"], world["ledger"]

    def headers(role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {codec.encode(sub=sub, role=role)}"}

    # Given a request with a photo whose seller's partial refund the buyer accepted
    order = {
        "type": "order_placed",
        "order_id": "o-dist",
        "buyer_id": "b-dist",
        "seller_id": "s-dist",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "marketplace": "US",
        "items": [
            {
                "item_id": "i1",
                "title": "Booster box",
                "category": "trading_cards",
                "consumable": False,
                "price": 9000,
                "seller_payout": 8000,
                "buyer_shipping_paid": 0,
                "processing_fee": 300,
            }
        ],
    }
    assert client.post(
        "/v1/upstream/events", json=order, headers=headers("platform", "o")
    ).is_success
    shot = client.post(
        "/v1/attachments",
        files={"file": ("a.jpg", photo(seed=5))},
        headers=headers("buyer", "b-dist"),
    ).json()
    opened = client.post(
        "/v1/support-requests",
        json={
            "order_id": "o-dist",
            "item_ids": ["i1"],
            "reason": "defective",
            "description": "Torn seal.",
            "photos": [shot["id"]],
        },
        headers=headers("buyer", "b-dist"),
    ).json()
    path = f"/v1/support-requests/{opened['id']}"
    offer = {"type": "partial_refund", "amount": 2500}
    assert client.post(
        path + "/responses", json=offer, headers=headers("seller", "s-dist")
    ).is_success
    assert client.post(path + "/offer/accept", headers=headers("buyer", "b-dist")).is_success
    # and the ledger service has consumed the request's events
    requests_app = client.app.state.requests
    NotificationLogFeed(
        lambda start, limit: read_messages(requests_app, start, limit), [ledger.projection]
    ).pump()

    # When support asks the requests API for the dossier while the ledger service runs
    with world["ledger_server"]:
        response = client.get(path + "/dossier", headers=headers("support", "agent-1"))
    # Then the ledger entry, read over HTTP, is in it
    assert response.status_code == 200, response.text
    text = " ".join(
        " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        ).split()
    )
    assert "Partial refund -25.00 USD" in text
    assert shot["sha256"] in text

    # And with the ledger service gone the dossier still comes, saying why the entries are missing
    response = client.get(path + "/dossier", headers=headers("auditor", "aud-1"))
    assert response.status_code == 200
    text = " ".join(
        " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        ).split()
    )
    assert "the ledger could not be read" in text
    assert "Partial refund -25.00 USD" not in text
