import { useRef, useState } from "preact/hooks";
import { ApiError, gqlUpload, newClientMessageId } from "./api";
import { SEND } from "./queries";
import type { Message } from "./types";
import { formatSize } from "./util";

const ACCEPT = ".csv,.pdf,.png,.jpg,.jpeg,.gif,text/csv,application/pdf,image/png,image/jpeg,image/gif";
const MAX_FILES = 10;

interface SendPayload {
  sendMessage: {
    message: Message | null;
    conversation: { id: string } | null;
    errors: { code: string; message: string; retryAfterSeconds: number | null }[];
  };
}

export function Composer(props: { recipientAccountId: string; onSent(m: Message, conversationId: string): void }) {
  const [body, setBody] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState("");
  const [retry, setRetry] = useState(false);
  const [dragging, setDragging] = useState(false);
  // One idempotency key per draft: a retry after a lost answer cannot send twice.
  const clientMessageId = useRef(newClientMessageId());
  const picker = useRef<HTMLInputElement>(null);

  const addFiles = (list: FileList | null) => {
    if (!list) return;
    setFiles((old) => [...old, ...Array.from(list)].slice(0, MAX_FILES));
    setRetry(false);
    clientMessageId.current = newClientMessageId(); // a different draft now
  };

  const send = async () => {
    if (sending || (!body.trim() && files.length === 0)) return;
    setSending(true);
    setError("");
    try {
      const data = await gqlUpload<SendPayload>(
        SEND,
        { input: { recipientAccountId: props.recipientAccountId, body, clientMessageId: clientMessageId.current } },
        files,
      );
      const payload = data.sendMessage;
      if (payload.errors.length) {
        const e = payload.errors[0];
        setError(e.retryAfterSeconds ? `${e.message} Try again in ${Math.ceil(e.retryAfterSeconds)} s.` : e.message);
        setRetry(e.code === "RATE_LIMITED");
        return;
      }
      if (payload.message && payload.conversation) props.onSent(payload.message, payload.conversation.id);
      setBody("");
      setFiles([]);
      setRetry(false);
      clientMessageId.current = newClientMessageId();
      if (picker.current) picker.current.value = "";
    } catch (e) {
      const err = e as ApiError;
      // The message may or may not have been stored: retrying with the same key is safe.
      setError(err.code === "NETWORK" ? "Not sent: the server could not be reached." : err.message);
      setRetry(err.code !== "UNAUTHENTICATED");
    } finally {
      setSending(false);
    }
  };

  return (
    <form
      class={dragging ? "composer dragging" : "composer"}
      aria-label="Composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        addFiles(e.dataTransfer?.files ?? null);
      }}
    >
      <label for="composer-body" class="sr-only">
        Message
      </label>
      <textarea
        id="composer-body"
        rows={2}
        placeholder="Write a message (drop files here to attach)"
        value={body}
        onInput={(e) => {
          setBody(e.currentTarget.value);
          // An edited body is a different message: a key reused for it would be a conflict.
          if (retry) {
            setRetry(false);
            clientMessageId.current = newClientMessageId();
          }
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            void send();
          }
        }}
      />
      {files.length > 0 && (
        <ul class="files" aria-label="Files to send">
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`}>
              {f.name} <span class="muted">{formatSize(f.size)}</span>{" "}
              <button
                type="button"
                aria-label={`Remove ${f.name}`}
                onClick={() => {
                  setFiles((old) => old.filter((_, j) => j !== i));
                  clientMessageId.current = newClientMessageId();
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-bar">
        <label class="file-label">
          <span>Attach files</span>
          <input
            ref={picker}
            type="file"
            multiple
            accept={ACCEPT}
            onChange={(e) => addFiles(e.currentTarget.files)}
          />
        </label>
        <span class="status" role="status">
          {sending ? "Sending…" : ""}
        </span>
        {retry && !sending && (
          <button type="button" onClick={() => void send()}>
            Retry
          </button>
        )}
        <button type="submit" disabled={sending}>
          Send
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}
