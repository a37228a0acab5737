"""Two commands racing for one attachment (issue 21): exactly one request gets it, the other command
fails whole (no request, no item lock, no event), on SQLite and PostgreSQL."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from sqlalchemy import func, select

from services.requests.application import Actor
from services.requests.attachments.domain import AttachmentTaken, MediaKind
from services.requests.attachments.main import open_attachments
from services.requests.attachments.uploads import Upload
from services.requests.persistence import store
from services.requests.settings import Settings
from tests.attachment_files import photo
from tests.factories import order_placed, unique


def test_two_requests_racing_for_one_photo_one_wins_and_the_other_stores_nothing(
    app, database_url: str, tmp_path: Path
) -> None:
    # Given a buyer with two orders and one uploaded photo
    service = open_attachments(Settings(data_dir=tmp_path, database_url=database_url), app)
    buyer = unique("buyer")
    orders = [order_placed(buyer_id=buyer) for _ in range(2)]
    for order in orders:
        app.record_order_placed(order)
    data = photo(seed=3)
    spooled = tempfile.NamedTemporaryFile(dir=tmp_path)  # noqa: SIM115
    spooled.write(data)
    spooled.flush()
    upload = Upload(spooled, len(data), "", "a.jpg", "image/jpeg", MediaKind.IMAGE)
    stored, _ = service.upload("buyer", buyer, upload)
    upload.close()

    # When both orders' requests are opened with it at the same moment
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def open_one(order) -> None:
        start.wait()
        try:
            outcomes.append(
                app.open_request(
                    Actor("buyer", buyer),
                    order_id=order.order_id,
                    item_ids=[order.items[0].item_id],
                    reason="wrong_item",
                    description="Not what I ordered.",
                    photos=[stored.id],
                )
            )
        except Exception as error:  # the loser's error is the assertion's subject
            outcomes.append(error)

    threads = [threading.Thread(target=open_one, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then one request has it and the other command failed with 409's error, storing nothing
    errors = [o for o in outcomes if isinstance(o, Exception)]
    opened = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(opened) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], AttachmentTaken)
    assert service.get(stored.id).request_id == str(opened[0].id)
    with app.engine.connect() as connection:
        requests = connection.execute(
            select(func.count()).select_from(store.requests_by_order)
        ).scalar_one()
        locks = connection.execute(select(func.count()).select_from(store.item_locks)).scalar_one()
    assert (requests, locks) == (1, 1)
