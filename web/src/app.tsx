import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, gql, setToken } from "./api";
import { ConversationView, NewConversation } from "./conversation";
import { InboxList } from "./inbox";
import { startLive, type LiveStatus } from "./live";
import { PartnersView } from "./partners";
import { ACCEPT_TERMS, VIEWER } from "./queries";
import { SettingsView } from "./settings";
import { SignIn } from "./signin";
import type { Viewer } from "./types";
import { emitLiveEvent, emitResume, parseRoute, routePath, type Route } from "./util";

const TOKEN_KEY = "liaison.token";

export function App() {
  const [token, setTokenState] = useState(() => localStorage.getItem(TOKEN_KEY) ?? "");
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [error, setError] = useState("");
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname));
  const [live, setLive] = useState<LiveStatus>("connecting");

  const signOut = useCallback((message = "") => {
    localStorage.removeItem(TOKEN_KEY);
    setTokenState("");
    setViewer(null);
    setError(message);
  }, []);

  const navigate = useCallback((next: Route) => {
    setRoute(next);
    const path = routePath(next);
    if (path !== location.pathname) history.pushState(null, "", path);
  }, []);

  useEffect(() => {
    const pop = () => setRoute(parseRoute(location.pathname));
    addEventListener("popstate", pop);
    return () => removeEventListener("popstate", pop);
  }, []);

  // Check the token by asking who it belongs to.
  useEffect(() => {
    if (!token) return;
    setToken(token, () => signOut("Your session has ended. Sign in again."));
    gql<{ viewer: Viewer }>(VIEWER)
      .then((data) => {
        localStorage.setItem(TOKEN_KEY, token);
        setViewer(data.viewer);
        setError("");
      })
      .catch((e: ApiError) => {
        if (e.code === "UNAUTHENTICATED") signOut("That token was not accepted.");
        else setError(e.message);
      });
  }, [token, signOut]);

  const canMessage = viewer?.permissions.includes("MESSAGING") ?? false;

  useEffect(() => {
    if (!viewer || !canMessage) return;
    return startLive(token, {
      event: emitLiveEvent,
      status: setLive,
      connected: (resumed) => {
        if (resumed) emitResume();
      },
      refused: () => signOut("Your session has ended. Sign in again."),
    });
  }, [viewer, canMessage, token, signOut]);

  if (!token || !viewer) {
    return token && !error ? (
      <p class="loading" role="status">
        Signing in…
      </p>
    ) : (
      <SignIn onToken={setTokenState} error={error} />
    );
  }

  const isBrand = viewer.account.kind === "BRAND";
  const canSeePartners = isBrand && viewer.permissions.includes("PARTNERS_VIEW");
  const view = route.view === "new" ? "partners" : route.view;

  return (
    <div class="shell">
      <header class="top">
        <span class="brand-name">Liaison</span>
        <nav aria-label="Main">
          <button type="button" aria-current={view === "inbox" ? "page" : undefined}
            onClick={() => navigate({ view: "inbox" })}>Inbox</button>
          {canSeePartners && (
            <button type="button" aria-current={view === "partners" ? "page" : undefined}
              onClick={() => navigate({ view: "partners" })}>Partners</button>
          )}
          <button type="button" aria-current={view === "settings" ? "page" : undefined}
            onClick={() => navigate({ view: "settings" })}>Settings</button>
        </nav>
        <span class="live" role="status" data-live={canMessage ? live : "off"}>
          {canMessage && live === "reconnecting" ? "Reconnecting…" : ""}
        </span>
        <span class="who">
          {viewer.user.name} · {viewer.account.name}
        </span>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {!viewer.account.messagingTermsAccepted && canMessage && (
        <Terms onAccepted={() => setViewer({ ...viewer,
          account: { ...viewer.account, messagingTermsAccepted: true } })} />
      )}
      {!canMessage && view !== "settings" ? (
        <main class="notice">
          <p>Your role ({viewer.permissions.join(", ") || "no permissions"}) has no messaging.</p>
        </main>
      ) : view === "inbox" ? (
        <div class={route.view === "inbox" && route.conversationId ? "split has-open" : "split"}>
          <InboxList
            openId={route.view === "inbox" ? route.conversationId : undefined}
            onOpen={(id) => navigate({ view: "inbox", conversationId: id })}
          />
          {route.view === "inbox" && route.conversationId ? (
            <ConversationView
              key={route.conversationId}
              id={route.conversationId}
              viewer={viewer}
              onBack={() => navigate({ view: "inbox" })}
            />
          ) : (
            <section class="conversation empty" aria-label="Conversation">
              <p class="muted">Choose a conversation.</p>
            </section>
          )}
        </div>
      ) : view === "partners" && canSeePartners ? (
        route.view === "new" ? (
          <NewConversation
            partnerId={route.partnerId}
            partnerName={route.partnerName}
            viewer={viewer}
            onSent={(id) => navigate({ view: "inbox", conversationId: id })}
            onBack={() => navigate({ view: "partners" })}
          />
        ) : (
          <PartnersView
            onMessage={(p) =>
              p.conversationId
                ? navigate({ view: "inbox", conversationId: p.conversationId })
                : navigate({ view: "new", partnerId: p.id, partnerName: p.name })
            }
          />
        )
      ) : (
        <SettingsView canMessage={canMessage} />
      )}
    </div>
  );
}

function Terms(props: { onAccepted(): void }) {
  const [error, setError] = useState("");
  return (
    <div class="banner" role="region" aria-label="Messaging terms">
      <p>Your account has not accepted the messaging terms of use; nobody in it can send.</p>
      <button
        type="button"
        onClick={() =>
          gql<{ acceptMessagingTerms: { errors: { message: string }[] } }>(ACCEPT_TERMS)
            .then((d) => {
              const e = d.acceptMessagingTerms.errors[0];
              if (e) setError(e.message);
              else props.onAccepted();
            })
            .catch((e: Error) => setError(e.message))
        }
      >
        Accept messaging terms
      </button>
      {error && <p role="alert">{error}</p>}
    </div>
  );
}
