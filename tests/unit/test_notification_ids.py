"""Notification ids are uuid5(namespace, "source|recipient|channel"): the projection computes them
without building `uuid.UUID` objects, and must give exactly the standard library's value — ids are
the once-only guard of notifications and e-mails, so a changed id would send an e-mail again."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.notifications.projection import notification_id

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seller-support:notifications")


@given(source=st.text(), recipient=st.text(), channel=st.sampled_from(["email", "in_app"]))
def test_r52_notification_id_is_the_standard_uuid5(source, recipient, channel) -> None:
    expected = str(uuid.uuid5(NAMESPACE, f"{source}|{recipient}|{channel}"))
    assert notification_id(source, recipient, channel) == expected
