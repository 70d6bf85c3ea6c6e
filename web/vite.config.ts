// Builds the app into the Python package, where `liaison serve` serves it at /app/.
import { defineConfig } from "vite";

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
});
