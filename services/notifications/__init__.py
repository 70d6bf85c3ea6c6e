"""E-mail notifications of unread messages (SPEC §13): immediate per conversation after a
delay, or daily/weekly digests; exactly once per (user, window) through the database.

- `preferences`: each user's `NotificationFrequency`, one-click unsubscribe.
- `notifier`: what is owed, claimed and delivered, tick by tick (`Notifier.tick`).
- `mail`: the e-mails (stdlib `email`: text + escaped HTML, RFC 8058 headers).
- `mailers`: SMTP (`aiosmtplib`) or, in development, an outbox directory.
- `service`: building the notifier from the settings and ticking it in the background.
"""

from services.notifications.mailers import (
    Mailer,
    OutboxMailer,
    PermanentFailure,
    SmtpConfig,
    SmtpMailer,
    TransientFailure,
)
from services.notifications.notifier import Notifier, NotifierConfig, TickReport, digest_windows
from services.notifications.service import (
    NotificationLoop,
    make_mailer,
    make_notifier,
    notifier_config,
)
from services.notifications.tokens import read_unsubscribe_token, unsubscribe_token

__all__ = [
    "Mailer",
    "NotificationLoop",
    "Notifier",
    "NotifierConfig",
    "OutboxMailer",
    "PermanentFailure",
    "SmtpConfig",
    "SmtpMailer",
    "TickReport",
    "TransientFailure",
    "digest_windows",
    "make_mailer",
    "make_notifier",
    "notifier_config",
    "read_unsubscribe_token",
    "unsubscribe_token",
]
