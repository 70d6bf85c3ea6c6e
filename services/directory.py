"""An account's users and roles as its administrators list them (USERS_MANAGE)."""

from __future__ import annotations

import uuid

from tortoise.expressions import Q

from models import Permission, Role, User
from services.accounts import require
from services.auth import Viewer
from services.conversations import Page
from services.cursors import CursorCodec


async def users_page(
    viewer: Viewer, first: int, after: str | None, cursors: CursorCodec
) -> Page[User]:
    """Users of the viewer's account, active or not, by e-mail address."""
    require(viewer, Permission.USERS_MANAGE)
    query = User.filter(account_id=viewer.account_id)
    total = await query.count()
    if after is not None:
        (email,) = cursors.decode("users", after)
        query = query.filter(email__gt=str(email))
    rows = await query.order_by("email").limit(first + 1)
    items = [(cursors.encode("users", u.email), u) for u in rows[:first]]
    return Page(items, len(rows) > first, after is not None, total)


async def roles_page(
    viewer: Viewer, first: int, after: str | None, cursors: CursorCodec
) -> Page[Role]:
    """Roles of the viewer's account, built-in and custom, by name."""
    require(viewer, Permission.USERS_MANAGE)
    query = Role.filter(account_id=viewer.account_id)
    total = await query.count()
    if after is not None:
        name, rid = cursors.decode("roles", after)
        query = query.filter(Q(name__gt=str(name)) | Q(name=str(name), id__gt=uuid.UUID(str(rid))))
    rows = await query.order_by("name", "id").limit(first + 1)
    items = [(cursors.encode("roles", r.name, str(r.id)), r) for r in rows[:first]]
    return Page(items, len(rows) > first, after is not None, total)
