"""Who may download an attachment: the one place that decides it.

The rule is the conversation's (``access_conversation``: the viewer's account is a
participant, and the viewer has ``MESSAGING``), plus the scan: only a ``CLEAN`` attachment is
ever served. A malformed id, a missing attachment, another tenant's and one not ``CLEAN``
all raise the same ``NotFound``, so a caller cannot tell them apart.
"""

from __future__ import annotations

import uuid

from models import Attachment, ScanStatus
from services.auth import Viewer
from services.conversations import access_conversation, require_messaging
from services.errors import NotFound

NOT_FOUND_MESSAGE = "No such attachment."


async def access_attachment(viewer: Viewer, attachment_id: str) -> Attachment:
    """The attachment row, if the viewer may download it now; raises ``PermissionDenied``
    without MESSAGING and ``NotFound`` otherwise. Reads only."""
    require_messaging(viewer)
    try:
        parsed = uuid.UUID(attachment_id)
    except (ValueError, TypeError, AttributeError):
        raise NotFound(NOT_FOUND_MESSAGE) from None
    row = await Attachment.filter(id=parsed).select_related("message").first()
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    try:
        await access_conversation(viewer, row.message.conversation_id)  # type: ignore[attr-defined]
    except NotFound:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    if row.scan_status is not ScanStatus.CLEAN:
        raise NotFound(NOT_FOUND_MESSAGE)
    return row
