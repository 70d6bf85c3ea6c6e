import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, download, gql } from "./api";
import { Composer } from "./composer";
import { ASSIGN, CONVERSATION, MARK_READ, MARK_UNREAD, MOVE, PRIORITY } from "./queries";
import type { Attachment, Folder, Message, Viewer } from "./types";
import { emitLiveEvent, formatSize, formatTime, onLiveEvent, onResume, titleCase } from "./util";

interface Loaded {
  id: string;
  unreadCount: number;
  lastReadSeq: number;
  folder: Folder;
  priority: boolean;
  assignee: { id: string; name: string } | null;
  counterpart: { id: string; name: string };
  partnership: { status: string };
  messages: {
    edges: { node: Message }[];
    pageInfo: { hasPreviousPage: boolean; startCursor: string | null };
  };
}

/** Messages by seq; a scan verdict already known is never replaced by an older PENDING copy
 * (the send's answer can arrive after the live AttachmentScanned event). */
function merge(old: Message[], incoming: Message[]): Message[] {
  const bySeq = new Map(old.map((m) => [m.seq, m]));
  for (const m of incoming) {
    const known = new Map((bySeq.get(m.seq)?.attachments ?? []).map((a) => [a.id, a]));
    const attachments = m.attachments.map((a) => {
      const before = known.get(a.id);
      return before && a.scanStatus === "PENDING" && before.scanStatus !== "PENDING" ? before : a;
    });
    bySeq.set(m.seq, { ...m, attachments });
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function ConversationView(props: { id: string; viewer: Viewer; onBack(): void }) {
  const [conv, setConv] = useState<Omit<Loaded, "messages"> | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState("");
  const [seenSeq, setSeenSeq] = useState(0);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true); // keep the view at the bottom while the reader is there
  const keepFrom = useRef<number | null>(null); // scroll height before prepending older ones

  const fetchLatest = () =>
    gql<{ conversation: Loaded | null }>(CONVERSATION, { id: props.id })
      .then((d) => {
        if (!d.conversation) {
          setError("This conversation does not exist or is not yours.");
          return;
        }
        const { messages: page, ...rest } = d.conversation;
        setConv(rest);
        setMessages((old) => merge(old, page.edges.map((e) => e.node)));
        setOlder((o) => o ?? (page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor : null));
      })
      .catch((e: ApiError) => setError(e.message));

  useEffect(() => {
    void fetchLatest();
    return onResume(() => void fetchLatest());
  }, [props.id]);

  const loadOlder = () => {
    if (!older || loadingOlder) return;
    setLoadingOlder(true);
    keepFrom.current = list.current ? list.current.scrollHeight - list.current.scrollTop : null;
    gql<{ conversation: Loaded | null }>(CONVERSATION, { id: props.id, before: older })
      .then((d) => {
        const page = d.conversation?.messages;
        if (!page) return;
        setMessages((old) => merge(old, page.edges.map((e) => e.node)));
        setOlder(page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor : null);
      })
      .catch((e: ApiError) => setError(e.message))
      .finally(() => setLoadingOlder(false));
  };

  // Scroll: to the bottom on new messages (when already there); keep position on older pages.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (keepFrom.current !== null) {
      el.scrollTop = el.scrollHeight - keepFrom.current;
      keepFrom.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
    // A first page shorter than the view: nothing to scroll, so load older at once.
    if (older && el.scrollHeight <= el.clientHeight) loadOlder();
  }, [messages]);

  const onScroll = () => {
    const el = list.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60) loadOlder();
  };

  // Live: new messages, scan verdicts, read positions.
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (event.__typename === "MessageCreated" && event.conversation.id === props.id) {
          setMessages((old) => merge(old, [event.message]));
          setConv((c) => (c ? { ...c, unreadCount: event.conversation.unreadCount } : c));
        } else if (event.__typename === "AttachmentScanned" &&
                   event.message.conversation.id === props.id) {
          setMessages((old) =>
            old.map((m) =>
              m.id !== event.message.id ? m : {
                ...m,
                attachments: m.attachments.map((a) => (a.id === event.attachment.id ? event.attachment : a)),
              }),
          );
        } else if (event.__typename === "ConversationRead" && event.conversation.id === props.id) {
          if (event.readerAccount.id === props.viewer.account.id) {
            setConv((c) => (c ? { ...c, unreadCount: event.conversation.unreadCount } : c));
          } else {
            setSeenSeq((s) => Math.max(s, event.lastReadSeq));
          }
        } else if (event.__typename === "ConversationUpdated" && event.conversation.id === props.id) {
          setConv((c) => (c ? { ...c, ...event.conversation } : c));
        }
      }),
    [props.id],
  );

  // Read marking: whatever is shown while the page is visible counts as read.
  const lastSeq = messages.length ? messages[messages.length - 1].seq : 0;
  useEffect(() => {
    if (!conv || conv.unreadCount === 0 || !lastSeq) return;
    const mark = () => {
      if (document.visibilityState !== "visible") return;
      gql(MARK_READ, { input: { conversationId: props.id, lastReadSeq: lastSeq } })
        .then(() =>
          // The inbox list and counts follow at once, whether or not an event comes back.
          emitLiveEvent({
            __typename: "ConversationRead",
            cursor: "",
            conversation: { id: props.id, unreadCount: 0 },
            readerAccount: { id: props.viewer.account.id },
            lastReadSeq: lastSeq,
          }),
        )
        .catch(() => {});
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [conv?.unreadCount, lastSeq, props.id]);

  /** Resolves true when the change was made. */
  const triage = (query: string, input: Record<string, unknown>): Promise<boolean> =>
    gql<Record<string, { conversation: Partial<Loaded> | null; errors: { message: string }[] }>>(query, {
      input: { conversationId: props.id, ...input },
    })
      .then((d) => {
        const payload = Object.values(d)[0];
        if (payload.errors[0]) {
          setError(payload.errors[0].message);
          return false;
        }
        if (payload.conversation && conv) {
          const next = { ...conv, ...payload.conversation };
          setConv(next);
          // The inbox list and counts follow at once (the event comes back too).
          emitLiveEvent({
            __typename: "ConversationUpdated",
            cursor: "",
            conversation: {
              id: next.id,
              unreadCount: next.unreadCount,
              folder: next.folder,
              priority: next.priority,
              assignee: next.assignee,
            },
          });
        }
        return true;
      })
      .catch((e: ApiError) => {
        setError(e.message);
        return false;
      });

  const mine = props.viewer.account.id;
  const lastOwn = [...messages].reverse().find((m) => m.senderAccount.id === mine);

  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <header class="conv-head">
        <button type="button" class="back" onClick={props.onBack}>
          Back to inbox
        </button>
        <h1 id="conversation-title">{conv?.counterpart.name ?? "Conversation"}</h1>
        {conv && (
          <>
            <span class="muted">{titleCase(conv.partnership.status)}</span>
            {conv.assignee && <span class="muted">Assigned to {conv.assignee.name}</span>}
            <div class="actions" role="group" aria-label="Triage">
              {(["INBOX", "DONE", "SPAM"] as Folder[])
                .filter((f) => f !== conv.folder)
                .map((f) => (
                  <button type="button" key={f} onClick={() => triage(MOVE, { folder: f })}>
                    Move to {titleCase(f)}
                  </button>
                ))}
              <button type="button" aria-pressed={conv.priority}
                onClick={() => triage(PRIORITY, { priority: !conv.priority })}>
                Priority
              </button>
              {conv.assignee?.id === props.viewer.user.id ? (
                <button type="button" onClick={() => triage(ASSIGN, { assigneeId: null })}>
                  Unassign
                </button>
              ) : (
                <button type="button" onClick={() => triage(ASSIGN, { assigneeId: props.viewer.user.id })}>
                  Assign to me
                </button>
              )}
              <button
                type="button"
                // Left open, the conversation would be read again at once: back to the list.
                onClick={() => void triage(MARK_UNREAD, {}).then((ok) => ok && props.onBack())}
              >
                Mark unread
              </button>
            </div>
          </>
        )}
      </header>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="messages" role="region" aria-label="Messages" tabIndex={0} ref={list} onScroll={onScroll}>
        {older ? (
          <button type="button" class="more" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? "Loading older messages…" : "Load older messages"}
          </button>
        ) : (
          messages.length > 0 && <p class="muted start">Start of the conversation</p>
        )}
        <ol class="message-list">
          {messages.map((m) => (
            <MessageItem key={m.id} message={m} own={m.senderAccount.id === mine}
              seen={m === lastOwn && seenSeq >= m.seq} />
          ))}
        </ol>
      </div>
      {conv && (
        <Composer
          recipientAccountId={conv.counterpart.id}
          onSent={(m) => {
            stick.current = true;
            setMessages((old) => merge(old, [m]));
          }}
        />
      )}
    </section>
  );
}

export function NewConversation(props: {
  partnerId: string;
  partnerName: string;
  viewer: Viewer;
  onSent(conversationId: string): void;
  onBack(): void;
}) {
  return (
    <section class="conversation solo" aria-labelledby="conversation-title">
      <header class="conv-head">
        <button type="button" class="back" onClick={props.onBack}>
          Back to partners
        </button>
        <h1 id="conversation-title">New message to {props.partnerName}</h1>
      </header>
      <div class="messages" role="region" aria-label="Messages" tabIndex={0}>
        <p class="muted start">No messages yet.</p>
      </div>
      <Composer recipientAccountId={props.partnerId} onSent={(_, conversationId) => props.onSent(conversationId)} />
    </section>
  );
}

function MessageItem(props: { message: Message; own: boolean; seen: boolean }) {
  const m = props.message;
  return (
    <li class={props.own ? "message own" : "message"}>
      <div class="meta">
        <strong>{m.sender.name}</strong> <span class="muted">{m.senderAccount.name}</span>{" "}
        <time dateTime={m.sentAt} class="muted">
          {formatTime(m.sentAt)}
        </time>
      </div>
      {m.body && <p class="body">{m.body}</p>}
      {m.attachments.length > 0 && (
        <ul class="attachments" aria-label="Attachments">
          {m.attachments.map((a) => (
            <AttachmentItem key={a.id} attachment={a} />
          ))}
        </ul>
      )}
      {props.seen && <span class="muted seen">Seen</span>}
    </li>
  );
}

const SCAN_LABEL = { PENDING: "Scanning", CLEAN: "Clean", INFECTED: "Infected", FAILED: "Scan failed" };

function AttachmentItem(props: { attachment: Attachment }) {
  const a = props.attachment;
  const [error, setError] = useState("");
  return (
    <li class="attachment">
      <span class="filename">{a.filename}</span> <span class="muted">{formatSize(a.size)}</span>{" "}
      <span class={`scan scan-${a.scanStatus.toLowerCase()}`}>{SCAN_LABEL[a.scanStatus]}</span>
      {a.scanStatus === "CLEAN" && a.downloadUrl && (
        <a
          href={a.downloadUrl}
          download={a.filename}
          onClick={(e) => {
            e.preventDefault();
            setError("");
            download(a.downloadUrl!, a.filename).catch((err: Error) => setError(err.message));
          }}
        >
          Download {a.filename}
        </a>
      )}
      {error && <span role="alert" class="error">{error}</span>}
    </li>
  );
}
