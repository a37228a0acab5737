"""Notifications through the embedded path on SQLite and PostgreSQL, with mail sent to a real SMTP
server process (R7, R22, R23, R52-R54)."""

# ruff: noqa: F811 - pytest fixtures imported from the harness are redefined as parameters

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications import store
from services.notifications.application import NotificationsApplication, Viewer
from services.notifications.mailer import Mailer
from services.notifications.smtp_server import free_port
from services.requests.application import RequestsApplication
from shared.clock import AdjustableClock
from tests.factories import return_label_created, shipment_scanned, unique
from tests.integration.notifications_harness import (
    EMAIL_DOMAIN,
    SmtpServer,
    all_messages,
    count,
    kinds_for,
    notification_rows,
    notifications,  # noqa: F401 - a fixture
    notifications_url,  # noqa: F401 - a fixture
    open_request,
    pump,
    respond,
    settings_for,
    smtp_server,  # noqa: F401 - a fixture
)

# Opened Mon 2026-12-07 14:00 New York: the seller must respond by Wed 14:00 (48 business hours),
# so the 12-hour reminder is due Wed 02:00, 36 hours after opening.
UNTIL_REMINDER = timedelta(hours=36, minutes=1)


def test_r52_new_request_emails_the_seller_over_real_smtp_and_notifies_in_app(
    app: RequestsApplication, notifications: NotificationsApplication, smtp_server: SmtpServer
):
    opened = open_request(app)
    seller, buyer = opened.order.seller_id, opened.order.buyer_id
    assert pump(app, notifications) == 1
    assert notifications.send_pending() == 2  # the seller's e-mail and the buyer's confirmation

    (mail,) = smtp_server.messages(to=seller)
    assert mail["Subject"] == f"New support request on order {opened.order.order_id}"
    assert mail["To"] == f"{seller}@{EMAIL_DOMAIN}"
    assert mail["X-Seller-Support-Kind"] == "opened"
    assert mail["X-Seller-Support-Request"] == str(opened.id)
    assert "Please respond by Wed 9 Dec 2026, 14:00 EST" in mail.get_content()
    assert len(smtp_server.messages(to=buyer)) == 1
    assert kinds_for(notifications, seller, "in_app") == ["opened"]  # R7: in-app too

    feed = notifications.notifications(seller, Viewer("seller", seller))
    assert {(n["kind"], n["channel"]) for n in feed} == {("opened", "email"), ("opened", "in_app")}
    cs = notifications.inbox(Viewer("seller", seller), tab="customer_service").items
    assert [(c["request_id"], c["unread"]) for c in cs] == [(str(opened.id), True)]  # R7


def test_r52_delivering_every_event_twice_sends_no_duplicate(
    app: RequestsApplication,
    clock: AdjustableClock,
    notifications: NotificationsApplication,
    smtp_server: SmtpServer,
):
    opened = open_request(app)
    respond(opened, "partial_refund", amount=1000)
    app.decline_offer(opened.id, opened.buyer)
    tracking = unique("RET")
    at = clock.now()
    app.record_return_label(return_label_created(opened.id, at, tracking_number=tracking))
    app.record_shipment_scan(shipment_scanned(tracking, "accepted", at))
    app.record_shipment_scan(shipment_scanned(tracking, "delivered", at + timedelta(hours=1)))
    app.confirm_return(opened.id, opened.seller)
    pump(app, notifications)
    sent = notifications.send_pending()
    mailbox = len(smtp_server.messages(to=opened.order.seller_id)) + len(
        smtp_server.messages(to=opened.order.buyer_id)
    )
    assert sent == mailbox == 2 * 7  # 7 events, both parties e-mailed at every step
    rows = count(notifications, store.notifications)

    # Again through the feed (redelivery is recognised) ...
    messages = [m for _, m in all_messages(app)]
    assert not any(notifications.projection.apply(m) for m in messages)
    # ... and again straight into the handler, without the applied-event record: one at a time
    # and as one batch.
    for message in messages:
        with notifications.engine.begin() as conn:
            notifications.handler([message], conn)
    with notifications.engine.begin() as conn:
        notifications.handler(messages, conn)
    assert count(notifications, store.notifications) == rows
    assert notifications.send_pending(datetime.now(UTC) + timedelta(hours=1)) == 0
    assert (
        len(smtp_server.messages(to=opened.order.seller_id))
        + len(smtp_server.messages(to=opened.order.buyer_id))
        == mailbox
    )
    assert all(o["status"] == "sent" and o["attempts"] == 1 for o in notifications.mailer.outbox())


def test_r53_seller_is_reminded_before_the_response_deadline(
    app: RequestsApplication,
    clock: AdjustableClock,
    notifications: NotificationsApplication,
    smtp_server: SmtpServer,
):
    opened = open_request(app)
    seller = opened.order.seller_id
    pump(app, notifications)
    clock.advance(timedelta(hours=35))
    assert notifications.fire_due(clock.now()) == 0  # not yet
    clock.advance(UNTIL_REMINDER - timedelta(hours=35))
    app.fire_due()
    pump(app, notifications)
    assert notifications.fire_due(clock.now()) == 1
    assert notifications.fire_due(clock.now()) == 0  # once
    notifications.send_pending()
    subjects = [str(m["Subject"]).strip() for m in smtp_server.messages(to=seller)]
    assert f"Reminder: respond by Wed 9 Dec 2026, 14:00 EST, order {opened.order.order_id}" in (
        subjects
    )
    assert kinds_for(notifications, opened.order.buyer_id, "email") == ["opened"]


def test_r53_a_response_cancels_the_sellers_reminder_and_schedules_the_buyers(
    app: RequestsApplication, clock: AdjustableClock, notifications: NotificationsApplication
):
    opened = open_request(app)
    pump(app, notifications)
    respond(opened, "partial_refund", amount=1000)  # the buyer must answer by Wed 14:00
    pump(app, notifications)
    clock.advance(UNTIL_REMINDER)
    app.fire_due()
    pump(app, notifications)
    assert notifications.fire_due(clock.now()) == 1
    assert kinds_for(notifications, opened.order.seller_id, "in_app") == [
        "opened",
        "partial_refund_offered",
    ]
    assert kinds_for(notifications, opened.order.buyer_id, "in_app")[-1] == "reminder_offer_answer"


def test_r53_no_reminder_once_the_deadline_passed(
    app: RequestsApplication, clock: AdjustableClock, notifications: NotificationsApplication
):
    opened = open_request(app)
    pump(app, notifications)
    clock.advance(timedelta(hours=49))
    app.fire_due()  # the seller's deadline passes before the reminder loop ran
    assert notifications.fire_due(clock.now()) == 0
    pump(app, notifications)
    assert kinds_for(notifications, opened.order.seller_id, "email") == [
        "opened",
        "seller_response_overdue",
    ]


def test_r23_r22_seller_is_emailed_the_decision_and_the_delivery_of_the_approved_return(
    app: RequestsApplication,
    clock: AdjustableClock,
    notifications: NotificationsApplication,
    smtp_server: SmtpServer,
):
    opened = open_request(app)
    respond(opened, "no_refund", message="Outside the policy.", evidence=("listing.png",))
    app.escalate(opened.id, opened.buyer, reason="I disagree")
    app.decide(opened.id, opened.agent, outcome="refund_with_return")
    tracking = unique("RET")
    at = clock.now()
    app.record_return_label(return_label_created(opened.id, at, tracking_number=tracking))
    app.record_shipment_scan(shipment_scanned(tracking, "delivered", at + timedelta(hours=2)))
    pump(app, notifications)
    notifications.send_pending()

    mails = {m["X-Seller-Support-Kind"]: m for m in smtp_server.messages(to=opened.order.seller_id)}
    decision = mails["support_decided"]
    assert decision["Subject"].startswith("Support decision on order")
    assert "charged to your seller account" in decision.get_content()
    delivered = mails["return_delivered"]
    assert "The return that our support team approved has been delivered" in (
        delivered.get_content()
    )
    support = notifications.notifications(
        notifications.settings.support_team_id, Viewer("support", "agent-7")
    )
    assert {n["kind"] for n in support} == {"escalated"}


def test_r54_the_recipients_locale_picks_the_language(
    app: RequestsApplication, notifications: NotificationsApplication, smtp_server: SmtpServer
):
    seller = unique("seller")
    notifications.set_preferences(seller, Viewer("seller", seller), locale="nl")
    opened = open_request(app, seller_id=seller)
    pump(app, notifications)
    notifications.send_pending()
    (mail,) = smtp_server.messages(to=seller)
    assert mail["Subject"] == f"Nieuwe supportaanvraag voor bestelling {opened.order.order_id}"
    assert mail["Content-Language"] == "nl"
    assert "Reageer uiterlijk wo 9 dec 2026, 14:00 EST" in mail.get_content()
    (buyer_mail,) = smtp_server.messages(to=opened.order.buyer_id)
    assert buyer_mail["Content-Language"] == "en"


def test_recipient_address_from_the_users_settings(
    app: RequestsApplication, notifications: NotificationsApplication, smtp_server: SmtpServer
):
    seller = unique("seller")
    address = f"{seller}@shop.example"
    notifications.set_preferences(seller, Viewer("seller", seller), email=address)
    open_request(app, seller_id=seller)
    pump(app, notifications)
    notifications.send_pending()
    assert len(smtp_server.messages(to=address)) == 1


def test_mail_is_retried_with_backoff_until_the_server_answers(
    app: RequestsApplication,
    notifications: NotificationsApplication,
    notifications_url: str,
    smtp_server: SmtpServer,
):
    down = settings_for(notifications_url, smtp_server, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    opened = open_request(app)
    pump(app, notifications)
    now = datetime.now(UTC)
    unreachable = Mailer(notifications.engine, down)
    assert unreachable.send_pending(now) == 0
    assert {(o["status"], o["attempts"]) for o in unreachable.outbox()} == {("pending", 1)}
    assert unreachable.send_pending(now + timedelta(milliseconds=500)) == 0  # backing off
    assert {o["attempts"] for o in unreachable.outbox()} == {1}
    assert unreachable.send_pending(now + timedelta(seconds=1)) == 0  # due again, still down
    assert {o["attempts"] for o in unreachable.outbox()} == {2}
    # The next attempt waits twice as long, then goes to the server that now answers.
    assert notifications.send_pending(now + timedelta(seconds=2)) == 0
    assert notifications.send_pending(now + timedelta(seconds=3)) == 2
    assert len(smtp_server.messages(to=opened.order.seller_id)) == 1


def test_r52_every_kind_seen_on_real_events_renders_its_own_template(
    app: RequestsApplication, clock: AdjustableClock, notifications: NotificationsApplication
):
    """Real published data for most event kinds, in both locales: nothing falls back."""
    first = open_request(app)
    notifications.set_preferences(
        first.order.buyer_id, Viewer("buyer", first.order.buyer_id), locale="nl"
    )
    respond(first, "request_info", message="A photo, please?")
    app.post_message(first.id, first.buyer, body="Here.", attachments=["p.jpg"])
    respond(first, "replacement", carrier="USPS", tracking_number=unique("9400"))
    routed = open_request(app, reason="other")
    app.decide(routed.id, routed.agent, outcome="uphold_seller")
    lapsed = open_request(app)
    respond(lapsed, "partial_refund", amount=1000)
    clock.advance(timedelta(days=7))
    app.fire_due()
    app.escalate(lapsed.id, lapsed.buyer, reason="No answer")
    app.decide(lapsed.id, lapsed.agent, outcome="platform_refund")
    app.give_feedback(lapsed.id, lapsed.buyer, thumbs="up")
    pump(app, notifications)
    rows = notification_rows(notifications)
    kinds = {r["kind"] for r in rows}
    assert {
        "opened",
        "information_requested",
        "message_posted",
        "replacement_promised",
        "replacement_overdue",
        "support_decided",
        "partial_refund_offered",
        "offer_lapsed",
        "escalated",
        "feedback_given",
    } <= kinds
    shown = [
        n
        for recipient in {r["recipient_id"] for r in rows}
        for n in notifications.notifications(recipient, Viewer("support", recipient), limit=500)
    ]
    assert len(shown) == len(rows)
    assert not [n for n in shown if "update on" in n["subject"].lower()]  # no generic fallback
    assert {r["locale"] for r in rows if r["recipient_id"] == first.order.buyer_id} == {"nl"}
