import { expect, test } from "@playwright/test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ADA, signIn } from "./helpers";

// scripts/e2e-server.sh copies the release binary alone into an empty folder outside the
// repository and starts it from there, without LEPTOS_SITE_ROOT: every browser test runs
// against the one file an operator deploys. This test checks that setting.
const { folder } = JSON.parse(readFileSync(join(__dirname, "..", ".data", "binary.json"), "utf8"));

test("the release binary alone serves the whole site, and the page hydrates", async ({ page }) => {
  expect(readdirSync(folder)).toEqual(["portal"]);
  expect(resolve(folder).startsWith(resolve(__dirname, "..", ".."))).toBe(false);

  // Sign in through the form: the page hydrates (the wasm and JS came from the binary).
  await signIn(page, ADA.email);

  // The site's other files come from it too, with their types and an ETag that lets the
  // browser keep its copy.
  for (const [path, type] of [
    ["/manifest.webmanifest", "application/manifest+json"],
    ["/favicon.svg", "image/svg+xml"],
    ["/offline.html", "text/html"],
    ["/pwa.js", "javascript"],
  ]) {
    const r = await page.request.get(path);
    expect(r.status(), path).toBe(200);
    expect(r.headers()["content-type"], path).toContain(type);
    const etag = r.headers()["etag"];
    expect(etag, path).toBeTruthy();
    const again = await page.request.get(path, { headers: { "if-none-match": etag } });
    expect(again.status(), path).toBe(304);
  }
  // A browser that takes gzip only gets gzip; an unknown address is the app's own page.
  const css = await page.locator('link[rel="stylesheet"]').getAttribute("href");
  const gz = await page.request.get(css!, { headers: { "accept-encoding": "gzip" } });
  expect(gz.headers()["content-encoding"]).toBe("gzip");
  const missing = await page.request.get("/no-such-page");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["content-type"]).toContain("text/html");
});
