"""The bench data set, written straight into the tables `liaison migrate` made (asyncpg COPY).

1 brand with 5,000 partnerships across every status; 2,000 conversations holding 100,000
messages: one deep conversation of 50,000 (so page 1,000 of 50 exists) and 50,000 spread
over the other 1,999 with a long tail. Invariants kept: per-conversation seq 1..n without
gaps; both participant rows with last_seq and last_activity_at; the conversation's
last_message_id/last_message_at.

Built once and reused: `bench_dataset` records the version. Writes made by the send
scenarios are undone by `reset` from the snapshot taken at build time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from models.search_index import document

VERSION = (
    "5"  # 5: triage folder instead of archived; the search index filled; model defaults in COPY
)
PARTNERSHIPS = 5_000
CONVERSATIONS = 2_000
MESSAGES = 100_000
DEEP_MESSAGES = 50_000
STATUSES = {  # partnerships per status, and how many of them have a conversation
    "ACTIVE": (2_000, 1_300),
    "PROSPECT": (1_200, 250),
    "PENDING": (600, 250),
    "EXPIRED": (500, 100),
    "DECLINED": (400, 40),
    "DEACTIVATED": (300, 60),
}
ALL_PERMISSIONS = "ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE"
BUILT_IN = {
    "ACCOUNT_ADMIN": ALL_PERMISSIONS,
    "COMMUNITY_MANAGER": "MESSAGING,PARTNERS_VIEW",
    "ANALYST": "ANALYTICS_VIEW,PARTNERS_VIEW",
}
ADJECTIVES = [
    "Urban",
    "Golden",
    "Nordic",
    "Bright",
    "Wild",
    "Silent",
    "Lucky",
    "Crimson",
    "Coastal",
    "Modern",
    "Little",
    "Grand",
    "Happy",
    "Velvet",
    "Solar",
    "Misty",
]
NOUNS = [
    "Studio",
    "Kitchen",
    "Travels",
    "Fitness",
    "Deals",
    "Reviews",
    "Garden",
    "Media",
    "Beauty",
    "Gaming",
    "Outdoors",
    "Tech",
    "Family",
    "Style",
    "Coffee",
    "Books",
]
WORDS = [
    "thanks",
    "for",
    "the",
    "update",
    "we",
    "can",
    "ship",
    "the",
    "new",
    "creatives",
    "next",
    "week",
    "please",
    "confirm",
    "the",
    "commission",
    "rate",
    "and",
    "the",
    "tracking",
    "link",
    "works",
    "fine",
    "on",
    "mobile",
    "the",
    "campaign",
    "starts",
    "monday",
    "let",
    "me",
    "know",
    "if",
    "you",
    "need",
    "samples",
    "our",
    "audience",
    "loved",
    "the",
    "last",
    "post",
]


@dataclass(frozen=True)
class Handles:
    """What the scenarios need to know about the data set."""

    brand_id: uuid.UUID
    brand_user_id: uuid.UUID
    deep_conversation_id: uuid.UUID
    send_recipients: list[uuid.UUID]  # partners in ACTIVE partnerships with a conversation
    search: str


SEARCH = "studio"


async def ensure(dsn: str) -> tuple[Handles, bool]:
    """Build the data set unless this version is present; reset writes from earlier runs."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, value text)"
        )
        version = await conn.fetchval("SELECT value FROM bench_dataset WHERE key = 'version'")
        built = False
        if version != VERSION:
            await _build(conn)
            built = True
        await reset(conn)
        return await _handles(conn), built
    finally:
        await conn.close()


async def _handles(conn: asyncpg.Connection) -> Handles:
    row = await conn.fetchrow(
        "SELECT a.id AS brand, u.id AS usr FROM accounts a JOIN users u ON u.account_id = a.id "
        "WHERE a.kind = 'BRAND' AND u.email = 'bench-admin@brand.example'"
    )
    assert row is not None, "bench_dataset says built, but the bench brand is missing"
    deep = await conn.fetchval("SELECT id FROM conversations ORDER BY last_seq DESC LIMIT 1")
    recipients = await conn.fetch(
        "SELECT c.partner_id FROM conversations c JOIN partnerships p ON p.id = c.partnership_id"
        " WHERE p.status = 'ACTIVE' AND c.id <> $1 ORDER BY c.partner_id LIMIT 200",
        deep,
    )
    return Handles(row["brand"], row["usr"], deep, [r[0] for r in recipients], SEARCH)


async def reset(conn: asyncpg.Connection) -> None:
    """Undo every write of the send scenarios (their messages carry a clientMessageId)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM events")
        await conn.execute("DELETE FROM messages WHERE client_message_id IS NOT NULL")
        await conn.execute(
            "DELETE FROM conversations c WHERE NOT EXISTS "
            "(SELECT 1 FROM bench_conversations s WHERE s.id = c.id)"
        )
        await conn.execute(
            "UPDATE conversations c SET last_seq = s.last_seq, last_message_id = s.last_message_id,"
            " last_message_at = s.last_message_at FROM bench_conversations s"
            " WHERE c.id = s.id AND c.last_seq <> s.last_seq"
        )
        await conn.execute(
            "UPDATE participants p SET last_seq = s.last_seq, last_read_seq = s.last_read_seq,"
            " folder = s.folder, last_activity_at = s.last_activity_at"
            " FROM bench_participants s WHERE p.id = s.id AND (p.last_seq <> s.last_seq"
            " OR p.last_read_seq <> s.last_read_seq OR p.folder <> s.folder)"
        )
        await conn.execute("UPDATE accounts SET event_seq = 0 WHERE event_seq <> 0")
    await conn.execute(
        "VACUUM ANALYZE messages, participants, conversations, events, message_search"
    )


async def _build(conn: asyncpg.Connection) -> None:
    rnd = random.Random(6)
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    async with conn.transaction():
        await conn.execute(
            "TRUNCATE message_search, events, attachments, messages, participants, conversations,"
            " partnerships,"
            " users, roles, accounts CASCADE"
        )
        await conn.execute("DROP TABLE IF EXISTS bench_conversations, bench_participants")
        accounts, roles, users = [], [], []

        def account(name: str, kind: str) -> uuid.UUID:
            aid = uuid.uuid4()
            accounts.append((aid, name, name.casefold(), kind, 1, now, 0, now))
            for role_name, perms in BUILT_IN.items():
                rid = uuid.uuid4()
                roles.append((rid, aid, role_name, True, perms, now))
                if role_name == "ACCOUNT_ADMIN":
                    admin_roles[aid] = rid
            return aid

        admin_roles: dict[uuid.UUID, uuid.UUID] = {}
        brand = account("Bench Brand", "BRAND")
        brand_user = uuid.uuid4()
        users.append(
            (
                brand_user,
                brand,
                admin_roles[brand],
                "bench-admin@brand.example",
                "Bench Admin",
                now,
            )
        )
        partner_users: dict[uuid.UUID, uuid.UUID] = {}
        partnerships = []
        with_conversation: list[tuple[uuid.UUID, uuid.UUID]] = []  # (partnership, partner)
        i = 0
        for status, (count, talking) in STATUSES.items():
            for j in range(count):
                i += 1
                name = f"{rnd.choice(ADJECTIVES)} {rnd.choice(NOUNS)} {i:04d}"
                partner = account(name, "PARTNER")
                uid = uuid.uuid4()
                partner_users[partner] = uid
                users.append(
                    (
                        uid,
                        partner,
                        admin_roles[partner],
                        f"partner{i:04d}@partner.example",
                        f"Owner {i:04d}",
                        now,
                    )
                )
                pid = uuid.uuid4()
                created = now - timedelta(days=rnd.uniform(100, 400))
                partnerships.append((pid, brand, partner, status, created, created))
                if j < talking:
                    with_conversation.append((pid, partner))
        await _copy(
            conn,
            "accounts",
            accounts,
            "id name name_folded kind terms_version_accepted"
            " terms_accepted_at event_seq created_at",
        )
        await _copy(conn, "roles", roles, "id account_id name built_in permissions created_at")
        await _copy(
            conn,
            "users",
            users,
            "id account_id role_id email name created_at",
        )
        await _copy(
            conn,
            "partnerships",
            partnerships,
            "id brand_id partner_id status created_at updated_at",
        )
        await _conversations(conn, rnd, now, brand, brand_user, partner_users, with_conversation)
        await conn.execute(
            "CREATE TABLE bench_conversations AS SELECT id, last_seq,"
            " last_message_id, last_message_at FROM conversations"
        )
        await conn.execute(
            "CREATE TABLE bench_participants AS SELECT id, last_seq,"
            " last_read_seq, folder, last_activity_at FROM participants"
        )
        await conn.execute(
            "INSERT INTO bench_dataset VALUES ('version', $1)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            VERSION,
        )


async def _conversations(
    conn: asyncpg.Connection,
    rnd: random.Random,
    now: datetime,
    brand: uuid.UUID,
    brand_user: uuid.UUID,
    partner_users: dict[uuid.UUID, uuid.UUID],
    talking: list[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    assert len(talking) == CONVERSATIONS
    rest = CONVERSATIONS - 1
    counts = [1] * rest
    weights = [1 / (k + 1) ** 0.8 for k in range(rest)]
    for k in rnd.choices(range(rest), weights=weights, k=MESSAGES - DEEP_MESSAGES - rest):
        counts[k] += 1
    rnd.shuffle(counts)
    counts.insert(0, DEEP_MESSAGES)  # the first ACTIVE partnership holds the deep one
    conversations, participants, messages = [], [], []
    digest = "0" * 64
    for (partnership, partner), count in zip(talking, counts, strict=True):
        cid = uuid.uuid4()
        last_at = now - timedelta(minutes=rnd.uniform(1, 90 * 24 * 60))
        step = timedelta(minutes=10 if count > 1000 else rnd.uniform(5, 600))
        first_at = last_at - step * (count - 1)
        message_id = None
        for seq in range(1, count + 1):
            message_id = uuid.uuid4()
            from_brand = seq == 1 or rnd.random() < 0.5
            body = " ".join(rnd.choices(WORDS, k=rnd.randint(4, 40))).capitalize() + "."
            messages.append(
                (
                    message_id,
                    cid,
                    seq,
                    body,
                    brand_user if from_brand else partner_users[partner],
                    brand if from_brand else partner,
                    digest,
                    first_at + step * (seq - 1),
                )
            )
        conversations.append(
            (cid, partnership, brand, partner, "BRAND", count, message_id, last_at, first_at)
        )
        unread = 0 if rnd.random() < 0.7 else min(count, rnd.randint(1, 5))
        folder = "DONE" if rnd.random() < 0.05 else "INBOX"
        participants.append((cid, brand, partner, count, count - unread, folder, last_at))
        participants.append((cid, partner, brand, count, rnd.randint(0, count), "INBOX", last_at))
    await _copy(
        conn,
        "conversations",
        conversations,
        "id partnership_id brand_id partner_id"
        " started_by last_seq last_message_id last_message_at created_at",
    )
    await _copy(
        conn,
        "participants",
        participants,
        "conversation_id account_id counterpart_id last_seq last_read_seq folder last_activity_at",
    )
    await _copy(
        conn,
        "messages",
        messages,
        "id conversation_id seq body sender_user_id sender_account_id request_digest sent_at",
    )
    await _index(conn, [(m[0], m[3]) for m in messages])


async def _index(conn: asyncpg.Connection, messages: list[tuple[uuid.UUID, str]]) -> None:
    """The search index rows `liaison migrate` would back-fill (documents folded by the
    index's own tokeniser), written in bulk."""
    await conn.execute("CREATE TEMP TABLE bench_documents (id uuid, doc text) ON COMMIT DROP")
    await _copy(conn, "bench_documents", [(i, document(b)) for i, b in messages], "id doc")
    await conn.execute(
        "INSERT INTO message_search (account_id, message_id, conversation_id, counterpart_id,"
        " sent_at, has_attachments, document) SELECT p.account_id, m.id, m.conversation_id,"
        " p.counterpart_id, m.sent_at, false, to_tsvector('liaison_search', d.doc)"
        " FROM bench_documents d JOIN messages m ON m.id = d.id"
        " JOIN participants p ON p.conversation_id = m.conversation_id"
    )


# Columns the models fill with a default (Tortoise sets them, not the database): COPY must.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "users": {"notification_frequency": "IMMEDIATE"},
    "participants": {"priority": False},
}


async def _copy(
    conn: asyncpg.Connection, table: str, rows: Sequence[tuple[Any, ...]], columns: str
) -> None:
    defaults = MODEL_DEFAULTS.get(table, {})
    names = columns.split() + list(defaults)
    if defaults:
        rows = [(*row, *defaults.values()) for row in rows]
    await conn.copy_records_to_table(table, records=rows, columns=names)


async def ensure_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
