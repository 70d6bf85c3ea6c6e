"""E-mail notifications (SPEC §13) against a real SMTP server (aiosmtpd in its own process):
what the server received is what is asserted."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gql.settings import Settings, SettingsError
from models import AccountKind, Notification, NotificationStatus
from services.notifications import SmtpConfig
from tests.factories import Api, make_account, make_pair, make_user, send
from tests.notification_fixtures import (
    APP_URL,
    DELAY,
    Clock,
    SmtpServer,
    drain_backlog,
    make_notifier,
    smtp_server,
)

__all__ = ["smtp_server"]  # fixture used by name below

VIEWER = "{ viewer { notificationFrequency } }"
UPDATE = """
mutation($f: NotificationFrequency!) {
  updateNotificationSettings(input: {frequency: $f}) { notificationFrequency errors { code } }
}"""
MARK_READ = "mutation($i: MarkConversationReadInput!) { markConversationRead(input: $i) { errors { code } } }"


@pytest.fixture
async def clock(app: Any, smtp_server: SmtpServer) -> Clock:
    """A clock at real time, after every earlier unread window in the database was settled."""
    await drain_backlog(smtp_server.url)
    return Clock()


async def set_frequency(api: Api, user: Any, frequency: str) -> None:
    data = await api.data(UPDATE, {"f": frequency}, user=user)
    assert data["updateNotificationSettings"] == {"notificationFrequency": frequency, "errors": []}


async def test_frequency_defaults_to_immediate_and_is_updated(api: Api) -> None:
    pair = await make_pair()
    assert (await api.data(VIEWER, user=pair.partner_user))["viewer"] == {
        "notificationFrequency": "IMMEDIATE"
    }
    await set_frequency(api, pair.partner_user, "WEEKLY")
    assert (await api.data(VIEWER, user=pair.partner_user))["viewer"] == {
        "notificationFrequency": "WEEKLY"
    }
    # another user of the same account keeps their own setting
    other = await make_user(pair.partner)
    assert (await api.data(VIEWER, user=other))["viewer"] == {"notificationFrequency": "IMMEDIATE"}
    bad = await api.gql(UPDATE, {"f": "HOURLY"}, user=pair.partner_user)
    assert "errors" in bad and bad.get("data") is None


async def test_debounced_messages_of_a_conversation_join_one_email(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair(partner_name="Joining Partner")
    second = await make_user(pair.partner)
    first_sent = await send(api, pair.brand_user, pair.partner, "first message")
    notifier = make_notifier(smtp_server.url, clock)

    clock.offset = DELAY / 2
    report = await notifier.tick()
    assert not smtp_server.received(pair.partner_user.email)

    await send(api, pair.brand_user, pair.partner, "second message")
    await send(api, pair.brand_user, pair.partner, "the latest <b>news</b>")
    clock.offset = DELAY + timedelta(seconds=1)
    report = await notifier.tick()
    assert report.sent >= 2

    for user in (pair.partner_user, second):
        mails = smtp_server.received(user.email)
        assert len(mails) == 1, [m.message["Subject"] for m in mails]
        mail = mails[0].message
        assert mail["Subject"] == f"{pair.brand.name}: 3 unread messages"
        assert mail["To"].addresses[0].addr_spec == user.email
        conversation_id = first_sent["conversation"]["id"]
        for part in (mails[0].text, mails[0].html):
            assert f"{APP_URL}/conversations/{conversation_id}" in part
        assert "the latest <b>news</b>" in mails[0].text
        assert "the latest &lt;b&gt;news&lt;/b&gt;" in mails[0].html
        assert "first message" not in mails[0].text  # the excerpt is of the latest message
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            r"<http://testserver/notifications/unsubscribe\?token=[\w.-]+>",
            mail["List-Unsubscribe"],
        )
    # the sender's side has read its own messages: no e-mail for the brand
    assert not smtp_server.received(pair.brand_user.email)

    # nothing more for the same window, however often the notifier runs
    clock.offset = DELAY * 3
    await notifier.tick()
    assert len(smtp_server.received(pair.partner_user.email)) == 1

    # a later message opens a new window: one more e-mail, counting every unread message
    await send(api, pair.brand_user, pair.partner, "after the e-mail")
    clock.offset = DELAY / 2
    await notifier.tick()
    assert len(smtp_server.received(pair.partner_user.email)) == 1
    clock.offset = DELAY + timedelta(seconds=1)
    await notifier.tick()
    mails = smtp_server.received(pair.partner_user.email)
    assert len(mails) == 2
    assert mails[1].message["Subject"] == f"{pair.brand.name}: 4 unread messages"


async def test_conversation_read_before_the_delay_sends_nothing(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair()
    sent = await send(api, pair.partner_user, pair.brand, "read me soon")
    notifier = make_notifier(smtp_server.url, clock)
    clock.offset = DELAY / 2
    await notifier.tick()
    read = await api.data(
        MARK_READ, {"i": {"conversationId": sent["conversation"]["id"]}}, user=pair.brand_user
    )
    assert read["markConversationRead"]["errors"] == []
    clock.offset = DELAY * 2
    await notifier.tick()
    assert smtp_server.received(pair.brand_user.email) == []


async def test_read_after_the_claim_but_before_sending_skips_it(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    """The e-mail is re-checked against the database when it is sent (here: SMTP was down
    when first due, and the conversation was read before the retry)."""
    pair = await make_pair()
    sent = await send(api, pair.partner_user, pair.brand, "read me later")
    smtp_server.stop()
    try:
        notifier = make_notifier(smtp_server.url, clock)
        clock.offset = DELAY + timedelta(seconds=1)
        report = await notifier.tick()
        assert report.retried >= 1
    finally:
        smtp_server.start()
    await api.data(
        MARK_READ, {"i": {"conversationId": sent["conversation"]["id"]}}, user=pair.brand_user
    )
    clock.offset = timedelta(hours=1)
    await notifier.tick()
    assert smtp_server.received(pair.brand_user.email) == []
    row = await Notification.get(user_id=pair.brand_user.id)
    assert row.status is NotificationStatus.SKIPPED


async def test_users_without_messaging_or_with_notifications_off_get_nothing(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair()
    analyst = await make_user(pair.partner, "ANALYST")
    await set_frequency(api, pair.partner_user, "OFF")
    await send(api, pair.brand_user, pair.partner, "anyone there?")
    clock.offset = DELAY * 2
    await make_notifier(smtp_server.url, clock).tick()
    assert smtp_server.received(analyst.email) == []
    assert smtp_server.received(pair.partner_user.email) == []


async def test_html_part_escapes_script(api: Api, smtp_server: SmtpServer, clock: Clock) -> None:
    brand = await make_account(AccountKind.BRAND, "<script>alert('brand')</script>")
    pair = await make_pair(brand=brand)
    await send(
        api, pair.brand_user, pair.partner, "<script>alert(1)</script> & <img src=x onerror=y>"
    )
    clock.offset = DELAY * 2
    await make_notifier(smtp_server.url, clock).tick()
    (mail,) = smtp_server.received(pair.partner_user.email)
    assert "<script" not in mail.html.lower()
    assert "<img" not in mail.html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt;" in mail.html
    assert "&lt;script&gt;alert(&#x27;brand&#x27;)&lt;/script&gt;" in mail.html
    assert (
        "<script>alert(1)</script> & <img src=x onerror=y>" in mail.text
    )  # plain text stays as written


async def test_daily_and_weekly_digests_at_the_digest_hour(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    brand = await make_account(AccountKind.BRAND, "Digest Brand")
    pair = await make_pair(brand=brand, partner_name="Digest Partner A")
    other = await make_pair(brand=brand, partner_name="Digest Partner B")
    weekly = await make_user(brand)
    await set_frequency(api, pair.brand_user, "DAILY")
    await set_frequency(api, weekly, "WEEKLY")
    await send(api, pair.partner_user, brand, "from A")
    await send(api, other.partner_user, brand, "from B, <b>bold</b>")
    await send(api, other.partner_user, brand, "from B again")
    notifier = make_notifier(smtp_server.url, clock, digest_grace=timedelta(hours=6))

    monday = datetime(2031, 6, 2, tzinfo=UTC)  # a Monday, later than any message
    clock.fixed = monday + timedelta(hours=7, minutes=59)
    await notifier.tick()
    assert smtp_server.received(pair.brand_user.email) == []
    assert smtp_server.received(weekly.email) == []

    clock.fixed = monday + timedelta(hours=8, seconds=5)
    await notifier.tick()
    clock.fixed = monday + timedelta(hours=9)
    await notifier.tick()
    (daily,) = smtp_server.received(pair.brand_user.email)
    (week,) = smtp_server.received(weekly.email)
    assert (
        daily.message["Subject"]
        == "Your daily Liaison digest: 2 conversations with unread messages"
    )
    assert (
        week.message["Subject"]
        == "Your weekly Liaison digest: 2 conversations with unread messages"
    )
    text = daily.text
    assert text.index("Digest Partner B — 2 unread messages") < text.index(
        "Digest Partner A — 1 unread message"
    )
    assert "from B, &lt;b&gt;bold&lt;/b&gt;" not in daily.html  # the excerpt is the latest message
    assert "from B again" in daily.html
    # IMMEDIATE e-mails are not sent to digest users
    assert all(
        "digest" in m.message["Subject"] for m in smtp_server.received(pair.brand_user.email)
    )

    # Tuesday: a second daily digest, no weekly one
    clock.fixed = monday + timedelta(days=1, hours=8, minutes=1)
    await notifier.tick()
    assert len(smtp_server.received(pair.brand_user.email)) == 2
    assert len(smtp_server.received(weekly.email)) == 1

    # a digest window is not caught up long after its hour (the next one comes instead)
    late = make_notifier(smtp_server.url, clock, digest_grace=timedelta(hours=6))
    clock.fixed = monday + timedelta(days=2, hours=20)
    await late.tick()
    assert len(smtp_server.received(pair.brand_user.email)) == 2


async def test_one_click_unsubscribe(api: Api, smtp_server: SmtpServer, clock: Clock) -> None:
    pair = await make_pair()
    await send(api, pair.brand_user, pair.partner, "first")
    clock.offset = DELAY * 2
    await make_notifier(smtp_server.url, clock).tick()
    (mail,) = smtp_server.received(pair.partner_user.email)
    url = mail.message["List-Unsubscribe"].strip().strip("<>")
    assert url in mail.text

    # a GET (link scanner, person) changes nothing and answers a page whose button posts
    page = await api.client.get(url)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert (await api.data(VIEWER, user=pair.partner_user))["viewer"][
        "notificationFrequency"
    ] == "IMMEDIATE"

    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    refused = await api.client.post(forged, content="List-Unsubscribe=One-Click")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert (await api.client.post(url.split("?")[0])).status_code == 400

    done = await api.client.post(
        url,
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert (await api.data(VIEWER, user=pair.partner_user))["viewer"][
        "notificationFrequency"
    ] == "OFF"

    await send(api, pair.brand_user, pair.partner, "second")
    clock.offset = DELAY * 4
    await make_notifier(smtp_server.url, clock).tick()
    assert len(smtp_server.received(pair.partner_user.email)) == 1


async def test_two_notifiers_racing_send_one_email(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pairs = [await make_pair() for _ in range(5)]
    for pair in pairs:
        await send(api, pair.brand_user, pair.partner, "race")
    clock.offset = DELAY * 2
    notifiers = [make_notifier(smtp_server.url, clock) for _ in range(3)]
    reports = await asyncio.gather(*(n.tick() for n in notifiers))
    reports += await asyncio.gather(*(n.tick() for n in notifiers))
    for pair in pairs:
        assert len(smtp_server.received(pair.partner_user.email)) == 1
    assert sum(r.sent for r in reports) >= len(pairs)


async def test_smtp_down_then_up_delivers_once(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair()
    await send(api, pair.brand_user, pair.partner, "while the mail server is down")
    notifier = make_notifier(smtp_server.url, clock)
    smtp_server.stop()
    try:
        clock.offset = DELAY + timedelta(seconds=1)
        first = await notifier.tick()
        assert first.retried >= 1 and first.sent == 0
        row = await Notification.get(user_id=pair.partner_user.id)
        assert row.status is NotificationStatus.PENDING and row.attempts == 1
        # before the backoff has passed nothing is tried again
        clock.offset += timedelta(seconds=1)
        assert (await notifier.tick()).retried == 0
    finally:
        smtp_server.start()
    clock.offset += timedelta(minutes=1)
    await notifier.tick()
    clock.offset += timedelta(minutes=10)
    await notifier.tick()
    assert len(smtp_server.received(pair.partner_user.email)) == 1
    row = await Notification.get(user_id=pair.partner_user.id)
    assert row.status is NotificationStatus.SENT and row.attempts == 1


async def test_permanent_refusal_of_one_address_does_not_block_others(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair()
    bouncing = await make_user(pair.partner)
    bouncing.email = f"bounce-{bouncing.email}"
    await bouncing.save(update_fields=["email"])
    await send(api, pair.brand_user, pair.partner, "hello both")
    notifier = make_notifier(smtp_server.url, clock)
    clock.offset = DELAY * 2
    report = await notifier.tick()
    assert report.failed >= 1
    assert len(smtp_server.received(pair.partner_user.email)) == 1
    assert smtp_server.received(bouncing.email) == []
    row = await Notification.get(user_id=bouncing.id)
    assert row.status is NotificationStatus.FAILED and "550" in (row.last_error or "")
    # a permanent failure is not retried
    clock.offset = timedelta(days=1)
    await notifier.tick()
    assert (await Notification.get(user_id=bouncing.id)).attempts == 0


MOVE = "mutation($id: ID!, $folder: InboxFolder!) { moveConversation(input: {conversationId: $id, folder: $folder}) { errors { code } } }"
ASSIGN = "mutation($id: ID!, $assignee: ID) { assignConversation(input: {conversationId: $id, assigneeId: $assignee}) { errors { code } } }"


async def test_spam_conversations_never_notify(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    brand = await make_account(AccountKind.BRAND)
    spammer = await make_pair(brand=brand, partner_name="Spammy Partner")
    honest = await make_pair(brand=brand, partner_name="Honest Partner")
    digest_user = await make_user(brand)
    await set_frequency(api, digest_user, "DAILY")
    first = await send(api, spammer.partner_user, brand, "buy now")
    moved = await api.data(
        MOVE, {"id": first["conversation"]["id"], "folder": "SPAM"}, user=spammer.brand_user
    )
    assert moved["moveConversation"]["errors"] == []
    await send(api, spammer.partner_user, brand, "buy now, again")  # stays in SPAM
    await send(api, honest.partner_user, brand, "a real question")
    notifier = make_notifier(smtp_server.url, clock)
    clock.offset = DELAY * 2
    await notifier.tick()
    subjects = [m.message["Subject"] for m in smtp_server.received(spammer.brand_user.email)]
    assert subjects == ["Honest Partner: 1 unread message"]

    clock.fixed = datetime(2031, 6, 3, 8, 1, tzinfo=UTC)
    await make_notifier(smtp_server.url, clock, digest_grace=timedelta(hours=6)).tick()
    (digest,) = smtp_server.received(digest_user.email)
    assert "Honest Partner" in digest.text and "Spammy Partner" not in digest.text


async def test_a_conversation_assigned_to_a_colleague_notifies_only_the_assignee(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    pair = await make_pair()
    colleague = await make_user(pair.brand)
    sent = await send(api, pair.partner_user, pair.brand, "hello team")
    assigned = await api.data(
        ASSIGN,
        {"id": sent["conversation"]["id"], "assignee": str(colleague.id)},
        user=pair.brand_user,
    )
    assert assigned["assignConversation"]["errors"] == []
    clock.offset = DELAY * 2
    await make_notifier(smtp_server.url, clock).tick()
    assert len(smtp_server.received(colleague.email)) == 1
    assert smtp_server.received(pair.brand_user.email) == []


async def test_assigning_to_a_colleague_after_the_claim_skips_the_others_email(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    """Re-checked at sending time: SMTP was down when the e-mail was first due."""
    pair = await make_pair()
    colleague = await make_user(pair.brand)
    sent = await send(api, pair.partner_user, pair.brand, "who takes this?")
    notifier = make_notifier(smtp_server.url, clock)
    smtp_server.stop()
    try:
        clock.offset = DELAY * 2
        assert (await notifier.tick()).retried >= 2
    finally:
        smtp_server.start()
    await api.data(
        ASSIGN,
        {"id": sent["conversation"]["id"], "assignee": str(colleague.id)},
        user=pair.brand_user,
    )
    clock.offset = timedelta(hours=1)
    await notifier.tick()
    assert len(smtp_server.received(colleague.email)) == 1
    assert smtp_server.received(pair.brand_user.email) == []


async def test_header_injection_through_a_name_is_neutralised(
    api: Api, smtp_server: SmtpServer, clock: Clock
) -> None:
    brand = await make_account(AccountKind.BRAND, "Evil\r\nBcc: victim@example.test")
    pair = await make_pair(brand=brand)
    await send(api, pair.brand_user, pair.partner, "hi")
    clock.offset = DELAY * 2
    await make_notifier(smtp_server.url, clock).tick()
    (mail,) = smtp_server.received(pair.partner_user.email)
    assert mail.rcpt_tos == [pair.partner_user.email]
    assert mail.message["Bcc"] is None
    assert mail.message["Subject"] == "Evil Bcc: victim@example.test: 1 unread message"


async def test_smtp_authentication_from_the_url(
    api: Api, clock: Clock, smtp_server: SmtpServer
) -> None:
    guarded = SmtpServer(credentials="notify:p@ss word")
    guarded.start()
    try:
        pair = await make_pair()
        await send(api, pair.brand_user, pair.partner, "behind a login")
        clock.offset = DELAY * 2
        wrong = make_notifier(f"smtp://notify:nope@127.0.0.1:{guarded.port}", clock)
        report = await wrong.tick()
        assert report.retried >= 1 and guarded.received() == []  # kept for a retry, not lost
        clock.offset = DELAY * 2 + timedelta(minutes=5)
        right = make_notifier(f"smtp://notify:p%40ss%20word@127.0.0.1:{guarded.port}", clock)
        await right.tick()
        (mail,) = guarded.received(pair.partner_user.email)
        assert mail.message["Subject"].endswith("1 unread message")
    finally:
        guarded.close()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIAISON_SMTP_URL", "http://mail.example.test"),
        ("LIAISON_SMTP_URL", "smtp://"),
        ("LIAISON_SMTP_URL", "smtp://host:notaport"),
        ("LIAISON_DIGEST_HOUR_UTC", "24"),
        ("LIAISON_NOTIFY_DELAY_SECONDS", "soon"),
    ],
)
def test_bad_notification_settings_are_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"LIAISON_JWT_SECRET": "x" * 32, name: value})


def test_smtp_url_forms() -> None:
    plain = SmtpConfig.from_url("smtp://mail.example.test")
    assert (plain.port, plain.start_tls, plain.use_tls, plain.username) == (25, None, False, None)
    submission = SmtpConfig.from_url("smtp://u%40x:p%3Aw@mail.example.test:587?starttls=true")
    assert (submission.port, submission.start_tls, submission.username, submission.password) == (
        587,
        True,
        "u@x",
        "p:w",
    )
    assert SmtpConfig.from_url("smtp://h?starttls=false").start_tls is False
    implicit = SmtpConfig.from_url("smtps://h")
    assert (implicit.port, implicit.use_tls, implicit.start_tls) == (465, True, None)
