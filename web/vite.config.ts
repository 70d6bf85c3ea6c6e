// Builds the app into the Python package, where `liaison serve` serves it at /app/, with
// Apollo's persisted query manifest of every document the app sends (an allowlist for
// LIAISON_PERSISTED_QUERIES in production).
import { createHash } from "node:crypto";
import { defineConfig, type Plugin } from "vite";
import * as documents from "./src/queries";

function persistedQueryManifest(): Plugin {
  return {
    name: "liaison-persisted-query-manifest",
    generateBundle() {
      const operations = (Object.values(documents) as unknown[])
        .filter((body): body is string => typeof body === "string")
        .map((body) => {
          const [, type, name] = /^(query|mutation|subscription)\s+(\w+)/.exec(body) ?? [];
          if (!type || !name) throw new Error(`an operation without a name: ${body.slice(0, 60)}`);
          return { id: createHash("sha256").update(body).digest("hex"), name, type, body };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
      const manifest = { format: "apollo-persisted-query-manifest", version: 1, operations };
      this.emitFile({
        type: "asset",
        fileName: "persisted-query-manifest.json",
        source: JSON.stringify(manifest, null, 2) + "\n",
      });
    },
  };
}

export default defineConfig({
  base: "/app/",
  build: {
    outDir: "../gql/static/app",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    // One small bundle: the first load is index.html, one script and one stylesheet.
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  plugins: [persistedQueryManifest()],
});
