"""Each user's notification frequency: read, changed by the user, or set OFF by a link."""

from __future__ import annotations

import logging
import uuid

from models import NotificationFrequency, User
from services.auth import Viewer

log = logging.getLogger("liaison.notifications")


async def frequency_of(user_id: uuid.UUID) -> NotificationFrequency:
    user = await User.filter(id=user_id).only("id", "notification_frequency").first()
    return user.notification_frequency if user else NotificationFrequency.IMMEDIATE


async def set_frequency(viewer: Viewer, frequency: NotificationFrequency) -> NotificationFrequency:
    """The viewer's own e-mail notifications; any signed-in user may change them."""
    await User.filter(id=viewer.user_id).update(notification_frequency=frequency)
    return frequency


async def unsubscribe(user_id: uuid.UUID) -> bool:
    """One-click unsubscribe: OFF. False when the user no longer exists."""
    updated = await User.filter(id=user_id).update(notification_frequency=NotificationFrequency.OFF)
    if updated:
        log.info("notifications: user %s unsubscribed by link", user_id)
    return bool(updated)
