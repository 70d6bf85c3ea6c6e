// Writes build-stamp.json into the build output: a SHA-256 over the app's sources, in the
// same order as tests/test_webapp_build.py computes it, so a test fails when the committed
// build is older than web/.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const web = new URL("..", import.meta.url).pathname;
const inputs = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [relative(web, path)];
  });
}

const files = [...inputs, ...walk(join(web, "src"))].sort();
const hash = createHash("sha256");
for (const file of files) {
  hash.update(file + "\0");
  hash.update(readFileSync(join(web, file)));
  hash.update("\0");
}
const out = join(web, "..", "gql", "static", "app", "build-stamp.json");
writeFileSync(out, JSON.stringify({ sources: hash.digest("hex"), files }, null, 2) + "\n");
console.log(`wrote ${relative(join(web, ".."), out)}`);
