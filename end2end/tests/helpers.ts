import { expect, type Page } from "@playwright/test";

export const DEMO_PASSWORD = "connect-demo-2026";
export const ADA = { email: "ada@example.com", name: "Ada Lovelace" };
export const GRACE = { email: "grace@example.com", name: "Grace Hopper" };
export const KATHERINE = { email: "katherine@example.com", name: "Katherine Johnson" };

/** Navigates and waits until the wasm app has hydrated the page. */
export async function gotoHydrated(page: Page, url: string) {
  await page.goto(url);
  await waitForHydration(page);
}

export async function waitForHydration(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the real form and waits for the portal to hydrate. */
export async function signIn(page: Page, email: string, password = DEMO_PASSWORD, from = "/login") {
  await gotoHydrated(page, from);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
  await waitForHydration(page);
}

export async function sessionCookie(page: Page) {
  const cookies = await page.context().cookies();
  return cookies.find((c) => c.name.endsWith("portal_session"));
}
