"""Inbox triage through HTTP on both databases: folders, priority, assignment, mark unread,
the inbox filters, inboxCounts, the deprecated archive aliases, and bad input."""

from __future__ import annotations

from typing import Any

from models import AccountKind, PartnershipStatus, User
from tests.factories import Api, Pair, make_account, make_pair, make_user, send

CONVERSATION_FIELDS = "id folder priority archived unreadCount lastReadSeq assignee { id name }"
MOVE = f"""mutation($id: ID!, $folder: InboxFolder!) {{
  moveConversation(input: {{conversationId: $id, folder: $folder}}) {{
    conversation {{ {CONVERSATION_FIELDS} }} errors {{ code field }} }} }}"""
PRIORITY = f"""mutation($id: ID!, $on: Boolean!) {{
  setConversationPriority(input: {{conversationId: $id, priority: $on}}) {{
    conversation {{ {CONVERSATION_FIELDS} }} errors {{ code field }} }} }}"""
UNREAD = f"""mutation($id: ID!) {{
  markConversationUnread(input: {{conversationId: $id}}) {{
    conversation {{ {CONVERSATION_FIELDS} }} errors {{ code field }} }} }}"""
ASSIGN = f"""mutation($id: ID!, $assignee: ID) {{
  assignConversation(input: {{conversationId: $id, assigneeId: $assignee}}) {{
    conversation {{ {CONVERSATION_FIELDS} }} errors {{ code field }} }} }}"""
ARCHIVE = f"""mutation($id: ID!, $on: Boolean!) {{
  setConversationArchived(input: {{conversationId: $id, archived: $on}}) {{
    conversation {{ {CONVERSATION_FIELDS} }} errors {{ code field }} }} }}"""
READ = """mutation($id: ID!) { markConversationRead(input: {conversationId: $id}) {
  conversation { unreadCount } errors { code } } }"""
INBOX = f"""query($f: InboxFilter) {{ inbox(filter: $f) {{ totalCount
  edges {{ node {{ {CONVERSATION_FIELDS} counterpart {{ name }} }} }} }} }}"""
COUNTS = """{ viewer { inboxCounts { inbox unread priority done spam assignedToMe } } }"""
CONVERSATION = f"""query($id: ID!) {{ conversation(id: $id) {{ {CONVERSATION_FIELDS} }} }}"""


async def _call(api: Api, query: str, user: User, **variables: Any) -> dict[str, Any]:
    data = await api.data(query, variables, user=user)
    return next(iter(data.values()))  # type: ignore[no-any-return]


async def _conversation_with(pair: Pair, api: Api, *bodies: str) -> str:
    payload = await send(api, pair.brand_user, pair.partner, bodies[0] if bodies else "hello")
    for body in bodies[1:]:
        await send(api, pair.partner_user, pair.brand, body)
    return str(payload["conversation"]["id"])


async def _names(api: Api, user: User, **flt: Any) -> list[str]:
    inbox = await _call(api, INBOX, user, f=flt or None)
    return sorted(e["node"]["counterpart"]["name"] for e in inbox["edges"])


async def _counts(api: Api, user: User) -> dict[str, int]:
    data = await api.data(COUNTS, user=user)
    return data["viewer"]["inboxCounts"]  # type: ignore[no-any-return]


async def test_folders_filter_the_inbox_and_are_per_side(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    a = await make_pair(brand=brand, partner_name="Alpha")
    b = await make_pair(brand=brand, partner_name="Beta")
    c = await make_pair(brand=brand, partner_name="Gamma")
    ids = [await _conversation_with(p, api) for p in (a, b, c)]
    user = a.brand_user
    moved = await _call(api, MOVE, user, id=ids[0], folder="DONE")
    assert moved["errors"] == []
    assert moved["conversation"]["folder"] == "DONE"
    assert moved["conversation"]["archived"] is True
    await _call(api, MOVE, user, id=ids[1], folder="SPAM")
    assert await _names(api, user) == ["Gamma"]
    assert await _names(api, user, folder="DONE") == ["Alpha"]
    assert await _names(api, user, folder="SPAM") == ["Beta"]
    assert await _names(api, user, archived=True) == ["Alpha"]  # deprecated alias
    assert await _names(api, user, archived=True, folder="SPAM") == ["Beta"]  # folder wins
    # Every user of the account sees the same folder; the other side sees its own.
    colleague = await make_user(brand)
    assert await _names(api, colleague, folder="DONE") == ["Alpha"]
    partner_view = await _call(api, CONVERSATION, a.partner_user, id=ids[0])
    assert partner_view["folder"] == "INBOX"


async def test_new_message_brings_done_back_to_inbox_but_spam_stays(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    done = await make_pair(brand=brand, partner_name="Done Co")
    spam = await make_pair(brand=brand, partner_name="Spam Co")
    done_id = await _conversation_with(done, api)
    spam_id = await _conversation_with(spam, api)
    user = done.brand_user
    await _call(api, MOVE, user, id=done_id, folder="DONE")
    await _call(api, MOVE, user, id=spam_id, folder="SPAM")
    # The brand's own reply leaves its DONE conversation where it is.
    await send(api, user, done.partner, "one more thing")
    assert (await _call(api, CONVERSATION, user, id=done_id))["folder"] == "DONE"
    await send(api, done.partner_user, brand, "answer")
    await send(api, spam.partner_user, brand, "buy now")
    assert (await _call(api, CONVERSATION, user, id=done_id))["folder"] == "INBOX"
    spam_view = await _call(api, CONVERSATION, user, id=spam_id)
    assert spam_view["folder"] == "SPAM"
    assert spam_view["unreadCount"] == 1
    counts = await _counts(api, user)
    assert counts["spam"] == 1
    assert counts["unread"] == 1  # the DONE one back in INBOX; SPAM's unread not counted


async def test_archive_mutation_is_an_alias_of_done(api: Api) -> None:
    pair = await make_pair()
    cid = await _conversation_with(pair, api)
    archived = await _call(api, ARCHIVE, pair.brand_user, id=cid, on=True)
    assert archived["conversation"]["folder"] == "DONE"
    assert archived["conversation"]["archived"] is True
    back = await _call(api, ARCHIVE, pair.brand_user, id=cid, on=False)
    assert back["conversation"]["folder"] == "INBOX"


async def test_priority_and_counts(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    pairs = [await make_pair(brand=brand, partner_name=f"P{i}") for i in range(4)]
    ids = [await _conversation_with(p, api) for p in pairs]
    user = pairs[0].brand_user
    assert await _counts(api, user) == {
        "inbox": 4,
        "unread": 0,
        "priority": 0,
        "done": 0,
        "spam": 0,
        "assignedToMe": 0,
    }
    on = await _call(api, PRIORITY, user, id=ids[0], on=True)
    assert on["conversation"]["priority"] is True
    await _call(api, PRIORITY, user, id=ids[1], on=True)
    await _call(api, MOVE, user, id=ids[1], folder="DONE")  # priority kept, not in INBOX
    await send(api, pairs[2].partner_user, brand, "unread for the brand")
    await _call(api, MOVE, user, id=ids[3], folder="SPAM")
    assert await _names(api, user, priorityOnly=True) == ["P0"]
    assert await _names(api, user, priorityOnly=True, folder="DONE") == ["P1"]
    assert await _names(api, user, unreadOnly=True) == ["P2"]
    assert await _counts(api, user) == {
        "inbox": 2,
        "unread": 1,
        "priority": 1,
        "done": 1,
        "spam": 1,
        "assignedToMe": 0,
    }
    off = await _call(api, PRIORITY, user, id=ids[0], on=False)
    assert off["conversation"]["priority"] is False
    # The partner's side has none of it.
    assert (await _counts(api, pairs[0].partner_user))["priority"] == 0


async def test_assignment_filters_and_counts(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    a = await make_pair(brand=brand, partner_name="Assigned")
    b = await make_pair(brand=brand, partner_name="Open")
    aid = await _conversation_with(a, api)
    await _conversation_with(b, api)
    me, colleague = a.brand_user, await make_user(brand)
    assigned = await _call(api, ASSIGN, me, id=aid, assignee=str(colleague.id))
    assert assigned["errors"] == []
    assert assigned["conversation"]["assignee"] == {"id": str(colleague.id), "name": colleague.name}
    assert await _names(api, colleague, assignee="ME") == ["Assigned"]
    assert await _names(api, me, assignee="ME") == []
    assert await _names(api, me, assignee="UNASSIGNED") == ["Open"]
    assert await _names(api, me, assignee="ANYONE") == ["Assigned", "Open"]
    assert (await _counts(api, colleague))["assignedToMe"] == 1
    inbox = await _call(api, INBOX, me, f=None)
    by_name = {e["node"]["counterpart"]["name"]: e["node"] for e in inbox["edges"]}
    assert by_name["Assigned"]["assignee"]["id"] == str(colleague.id)  # prefilled path
    cleared = await _call(api, ASSIGN, me, id=aid, assignee=None)
    assert cleared["conversation"]["assignee"] is None
    assert await _names(api, me, assignee="UNASSIGNED") == ["Assigned", "Open"]


async def test_mark_unread_goes_back_to_the_latest_message_from_the_other_side(
    api: Api,
) -> None:
    pair = await make_pair()
    cid = await _conversation_with(pair, api, "hi", "reply 1", "reply 2")  # seqs 1, 2, 3
    await send(api, pair.brand_user, pair.partner, "brand again")  # seq 4, read by the brand
    user = pair.brand_user
    unread = await _call(api, UNREAD, user, id=cid)
    assert unread["errors"] == []
    assert unread["conversation"]["lastReadSeq"] == 2  # just before "reply 2" (seq 3)
    assert unread["conversation"]["unreadCount"] == 2
    assert (await _counts(api, user))["unread"] == 1
    await _call(api, READ, user, id=cid)
    # A side whose counterpart never wrote: the latest message becomes unread.
    lonely = await make_pair()
    lonely_id = await _conversation_with(lonely, api, "anyone there?")
    again = await _call(api, UNREAD, lonely.brand_user, id=lonely_id)
    assert again["conversation"]["unreadCount"] == 1


async def test_another_accounts_ids_are_not_found(api: Api) -> None:
    mine = await make_pair()
    theirs = await make_pair()
    my_id = await _conversation_with(mine, api)
    their_id = await _conversation_with(theirs, api)
    user = mine.brand_user
    for query, extra in (
        (MOVE, {"folder": "DONE"}),
        (PRIORITY, {"on": True}),
        (UNREAD, {}),
        (ASSIGN, {"assignee": str(user.id)}),
        (ARCHIVE, {"on": True}),
    ):
        for bad in (their_id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            payload = await _call(api, query, user, id=bad, **extra)
            assert payload["conversation"] is None
            assert payload["errors"][0]["code"] == "NOT_FOUND", (query, bad)
    # The other brand's user (or the partner on the other side) as assignee: NOT_FOUND.
    for outsider in (theirs.brand_user, mine.partner_user):
        payload = await _call(api, ASSIGN, user, id=my_id, assignee=str(outsider.id))
        assert payload["errors"] == [{"code": "NOT_FOUND", "field": ["assigneeId"]}]
    payload = await _call(api, ASSIGN, user, id=my_id, assignee="nope")
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    # Nothing changed on the other tenant's side.
    theirs_view = await _call(api, CONVERSATION, theirs.brand_user, id=their_id)
    assert theirs_view["folder"] == "INBOX"
    assert theirs_view["priority"] is False


async def test_assignee_without_messaging_is_refused(api: Api) -> None:
    pair = await make_pair()
    cid = await _conversation_with(pair, api)
    analyst = await make_user(pair.brand, "ANALYST")
    payload = await _call(api, ASSIGN, pair.brand_user, id=cid, assignee=str(analyst.id))
    assert payload["conversation"] is None
    assert payload["errors"] == [{"code": "PERMISSION_DENIED", "field": ["assigneeId"]}]
    view = await _call(api, CONVERSATION, pair.brand_user, id=cid)
    assert view["assignee"] is None


async def test_triage_needs_messaging(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    cid = await _conversation_with(pair, api)
    analyst = await make_user(pair.brand, "ANALYST")
    body = await api.gql(MOVE, {"id": cid, "folder": "DONE"}, user=analyst)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    body = await api.gql(COUNTS, user=analyst)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_inbox_counts_is_one_statement(api: Api) -> None:
    from tests.test_core_inbox import count_sql

    brand = await make_account(AccountKind.BRAND)
    pairs = [await make_pair(brand=brand) for _ in range(3)]
    for pair in pairs:
        await _conversation_with(pair, api, "hi", "reply")
    user = pairs[0].brand_user
    await api.data(COUNTS, user=user)  # warm: the first request may load more
    with count_sql() as bare:
        await api.data("{ viewer { permissions } }", user=user)
    with count_sql() as counted:
        counts = await _counts(api, user)
    assert counts["inbox"] == 3 and counts["unread"] == 3
    # The database client logs a statement once per layer it passes: compare distinct ones,
    # and only those reading participants (background loops of the app run SQL meanwhile).
    extra = {s for s in set(counted) - set(bare) if "participants" in s}
    assert len(extra) == 1 and "FILTER (WHERE" in extra.pop(), counted
