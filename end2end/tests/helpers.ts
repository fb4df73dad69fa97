import { expect, type Page } from "@playwright/test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { step, totp } from "./totp";

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

/** Where the tests' SMTP server keeps the mails it accepted (one .eml file each). */
const MAIL_DIR = join(__dirname, "..", ".mail");

/** A mail's text with quoted-printable soft breaks and escapes undone. */
function decodeMail(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Waits for a mail to `to` whose subject is `subject` (the newest), decoded. */
export async function mailTo(to: string, subject: string, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const names = readdirSync(MAIL_DIR).filter((n) => n.endsWith(".eml")).sort().reverse();
    for (const name of names) {
      const mail = decodeMail(readFileSync(join(MAIL_DIR, name), "utf8"));
      if (mail.includes(`To: ${to}`) && mail.includes(`Subject: ${subject}`)) return mail;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no mail to ${to} about "${subject}" within ${timeoutMs} ms`);
}

/** The local address (path and query) of the first link to `path` in a mail. */
export function linkIn(mail: string, path: string): string {
  const found = mail.match(new RegExp(`https?://[^/\\s]+(${path}\\?token=[A-Za-z0-9_-]+)`));
  if (!found) throw new Error(`no ${path} link in:\n${mail}`);
  return found[1];
}

/** Turns MFA on in the Security section; the secret and the step whose code was used. */
export async function enrolMfa(page: Page): Promise<{ secret: string; used: number }> {
  await gotoHydrated(page, "/profile/security");
  const card = page.getByRole("region", { name: "Multi-factor authentication" });
  await card.getByRole("button", { name: "Set up multi-factor authentication" }).click();
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Confirm", exact: true }).click();
  const secret = (await card.getByTestId("mfa-secret").textContent())!.replace(/\s/g, "");
  const used = step();
  await card.getByLabel("Authentication code").fill(totp(secret, used));
  await card.getByRole("button", { name: "Enable" }).click();
  await card.getByRole("button", { name: "I have saved my codes" }).click();
  await expect(card.getByTestId("mfa-state")).toContainText("Multi-factor authentication is on");
  return { secret, used };
}

/** Signs out through the user menu. */
export async function signOut(page: Page) {
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}
