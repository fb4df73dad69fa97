import { defineConfig } from "@playwright/test";
import { join } from "node:path";

// Browser tests run Debian's Chromium (never a downloaded browser) against the release
// server, which `scripts/e2e-server.sh` starts on a fresh SQLite database with the demo.
const port = Number(process.env.PORTAL_E2E_PORT ?? 3300);
// At `localhost`, not 127.0.0.1: WebAuthn (passkeys) refuses IP addresses as relying
// party ids, and browsers treat http://localhost as a secure context. The server's public
// URL is the same (scripts/e2e-server.sh).
export const baseURL = `http://localhost:${port}`;
// The OpenID Provider of the single sign-on tests (the certified oidc-provider package).
const oidcPort = Number(process.env.PORTAL_E2E_OIDC_PORT ?? 3310);
// The DNS server that proves single sign-on domains (dns/server.py, dnslib): DNS on
// dnsPort, its control endpoint (tests publish TXT records there) on dnsPort + 1.
const dnsPort = Number(process.env.PORTAL_E2E_DNS_PORT ?? 3353);
// The SMTP server the portal delivers to (smtp/server.py, aiosmtpd): every mail it
// accepts is a file in end2end/.mail, where the tests read their links.
const smtpPort = Number(process.env.PORTAL_E2E_SMTP_PORT ?? 3325);

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: `node oidc/provider.mjs ${oidcPort} ${baseURL}/sso/callback`,
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      env: { OIDC_CLIENT_SECRET: "e2e-client-secret" },
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `python3 dns/server.py ${dnsPort} ${dnsPort + 1} --forever`,
      url: `http://127.0.0.1:${dnsPort + 1}/`,
      env: { PYTHONPATH: join(__dirname, "..", ".tools", "python") },
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `rm -rf .mail && exec python3 smtp/server.py --port ${smtpPort} --dir .mail`,
      port: smtpPort,
      env: { PYTHONPATH: join(__dirname, "..", ".tools", "python") },
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `bash ../scripts/e2e-server.sh ${port} ${oidcPort} ${dnsPort} ${smtpPort}`,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
