"""Message templates: stored bodies with `{{partner.name}}`, `{{brand.name}}` and
`{{sender.name}}` tokens, substituted as plain text when a message is rendered.

A body is checked when saved, previewed or sent: any other `{{…}}` is ``INVALID_TEMPLATE``.
Substitution is one pass over the written body, so a name that itself contains `{{…}}` is
inserted as it is and never substituted again. Brand users only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from models import Account, AccountKind, MessageTemplate, Partnership, Permission, User
from services.auth import Viewer
from services.conversations import Page
from services.cursors import CursorCodec
from services.errors import ErrorCode, InvalidInput, NotFound, PermissionDenied

TOKENS = ("partner.name", "brand.name", "sender.name")
MAX_NAME_CHARS = 200
MAX_TEMPLATE_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class TokenValues:
    partner_name: str
    brand_name: str
    sender_name: str


def _tokens(body: str) -> Iterator[tuple[int, int]]:
    """The `(start, end)` of each `{{…}}` in `body`: from a `{{` to the first `}}` after it.

    One pass with `str.find` (linear in the body): a regular expression such as
    `{{(.*?)}}` retries from every `{{` that has no `}}` after it, which is quadratic —
    10,000 characters of `{{` held the event loop for seconds."""
    pos = 0
    while (start := body.find("{{", pos)) >= 0:
        end = body.find("}}", start + 2)
        if end < 0:
            return  # no `}}` after this `{{`, so none after any later one either
        yield start, end + 2
        pos = end + 2


def check_template(body: str, field: tuple[str, ...] = ("body",)) -> str:
    """The body, if every `{{…}}` in it is a known token; ``INVALID_TEMPLATE`` otherwise."""
    for start, end in _tokens(body):
        token = body[start + 2 : end - 2].strip()
        if token not in TOKENS:
            shown = body[start:end][:60]
            raise InvalidInput(
                ErrorCode.INVALID_TEMPLATE,
                f"Unknown token {shown}: use {', '.join('{{' + t + '}}' for t in TOKENS)}.",
                field,
            )
    return body


def render(body: str, values: TokenValues) -> str:
    """Substitute the tokens of a checked body, as plain text."""
    by_token = {
        "partner.name": values.partner_name,
        "brand.name": values.brand_name,
        "sender.name": values.sender_name,
    }
    parts: list[str] = []
    pos = 0
    for start, end in _tokens(body):
        parts += [body[pos:start], by_token.get(body[start + 2 : end - 2].strip(), body[start:end])]
        pos = end
    parts.append(body[pos:])
    return "".join(parts)


def _require_brand(viewer: Viewer) -> None:
    if not viewer.can(Permission.MESSAGING):
        raise PermissionDenied("Templates need the MESSAGING permission.")
    if viewer.account_kind is not AccountKind.BRAND:
        raise PermissionDenied("Only brand accounts have message templates.")


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS or any(not c.isprintable() for c in name):
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"A template name has 1 to {MAX_NAME_CHARS} printable characters.",
            ("name",),
        )
    return name


def _check_body(body: str) -> str:
    if not body.strip():
        raise InvalidInput(ErrorCode.INVALID_BODY, "The template body is empty.", ("body",))
    if len(body) > MAX_TEMPLATE_CHARS or "\x00" in body:
        raise InvalidInput(
            ErrorCode.INVALID_BODY,
            f"A template has at most {MAX_TEMPLATE_CHARS} characters.",
            ("body",),
        )
    return check_template(body)


def _parse(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("No such template.", field=(field,)) from None


async def access_template(viewer: Viewer, template_id: str) -> MessageTemplate:
    _require_brand(viewer)
    row = await MessageTemplate.filter(
        id=_parse(template_id, "id"), account_id=viewer.account_id
    ).first()
    if row is None:
        raise NotFound("No such template.", field=("id",))
    return row


async def create_template(viewer: Viewer, name: str, body: str) -> MessageTemplate:
    _require_brand(viewer)
    return await MessageTemplate.create(
        account_id=viewer.account_id,
        name=_check_name(name),
        body=_check_body(body),
        created_by_id=viewer.user_id,
        updated_at=datetime.now(UTC),
    )


async def update_template(
    viewer: Viewer, template_id: str, name: str | None, body: str | None
) -> MessageTemplate:
    row = await access_template(viewer, template_id)
    if name is not None:
        row.name = _check_name(name)
    if body is not None:
        row.body = _check_body(body)
    row.updated_at = datetime.now(UTC)
    await row.save(update_fields=["name", "body", "updated_at"])
    return row


async def delete_template(viewer: Viewer, template_id: str) -> uuid.UUID:
    row = await access_template(viewer, template_id)
    await row.delete()
    return row.id


async def templates_page(
    viewer: Viewer, first: int, after: str | None, cursors: CursorCodec
) -> Page[MessageTemplate]:
    """The account's templates, most recently updated first."""
    _require_brand(viewer)
    query = MessageTemplate.filter(account_id=viewer.account_id)
    total = await query.count()
    if after is not None:
        stamp, tid = cursors.decode("templates", after)
        at = datetime.fromisoformat(str(stamp))
        query = query.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=uuid.UUID(str(tid))))
    rows = await query.order_by("-updated_at", "-id").limit(first + 1)
    items = [
        (cursors.encode("templates", t.updated_at.isoformat(), str(t.id)), t) for t in rows[:first]
    ]
    return Page(items, len(rows) > first, after is not None, total)


async def token_values(viewer: Viewer, partner_id: uuid.UUID) -> TokenValues:
    """The names a message from the viewer to one of its brand's partners renders with."""
    found = await Partnership.filter(brand_id=viewer.account_id, partner_id=partner_id).exists()
    if not found:
        raise NotFound("No partnership with that account.", field=("partnerId",))
    partner = await Account.get(id=partner_id)
    brand = await Account.get(id=viewer.account_id)
    sender = await User.get(id=viewer.user_id)
    return TokenValues(partner.name, brand.name, sender.name)


async def preview(viewer: Viewer, body: str, partner_id: str) -> str:
    """`body` rendered for one partner of the viewer's brand, as that partner would read it."""
    _require_brand(viewer)
    check_template(body)
    values = await token_values(viewer, _parse_partner(partner_id))
    return render(body, values)


def _parse_partner(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("No partnership with that account.", field=("partnerId",)) from None
