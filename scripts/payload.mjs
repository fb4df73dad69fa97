// Reports the client payload of the release build (JS + wasm + CSS): raw, gzip and
// brotli sizes, against the 250 KB brotli budget. It measures the .br/.gz copies the
// server sends (written by `cargo leptos build --release --precompress`, and carried by
// the binary); where a copy is missing or older than its file, it writes one.
//   node scripts/payload.mjs [--check]
// --check exits non-zero when the brotli total is over budget.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
  const path = join(pkg, f);
  const raw = readFileSync(path);
  const fresh = (copy) => existsSync(copy) && statSync(copy).mtimeMs >= statSync(path).mtimeMs;
  const copy = (ext, compress) => {
    const p = `${path}.${ext}`;
    if (fresh(p)) return readFileSync(p);
    const data = compress(raw);
    writeFileSync(p, data);
    return data;
  };
  const gz = copy("gz", (d) => gzipSync(d, { level: 9 }));
  const br = copy("br", (d) =>
    brotliCompressSync(d, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: d.length },
    }),
  );
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
