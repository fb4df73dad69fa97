// Turns target/bench/*.json(l) into docs/benchmarks.md. Used by scripts/bench.sh.
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const [dir, secs] = process.argv.slice(2);
const lines = (f) => readFileSync(join(dir, f), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const results = lines("results.jsonl");
const procs = lines("process.jsonl");
// The argon2id bound, measured right before each backend's sign-in cells.
const bounds = Object.fromEntries(
  ["sqlite", "postgres"].map((b) => [b, JSON.parse(readFileSync(join(dir, `hash-rate-${b}.json`), "utf8")).rps]),
);
const payload = readFileSync(join(dir, "payload.md"), "utf8").trim();
const names = {
  profile: "Authenticated profile page (SSR, /profile/general)",
  save: "Server function that writes (save_general)",
  sessions: "Sessions page, person with 10,000 past sessions",
  policy: "MFA policy page, account with 1,000 members",
  signin: "Password sign-in (argon2id)",
  "signin-mfa": "Sign-in with password, then TOTP code (MFA people)",
};
const out = [];
out.push("# Benchmarks", "");
out.push(`Measured by \`scripts/bench.sh\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; release build; load generator \`portal-bench load\` on the same machine (it competes for the same 2 cores); a fixed seed population; per cell a 1 s warm-up, then 3 runs of ${secs} s, reporting the run with the median throughput (all three throughputs in the last column).`, "");
out.push(`argon2id bound (OWASP parameters, one hash per core, memory reused as the server does), measured right before each backend's sign-in cells: **${bounds.sqlite} hashes/s** (before SQLite's), **${bounds.postgres} hashes/s** (before PostgreSQL's).`, "");
for (const backend of ["sqlite", "postgres"]) {
  const p = procs.find((x) => x.backend === backend);
  out.push(`## ${backend === "sqlite" ? "SQLite" : "PostgreSQL"}`, "");
  if (p) out.push(`Cold start to first answered request: ${p.cold_ms} ms. Memory: idle ${(p.idle_kb / 1024).toFixed(1)} MB, peak under load ${(p.peak_kb / 1024).toFixed(1)} MB.`, "");
  out.push("| scenario | concurrency | requests/s | p50 ms | p99 ms | errors | vs bound | runs (req/s) |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of results.filter((x) => x.backend === backend)) {
    const ratio = r.scenario.startsWith("signin") ? `${((100 * r.rps) / bounds[backend]).toFixed(0)} %` : "";
    out.push(`| ${names[r.scenario]} | ${r.concurrency} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${ratio} | ${(r.runs ?? []).join(", ")} |`);
  }
  out.push("");
}
out.push("## Client payload", "", payload, "");
try {
  out.push(readFileSync(new URL("./bench-notes.md", import.meta.url), "utf8").trim(), "");
} catch {
  // no notes
}
// The soak figures (scripts/soak.sh) stay as they were measured.
try {
  const soak = readFileSync(new URL("../docs/benchmarks.md", import.meta.url), "utf8").match(/<!-- soak -->[\s\S]*<!-- \/soak -->/);
  if (soak) out.push(soak[0], "");
} catch {
  // no earlier report
}
console.log(out.join("\n"));
