"""The e-mails, built with the standard library's `email` package: a plain-text part and an
HTML part in which every value that came from a user is escaped (`html.escape`).

Headers carry RFC 8058 one-click unsubscribe (`List-Unsubscribe` + `List-Unsubscribe-Post`)
and a Message-ID fixed per notification row, so a re-sent e-mail is recognisably the same.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from html import escape

EXCERPT_CHARS = 200
DIGEST_MAX_ITEMS = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: uuid.UUID
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    conversation_id: uuid.UUID
    counterpart: str
    unread: int
    latest_body: str
    latest_attachments: int = 0


@dataclass(frozen=True, slots=True)
class Links:
    app_base: str
    unsubscribe_base: str
    mail_from: str

    def conversation(self, conversation_id: uuid.UUID) -> str:
        return f"{self.app_base}/conversations/{conversation_id}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.unsubscribe_base}?token={token}"


def one_line(text: str) -> str:
    """Display text for a header or a list line: no control characters, no line breaks."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def excerpt(summary: ConversationSummary) -> str:
    text = one_line(summary.latest_body)
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    if not text and summary.latest_attachments:
        n = summary.latest_attachments
        text = f"({n} attachment{'s' if n != 1 else ''})"
    return text


def _messages(n: int) -> str:
    return f"{n} unread message{'s' if n != 1 else ''}"


def _envelope(
    recipient: Recipient, subject: str, links: Links, token: str, message_id: str, now: datetime
) -> MIMEMultipart:
    # The compat32 MIME classes: several times cheaper to build than EmailMessage's header
    # registry, which dominated a digest run. Non-ASCII names and subjects are RFC 2047
    # encoded explicitly.
    msg = MIMEMultipart("alternative")
    name, address = parseaddr(links.mail_from)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = formataddr((one_line(recipient.name), recipient.email), charset="utf-8")
    subject = one_line(subject)
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<{links.unsubscribe(token)}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _html_item(summary: ConversationSummary, links: Links) -> str:
    return (
        f'<p><a href="{escape(links.conversation(summary.conversation_id))}">'
        f"<strong>{escape(one_line(summary.counterpart))}</strong></a> — "
        f"{escape(_messages(summary.unread))}<br>"
        f'<span style="color:#555">{escape(excerpt(summary))}</span></p>'
    )


def _text_item(summary: ConversationSummary, links: Links) -> str:
    return (
        f"{one_line(summary.counterpart)} — {_messages(summary.unread)}\n"
        f"  {excerpt(summary)}\n  {links.conversation(summary.conversation_id)}\n"
    )


def _footer(reason: str, links: Links, token: str) -> tuple[str, str]:
    url = links.unsubscribe(token)
    text = f"\n--\nYou get this e-mail because {reason}.\nUnsubscribe: {url}\n"
    html = (
        f'<hr><p style="color:#777;font-size:12px">You get this e-mail because '
        f'{escape(reason)}. <a href="{escape(url)}">Unsubscribe</a></p>'
    )
    return text, html


def _assemble(msg: MIMEMultipart, text: str, html_body: str) -> MIMEMultipart:
    msg.attach(MIMEText(text, "plain", "utf-8"))
    page = f'<!doctype html><html><body style="font-family:sans-serif">{html_body}</body></html>'
    msg.attach(MIMEText(page, "html", "utf-8"))
    return msg


def conversation_email(
    recipient: Recipient,
    summary: ConversationSummary,
    links: Links,
    *,
    token: str,
    message_id: str,
    now: datetime,
) -> MIMEMultipart:
    who = one_line(summary.counterpart)
    subject = f"{who}: {_messages(summary.unread)}"
    msg = _envelope(recipient, subject, links, token, message_id, now)
    foot_text, foot_html = _footer("you asked to hear about new messages right away", links, token)
    text = (
        f"Hello {one_line(recipient.name)},\n\n{who} wrote to you on Liaison.\n\n"
        f"{_text_item(summary, links)}{foot_text}"
    )
    html_body = (
        f"<p>Hello {escape(one_line(recipient.name))},</p>"
        f"<p>{escape(who)} wrote to you on Liaison.</p>{_html_item(summary, links)}{foot_html}"
    )
    return _assemble(msg, text, html_body)


def digest_email(
    recipient: Recipient,
    summaries: Sequence[ConversationSummary],
    links: Links,
    *,
    period: str,
    token: str,
    message_id: str,
    now: datetime,
) -> MIMEMultipart:
    total = len(summaries)
    shown = summaries[:DIGEST_MAX_ITEMS]
    noun = f"{total} conversation{'s' if total != 1 else ''}"
    subject = f"Your {period} Liaison digest: {noun} with unread messages"
    msg = _envelope(recipient, subject, links, token, message_id, now)
    more = total - len(shown)
    more_text = f"…and {more} more in your inbox: {links.app_base}\n" if more else ""
    foot_text, foot_html = _footer(f"you asked for a {period} digest", links, token)
    text = (
        f"Hello {one_line(recipient.name)},\n\n{noun} have unread messages:\n\n"
        + "\n".join(_text_item(s, links) for s in shown)
        + more_text
        + foot_text
    )
    more_html = (
        f'<p>…and {more} more in <a href="{escape(links.app_base)}">your inbox</a>.</p>'
        if more
        else ""
    )
    html_body = (
        f"<p>Hello {escape(one_line(recipient.name))},</p><p>{escape(noun)} have unread "
        f"messages:</p>{''.join(_html_item(s, links) for s in shown)}{more_html}{foot_html}"
    )
    return _assemble(msg, text, html_body)


def message_id_for(notification_id: int, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "liaison.invalid"
    return f"<notification-{notification_id}@{domain}>"


__all__ = [
    "ConversationSummary",
    "Links",
    "Recipient",
    "conversation_email",
    "digest_email",
    "message_id_for",
]
