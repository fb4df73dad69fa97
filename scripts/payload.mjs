// Reports the client payload of the release build (JS + wasm + CSS): raw, gzip and
// brotli sizes, against the 250 KB brotli budget, and writes the .gz/.br files the
// server sends to browsers that accept them (the release binary embeds them: run by
// scripts/build-release.sh between the site's build and the server's).
//   node scripts/payload.mjs [--check]
// --check exits non-zero when the brotli total is over budget.
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "target", "site", "pkg");
const BUDGET = 250 * 1024;
const files = ["portal.js", "portal.wasm", "portal.css"];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let total = { raw: 0, gz: 0, br: 0 };
const rows = [];
for (const f of files) {
  const raw = readFileSync(join(pkg, f));
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  writeFileSync(join(pkg, `${f}.gz`), gz);
  writeFileSync(join(pkg, `${f}.br`), br);
  rows.push(`| ${f} | ${kb(raw.length)} | ${kb(gz.length)} | ${kb(br.length)} |`);
  total.raw += raw.length;
  total.gz += gz.length;
  total.br += br.length;
}
console.log("| file | raw | gzip | brotli |\n| --- | --- | --- | --- |");
console.log(rows.join("\n"));
console.log(`| total | ${kb(total.raw)} | ${kb(total.gz)} | ${kb(total.br)} |`);
const ok = total.br <= BUDGET;
console.log(`\nbrotli total ${kb(total.br)} of a ${kb(BUDGET)} budget: ${ok ? "within" : "OVER"} budget`);
if (process.argv.includes("--check") && !ok) process.exit(1);
