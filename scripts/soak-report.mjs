// Writes the figures of scripts/soak.sh into docs/benchmarks.md, between the soak
// markers (scripts/bench-report.mjs keeps that section when it rewrites the file).
//   node scripts/soak-report.mjs target/soak SECONDS CONCURRENCY WARM_UP
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const [dir, secs, concurrency, warmUp] = process.argv.slice(2);
const doc = new URL("../docs/benchmarks.md", import.meta.url);
const out = ["<!-- soak -->", "## Soak", ""];
out.push(
  `Measured by \`scripts/soak.sh\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; release binary; \`portal-bench soak\` with ${concurrency} workers on the same machine, for ${secs} s per database. Each worker signs its own person in, then cycles through page views (profile, sessions, the MFA policy page of the account it administers), settings saves, further sign-ins of its person, sign-ins with password and TOTP code (a new MFA person each time), and "sign out other sessions". Memory growth is the highest resident memory after the ${warmUp} s warm-up against the resident memory at its end; the target is under 10 %, with no errors.`,
  "",
);
for (const backend of ["sqlite", "postgres"]) {
  const file = join(dir, `${backend}.jsonl`);
  if (!existsSync(file)) continue;
  const lines = readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const summary = lines.find((l) => l.summary) ?? {};
  const rows = lines.filter((l) => !l.summary);
  out.push(`### ${backend === "sqlite" ? "SQLite" : "PostgreSQL"}`, "");
  out.push(
    `${summary.requests ?? 0} requests, **${summary.errors ?? "?"} errors**; resident memory ${summary.rss_after_warm_up_mb} MB after the warm-up, at most ${summary.rss_peak_after_mb} MB afterwards: **${summary.growth_pct} % growth** (${summary.errors === 0 && summary.growth_pct < 10 ? "within the targets" : "MISSES the targets"}).`,
    "",
  );
  out.push("| time (s) | requests/s | p99 ms | errors | resident MB |", "| --- | --- | --- | --- | --- |");
  for (const r of rows) out.push(`| ${r.t} | ${r.rps} | ${r.p99_ms} | ${r.errors} | ${r.rss_mb} |`);
  out.push("");
}
out.push("<!-- /soak -->");
const section = out.join("\n");
let text = existsSync(doc) ? readFileSync(doc, "utf8") : "# Benchmarks\n";
const marked = /<!-- soak -->[\s\S]*<!-- \/soak -->/;
text = marked.test(text) ? text.replace(marked, section) : `${text.trimEnd()}\n\n${section}\n`;
writeFileSync(doc, text);
