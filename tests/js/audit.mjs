// The `graphql-http` GraphQL-over-HTTP audit (serverAudits) against a running server.
// Usage: node audit.mjs <url of /graphql> <bearer token>
// Prints one JSON line: {"ok": n, "warn": [...], "error": [...]} (each with id, name, reason).
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const counts = { ok: 0, warn: [], error: [] };
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    counts.ok += 1;
  } else {
    (counts[result.status] ??= []).push({ id: audit.id, name: audit.name, reason: result.reason });
  }
}
console.log(JSON.stringify(counts));
