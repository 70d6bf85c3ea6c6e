// HTTP side of the public API: GraphQL over POST /graphql, uploads by the GraphQL multipart
// request spec, and attachment downloads, all with the bearer token.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

let token = "";
let onUnauthenticated: () => void = () => {};

export function setToken(value: string, unauthenticated: () => void): void {
  token = value;
  onUnauthenticated = unauthenticated;
}

export function getToken(): string {
  return token;
}

type GqlBody = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };

async function post<T>(body: BodyInit, headers: Record<string, string>): Promise<T> {
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      body,
      headers: {
        accept: "application/graphql-response+json, application/json",
        authorization: `Bearer ${token}`,
        ...headers,
      },
    });
  } catch {
    throw new ApiError("NETWORK", "The server could not be reached.");
  }
  let json: GqlBody;
  try {
    json = (await response.json()) as GqlBody;
  } catch {
    throw new ApiError("BAD_RESPONSE", `The server answered ${response.status}.`, response.status);
  }
  const first = json.errors?.[0];
  if (response.status === 401) {
    onUnauthenticated();
    throw new ApiError("UNAUTHENTICATED", first?.message ?? "Sign in again.", 401);
  }
  if (first) {
    throw new ApiError(first.extensions?.code ?? "ERROR", first.message, response.status);
  }
  return json.data as T;
}

export function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return post<T>(JSON.stringify({ query, variables }), { "content-type": "application/json" });
}

/** A mutation whose `variables.input.attachments` are files, per the multipart request spec. */
export function gqlUpload<T>(
  query: string,
  variables: { input: Record<string, unknown> },
  files: File[],
): Promise<T> {
  if (files.length === 0) return gql<T>(query, variables);
  const operations = {
    query,
    variables: { ...variables, input: { ...variables.input, attachments: files.map(() => null) } },
  };
  const map: Record<string, string[]> = {};
  files.forEach((_, i) => (map[String(i)] = [`variables.input.attachments.${i}`]));
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify(map));
  files.forEach((file, i) => form.append(String(i), file, file.name));
  // The server refuses multipart POSTs without this header (a CSRF defence: it forces a
  // CORS preflight for cross-site requests).
  return post<T>(form, { "apollo-require-preflight": "true" });
}

/** GET an attachment with the bearer token and hand it to the browser as a download. */
export async function download(url: string, filename: string): Promise<void> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new ApiError("DOWNLOAD_FAILED", `Download failed (${response.status}).`);
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** A random idempotency key; works outside secure contexts too (unlike randomUUID). */
export function newClientMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
