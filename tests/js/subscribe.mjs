// Subscribes to inboxEvents with the graphql-ws client, exactly as a single-page app does,
// and prints one JSON line per event. Usage: node subscribe.mjs WS_URL TOKEN COUNT
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});
const query = `subscription { inboxEvents {
  __typename ... on MessageCreated { cursor message { body } conversation { id } } } }`;
let seen = 0;
try {
  for await (const result of client.iterate({ query })) {
    console.log(JSON.stringify(result));
    if (++seen >= Number(count)) break;
  }
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.reason ?? error?.message ?? error) }));
  process.exitCode = 1;
}
await client.dispose();
