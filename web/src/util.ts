import type { LiveEvent } from "./types";

/** Live events fan out to whichever views are mounted. */
const listeners = new Set<(event: LiveEvent) => void>();
export function onLiveEvent(listener: (event: LiveEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
export function emitLiveEvent(event: LiveEvent): void {
  listeners.forEach((l) => l(event));
}

/** Reconnects: views refetch what a replay does not cover. */
const resumers = new Set<() => void>();
export function onResume(listener: () => void): () => void {
  resumers.add(listener);
  return () => resumers.delete(listener);
}
export function emitResume(): void {
  resumers.forEach((l) => l());
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function titleCase(value: string): string {
  return value.charAt(0) + value.slice(1).toLowerCase();
}

export type Route =
  | { view: "inbox"; conversationId?: string }
  | { view: "partners" }
  | { view: "settings" }
  | { view: "new"; partnerId: string; partnerName: string };

export function parseRoute(path: string): Route {
  const rest = path.replace(/^\/app\/?/, "");
  const conversation = /^conversations\/([^/]+)/.exec(rest);
  if (conversation) return { view: "inbox", conversationId: decodeURIComponent(conversation[1]) };
  if (rest.startsWith("partners")) return { view: "partners" };
  if (rest.startsWith("settings")) return { view: "settings" };
  return { view: "inbox" };
}

export function routePath(route: Route): string {
  switch (route.view) {
    case "inbox":
      return route.conversationId ? `/app/conversations/${route.conversationId}` : "/app/";
    case "partners":
    case "new":
      return "/app/partners";
    case "settings":
      return "/app/settings";
  }
}
