// Live inbox over websockets with the `graphql-ws` client (graphql-transport-ws protocol).
// Every event carries a cursor; the subscription's variables always hold the latest one, so
// when the client reconnects (server restart, network loss) it resubscribes with
// `inboxEvents(after: <last cursor>)` and the server replays what was missed.
import { createClient, type Client } from "graphql-ws";
import { LIVE } from "./queries";
import type { LiveEvent } from "./types";

export type LiveStatus = "connecting" | "live" | "reconnecting";

export interface LiveHandlers {
  event(event: LiveEvent): void;
  status(status: LiveStatus): void;
  /** The socket (re)connected: refresh whatever is not covered by a replay. */
  connected(resumed: boolean): void;
  /** The server refused the token (4403): sign in again. */
  refused(): void;
}

const FORBIDDEN = 4403;

function isCloseEvent(value: unknown): value is { code: number } {
  return typeof value === "object" && value !== null && "code" in value;
}

export function startLive(token: string, handlers: LiveHandlers): () => void {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const payload = { query: LIVE, variables: { after: null as string | null } };
  let disposed = false;
  let everConnected = false;
  handlers.status("connecting");

  const client: Client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(250 * 2 ** retries, 3000))),
    shouldRetry: (e) => !(isCloseEvent(e) && e.code === FORBIDDEN),
    onNonLazyError: (e) => {
      if (isCloseEvent(e) && e.code === FORBIDDEN) handlers.refused();
    },
    on: {
      connected: () => {
        if (disposed) return;
        handlers.status("live");
        handlers.connected(everConnected);
        everConnected = true;
      },
      closed: (e) => {
        if (disposed) return;
        if (isCloseEvent(e) && e.code === FORBIDDEN) handlers.refused();
        else handlers.status("reconnecting");
      },
    },
  });

  let unsubscribe = () => {};
  const subscribe = () => {
    unsubscribe = client.subscribe<{ inboxEvents: LiveEvent }>(payload, {
      next: (result) => {
        const event = result.data?.inboxEvents;
        if (!event) return;
        // Read at every (re)subscribe: resuming starts after the last event handled. An event
        // type this app does not select yet carries no cursor: keep the last one.
        if (typeof event.cursor === "string") payload.variables.after = event.cursor;
        handlers.event(event);
      },
      error: () => {
        // A refused subscription (e.g. a revoked permission): try again a little later.
        if (!disposed) setTimeout(subscribe, 3000);
      },
      complete: () => {},
    });
  };
  subscribe();

  return () => {
    disposed = true;
    unsubscribe();
    void client.dispose();
  };
}
