import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "./api";
import { COUNTS, INBOX, SEARCH } from "./queries";
import { STATUSES, type ConversationSummary, type Counts } from "./types";
import { formatTime, onLiveEvent, onResume, titleCase } from "./util";

type Tab = "inbox" | "priority" | "done" | "spam";
const TABS: { id: Tab; label: string; filter: Record<string, unknown> }[] = [
  { id: "inbox", label: "Inbox", filter: { folder: "INBOX" } },
  { id: "priority", label: "Priority", filter: { folder: "INBOX", priorityOnly: true } },
  { id: "done", label: "Done", filter: { folder: "DONE" } },
  { id: "spam", label: "Spam", filter: { folder: "SPAM" } },
];

interface SearchHit {
  snippet: string;
  highlights: { start: number; length: number }[];
  node: { id: string; seq: number; sentAt: string; senderAccount: { name: string } };
  conversation: { id: string; counterpart: { name: string } };
}

export function InboxList(props: { openId?: string; onOpen(id: string): void }) {
  const [tab, setTab] = useState<Tab>("inbox");
  const [status, setStatus] = useState("");
  const [assignee, setAssignee] = useState("");
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [items, setItems] = useState<ConversationSummary[]>([]);
  const [more, setMore] = useState<string | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);

  const filter = () => ({
    ...TABS.find((t) => t.id === tab)!.filter,
    ...(status ? { partnershipStatuses: [status] } : {}),
    ...(assignee ? { assignee } : {}),
    ...(query ? { search: query } : {}),
  });

  const load = () => {
    const mine = ++generation.current;
    gql<{ inbox: { edges: { node: ConversationSummary }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
      INBOX,
      { filter: filter() },
    )
      .then((d) => {
        if (mine !== generation.current) return;
        setItems(d.inbox.edges.map((e) => e.node));
        setMore(d.inbox.pageInfo.hasNextPage ? d.inbox.pageInfo.endCursor : null);
        setError("");
      })
      .catch((e: Error) => mine === generation.current && setError(e.message))
      .finally(() => mine === generation.current && setLoading(false));
    gql<{ viewer: { inboxCounts: Counts } }>(COUNTS)
      .then((d) => {
        setCounts(d.viewer.inboxCounts);
        const unread = d.viewer.inboxCounts.unread;
        document.title = unread ? `(${unread}) Liaison inbox` : "Liaison inbox";
      })
      .catch(() => {});
  };

  const loadMore = () => {
    if (!more) return;
    gql<{ inbox: { edges: { node: ConversationSummary }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
      INBOX,
      { filter: filter(), after: more },
    ).then((d) => {
      setItems((old) => [...old, ...d.inbox.edges.map((e) => e.node)]);
      setMore(d.inbox.pageInfo.hasNextPage ? d.inbox.pageInfo.endCursor : null);
    }).catch((e: Error) => setError(e.message));
  };

  useEffect(load, [tab, status, assignee, query]);

  // Debounced search: message hits from searchMessages, conversations by name from the inbox.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  useEffect(() => {
    if (!query) {
      setHits(null);
      return;
    }
    let current = true;
    gql<{ searchMessages: { edges: SearchHit[] } }>(SEARCH, { query })
      .then((d) => current && setHits(d.searchMessages.edges))
      .catch(() => current && setHits([]));
    return () => {
      current = false;
    };
  }, [query]);

  // Live: every event may change order, counts or badges; refetch (coalesced). The listener
  // lives as long as the list; it calls the latest `load` (current tab and filters).
  const latestLoad = useRef(load);
  latestLoad.current = load;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => latestLoad.current(), 150);
    };
    const offEvent = onLiveEvent((event) => {
      if (event.__typename === "AttachmentScanned" || event.__typename === "BulkSendProgress") {
        return;
      }
      const changed = event.conversation;
      setItems((old) =>
        old.map((c) => (c.id === changed.id ? { ...c, unreadCount: changed.unreadCount } : c)),
      );
      schedule();
    });
    const offResume = onResume(schedule);
    return () => {
      offEvent();
      offResume();
      clearTimeout(timer);
    };
  }, []);

  const tabKeys = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const target = TABS[(next + TABS.length) % TABS.length];
    setTab(target.id);
    document.getElementById(`tab-${target.id}`)?.focus();
  };

  return (
    <section class="inbox" aria-label="Inbox">
      <div role="tablist" aria-label="Folders" class="tabs" onKeyDown={tabKeys}>
        {TABS.map((t) => (
          <button
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            key={t.id}
            aria-selected={tab === t.id}
            aria-controls="conversation-list"
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
          >
            {t.label} <span class="count">{counts ? counts[t.id] : ""}</span>
          </button>
        ))}
      </div>
      <div class="filters">
        <label>
          <span>Partnership status</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Assignee</span>
          <select value={assignee} onChange={(e) => setAssignee(e.currentTarget.value)}>
            <option value="">Anyone</option>
            <option value="ME">Me</option>
            <option value="UNASSIGNED">Unassigned</option>
          </select>
        </label>
        <label>
          <span>Search</span>
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      {error && <p role="alert" class="error pad">{error}</p>}
      {hits && (
        <section aria-labelledby="hits-title" class="hits">
          <h2 id="hits-title">Messages matching “{query}”</h2>
          {hits.length === 0 ? (
            <p class="muted">No messages match.</p>
          ) : (
            <ul aria-label="Search results" class="list">
              {hits.map((h) => (
                <li key={h.node.id}>
                  <button type="button" class="row" onClick={() => props.onOpen(h.conversation.id)}>
                    <span class="row-top">
                      <strong>{h.conversation.counterpart.name}</strong>
                      <span class="muted">{formatTime(h.node.sentAt)}</span>
                    </span>
                    <span class="snippet">{highlight(h.snippet, h.highlights)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h2>Conversations</h2>
        </section>
      )}
      <ul id="conversation-list" aria-label="Conversations" class="list" aria-busy={loading}>
        {items.map((c) => (
          <li key={c.id} aria-current={c.id === props.openId ? "true" : undefined}>
            <button type="button" class="row" onClick={() => props.onOpen(c.id)}>
              <span class="row-top">
                <strong>{c.counterpart.name}</strong>
                {c.priority && <span class="flag">Priority</span>}
                {c.assignee && <span class="muted assignee">{c.assignee.name}</span>}
                {c.unreadCount > 0 && (
                  <span class="badge" role="img" aria-label={`${c.unreadCount} unread`}>
                    {c.unreadCount}
                  </span>
                )}
                <span class="muted time">{formatTime(c.lastMessageAt)}</span>
              </span>
              <span class="preview muted">
                {titleCase(c.partnership.status)} ·{" "}
                {c.lastMessage
                  ? c.lastMessage.body || `${c.lastMessage.attachments.length} attachment(s)`
                  : "No messages yet"}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {!loading && items.length === 0 && <p class="muted pad">No conversations here.</p>}
      {more && (
        <button type="button" class="more" onClick={loadMore}>
          Load more conversations
        </button>
      )}
    </section>
  );
}

function highlight(text: string, ranges: { start: number; length: number }[]) {
  // Ranges count Unicode code points.
  const chars = Array.from(text);
  const out: (string | preact.JSX.Element)[] = [];
  let at = 0;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start < at) continue;
    out.push(chars.slice(at, r.start).join(""));
    out.push(<mark key={r.start}>{chars.slice(r.start, r.start + r.length).join("")}</mark>);
    at = r.start + r.length;
  }
  out.push(chars.slice(at).join(""));
  return out;
}
