import { chromium, expect, test, type BrowserContext, type Page } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import config, { baseURL } from "../playwright.config";
import { DEMO_PASSWORD, waitForHydration } from "./helpers";

const EMAIL = "katherine@example.com";

// Installability and service workers need a persistent (non-incognito) profile.
let context: BrowserContext;
let profile: string;
test.beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), "portal-pwa-"));
  context = await chromium.launchPersistentContext(profile, {
    ...config.use?.launchOptions,
    baseURL,
  });
});
test.afterAll(async () => {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
});

async function openHydrated(page: Page, path: string) {
  await page.goto(path);
  await waitForHydration(page);
}

async function controlled(page: Page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
}

test.describe.serial("installable PWA", () => {
  test("Chromium reports the portal installable, and the service worker takes control", async () => {
    const page = await context.newPage();
    await openHydrated(page, "/login");
    const manifest = await page.request.get("/manifest.webmanifest");
    expect(manifest.headers()["content-type"]).toContain("application/manifest+json");
    // The page names the bundle by the build's content hash; it goes out brotli-compressed
    // (written by scripts/payload.mjs) and may be cached for good.
    const wasmUrl = await page.locator('link[rel="preload"][as="fetch"]').getAttribute("href");
    expect(wasmUrl).toMatch(/^\/assets\/[0-9a-f]{16}\/portal\.wasm$/);
    const css = await page.locator('link[rel="stylesheet"]').getAttribute("href");
    expect(css).toBe(wasmUrl!.replace("portal.wasm", "portal.css"));
    const wasm = await page.request.get(wasmUrl!, { headers: { "accept-encoding": "br, gzip" } });
    expect(wasm.headers()["content-encoding"]).toBe("br");
    expect(wasm.headers()["content-type"]).toBe("application/wasm");
    expect(wasm.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
    // Another build's address is not served from this one.
    expect((await page.request.get("/assets/0000000000000000/portal.wasm")).status()).toBe(404);
    // The plain names stay available, revalidated each time.
    const plain = await page.request.get("/pkg/portal.css");
    expect(plain.headers()["cache-control"]).toBe("no-cache");
    await page.evaluate(() => navigator.serviceWorker.ready);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors).toEqual([]);
    await page.reload();
    await controlled(page);
    // Only the static shell is precached, under a versioned name.
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const urls: string[] = [];
      for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
      return { names, urls };
    });
    expect(cached.names).toHaveLength(1);
    expect(cached.names[0]).toMatch(/^portal-shell-[0-9a-f]{16}$/);
    expect(cached.urls).toContain("/offline.html");
    expect(cached.urls).toContain(wasmUrl);
    expect(cached.urls.every((u) => !u.startsWith("/api/") && u !== "/" && !u.startsWith("/profile"))).toBe(true);
    await page.close();
  });

  test("offline, a page shows the offline page", async () => {
    const page = await context.newPage();
    await openHydrated(page, "/login");
    await controlled(page);
    await context.setOffline(true);
    try {
      await page.goto("/profile");
      await expect(page.getByRole("heading", { name: "You are offline" })).toBeVisible();
    } finally {
      await context.setOffline(false);
    }
    await page.close();
  });

  test("after sign-out nothing private is left in the browser's caches or storage", async () => {
    const page = await context.newPage();
    await openHydrated(page, "/login");
    await page.getByLabel("Email", { exact: true }).fill(EMAIL);
    await page.getByLabel("Password").fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
    await openHydrated(page, "/profile/sessions");
    await openHydrated(page, "/profile/general");
    await page.getByRole("button", { name: "User menu" }).click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await waitForHydration(page);
    await expect(page.locator("html")).toHaveAttribute("data-cleared", "true");
    const leftovers = await page.evaluate(async (email) => {
      const found: string[] = [];
      for (const n of await caches.keys()) {
        const cache = await caches.open(n);
        for (const req of await cache.keys()) {
          const res = await cache.match(req);
          const type = res?.headers.get("content-type") ?? "";
          const path = new URL(req.url).pathname;
          if (type.includes("html") && path !== "/offline.html") found.push(`HTML ${path}`);
          if (type.includes("json") && path !== "/manifest.webmanifest") found.push(`JSON ${path}`);
          if (!type.includes("wasm") && !type.includes("image") && (await res!.clone().text()).includes(email)) {
            found.push(`email in ${path}`);
          }
        }
      }
      if (localStorage.length || sessionStorage.length) found.push("web storage");
      return found;
    }, EMAIL);
    expect(leftovers).toEqual([]);
    await page.close();
  });
});
