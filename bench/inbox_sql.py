"""R0's inbox statements (page + count) before issue 12 (the `archived` flag and its index)
and after (the `folder` column and its index, three more columns read), on the same bench
data set, alternately on one asyncpg connection.

    .venv/bin/python -m bench.inbox_sql [--db liaison_bench] [--rounds 300]

Adds the old column and index to `participants` for the run and drops them afterwards.
"""

import argparse
import asyncio
import statistics
import time

import asyncpg

COLS = """p.conversation_id, p.last_seq, p.last_read_seq, {extra} p.last_activity_at,
  c.last_message_id, c.last_message_at, c.partnership_id, ps.status, ps.brand_id, ps.partner_id,
  a.id AS counterpart_id, a.name AS counterpart_name, a.kind AS counterpart_kind,
  a.terms_version_accepted AS counterpart_terms, m.seq AS m_seq, m.body AS m_body,
  m.sent_at AS m_sent_at, m.client_message_id AS m_client_message_id,
  m.sender_user_id AS m_sender_user_id, m.sender_account_id AS m_sender_account_id"""
FROM = """FROM participants p JOIN conversations c ON c.id = p.conversation_id
JOIN partnerships ps ON ps.id = c.partnership_id JOIN accounts a ON a.id = p.counterpart_id
LEFT JOIN messages m ON m.id = c.last_message_id"""
BEFORE = (
    f"SELECT {COLS.format(extra='p.archived,')} {FROM} WHERE p.account_id = $1 AND p.archived = $2"
    " ORDER BY p.last_activity_at DESC, p.conversation_id DESC LIMIT $3",
    False,
)
AFTER = (
    f"SELECT {COLS.format(extra='p.folder, p.priority, p.assignee_id,')} {FROM} WHERE p.account_id = $1"
    " AND p.folder = $2 ORDER BY p.last_activity_at DESC, p.conversation_id DESC LIMIT $3",
    "INBOX",
)
COUNT_BEFORE = (
    "SELECT COUNT(*) AS n FROM participants p WHERE p.account_id = $1 AND p.archived = $2",
    False,
)
COUNT_AFTER = (
    "SELECT COUNT(*) AS n FROM participants p WHERE p.account_id = $1 AND p.folder = $2",
    "INBOX",
)


async def main(db: str, rounds: int) -> None:
    c = await asyncpg.connect(f"postgres://postgres@127.0.0.1:5432/{db}")
    acc = await c.fetchval("select account_id from users where email='bench-admin@brand.example'")
    await c.execute("ALTER TABLE participants ADD COLUMN IF NOT EXISTS archived boolean")
    await c.execute("UPDATE participants SET archived = (folder = 'DONE')")
    await c.execute(
        "CREATE INDEX IF NOT EXISTS r0_before ON participants"
        " (account_id, archived, last_activity_at, conversation_id)"
    )
    await c.execute("VACUUM ANALYZE participants")
    try:
        for (page_sql, v1), _, name in (
            (BEFORE, COUNT_BEFORE, "before"),
            (AFTER, COUNT_AFTER, "after"),
        ):
            plan = await c.fetch("EXPLAIN " + page_sql, acc, v1, 21)
            print(name, plan[0][0])
        times = {"before": [], "after": []}
        for _ in range(rounds):
            for (page_sql, v1), (count_sql, v2), name in (
                (BEFORE, COUNT_BEFORE, "before"),
                (AFTER, COUNT_AFTER, "after"),
            ):
                t = time.perf_counter()
                await c.fetch(page_sql, acc, v1, 21)
                await c.fetch(count_sql, acc, v2)
                times[name].append((time.perf_counter() - t) * 1000)
        for name, ts in times.items():
            ts.sort()
            p50, p90 = ts[len(ts) // 2], ts[int(len(ts) * 0.9)]
            print(f"{name} p50 {p50:.3f} ms  p90 {p90:.3f} ms  mean {statistics.mean(ts):.3f} ms")
    finally:
        await c.execute("DROP INDEX IF EXISTS r0_before")
        await c.execute("ALTER TABLE participants DROP COLUMN IF EXISTS archived")
        await c.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.inbox_sql")
    parser.add_argument("--db", default="liaison_bench")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.rounds))
