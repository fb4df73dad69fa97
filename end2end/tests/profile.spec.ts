import { expect, test, type Browser, type Page } from "@playwright/test";
import { ADA, DEMO_PASSWORD, gotoHydrated, signIn, waitForHydration } from "./helpers";

async function newSignedInPage(browser: Browser, email: string, password = DEMO_PASSWORD): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, email, password);
  return page;
}

test("the profile overview links to the four sections", async ({ page }) => {
  await signIn(page, ADA.email);
  await gotoHydrated(page, "/profile");
  const nav = page.getByRole("navigation", { name: "Profile sections" });
  for (const name of ["General", "Accounts", "Security", "Sessions"]) {
    await expect(nav.getByRole("link", { name })).toBeVisible();
  }
  await nav.getByRole("link", { name: "Sessions" }).click();
  await expect(page).toHaveURL(/\/profile\/sessions$/);
  await expect(nav.getByRole("link", { name: "Sessions" })).toHaveAttribute("aria-current", "page");
});

test("General: preferences are validated, previewed, saved and applied", async ({ browser }) => {
  const context = await browser.newContext({ timezoneId: "Europe/Paris" });
  const page = await context.newPage();
  await signIn(page, "general@example.com");
  await gotoHydrated(page, "/profile/general");

  // First use: the browser's zone is suggested.
  await expect(page.getByText("Suggested: your browser's time zone")).toBeVisible();
  await page.getByRole("button", { name: "Use my browser's time zone" }).click();
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Paris");

  // An invalid zone gets an inline message and the server refuses it.
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await expect(page.getByText('"Mars/Olympus" is not a time zone').first()).toBeVisible();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("is not a time zone");

  await page.getByLabel("Name").fill("Grace Brewster");
  await page.getByLabel("Time zone").fill("Asia/Tokyo");
  await page.getByLabel("Date format").selectOption({ label: "24 Nov 2026" });
  await page.getByLabel("Time format").selectOption({ label: "12-hour (2:05 PM)" });
  await expect(page.getByTestId("time-preview")).toHaveText(/^\d{1,2} [A-Z][a-z]{2} \d{4} \d{1,2}:\d{2} (AM|PM)$/);
  await page.getByLabel("Receive news & announcements").check();
  await page.getByRole("button", { name: "Save" }).click();
  // The page loads again from the server (the header shows the new name too); the
  // confirmation takes focus, and leaves the address once shown.
  const saved = page.getByRole("status").filter({ hasText: "Your changes were saved." });
  await expect(saved).toBeVisible();
  await expect(saved).toBeFocused();
  await expect(page.getByRole("button", { name: "User menu" })).toContainText("Grace Brewster");
  await waitForHydration(page);
  await expect(page).toHaveURL(/\/profile\/general$/);

  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Name")).toHaveValue("Grace Brewster");
  await expect(page.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
  await expect(page.getByLabel("Date format")).toHaveValue("d_mon_y");
  await expect(page.getByLabel("Time format")).toHaveValue("12h");
  await expect(page.getByLabel("Receive news & announcements")).toBeChecked();

  // Times elsewhere use the new settings (rendered on the server).
  await gotoHydrated(page, "/profile/sessions");
  const row = page.getByRole("row").filter({ hasText: "This session" });
  await expect(row).toContainText(/\d{1,2} [A-Z][a-z]{2} \d{4} \d{1,2}:\d{2} (AM|PM)/);
  await context.close();
});

test("Accounts: memberships with type and group, and Switch to", async ({ page }) => {
  await signIn(page, ADA.email);
  await gotoHydrated(page, "/profile/accounts");
  const table = page.getByRole("table", { name: "Accounts you belong to" });
  await expect(table.getByRole("row")).toHaveCount(4);
  const acme = table.getByRole("row", { name: /Acme Networks/ });
  await expect(acme).toContainText("Vendor");
  await expect(acme).toContainText("Administrators");
  const target = table.getByRole("button", { name: /^Switch to / }).first();
  const label = (await target.getAttribute("aria-label"))!;
  const account = label.replace("Switch to ", "");
  await target.click();
  await expect(table.getByRole("row", { name: new RegExp(account) })).toContainText("Active");
  await expect(page.getByRole("button", { name: "Switch account" })).toContainText(account);
});

test("Accounts: a clear empty state for a person in no account", async ({ page }) => {
  await signIn(page, "sessions@example.com");
  await gotoHydrated(page, "/profile/accounts");
  await expect(page.getByText("You do not belong to any partner account yet.")).toBeVisible();
});

test("Security: a password change ends the other session and the old password", async ({ browser }) => {
  const email = "security@example.com";
  const other = await newSignedInPage(browser, email);
  const page = await newSignedInPage(browser, email);
  await gotoHydrated(page, "/profile/security");
  const form = page.getByRole("region", { name: "Change password" });
  await form.getByLabel("Current password").fill(DEMO_PASSWORD);
  await form.getByLabel("New password", { exact: true }).fill("a much longer passphrase 2026");
  await expect(form.getByText(/Strength: (Strong|Very strong)/)).toBeVisible();
  await form.getByLabel("Confirm new password").fill("a much longer passphrase 2026");
  await expect(form.getByLabel("Sign out of other sessions")).toBeChecked();
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("status")).toHaveText("Your password was changed.");

  await other.goto("/profile");
  await expect(other).toHaveURL(/\/login\?next=%2Fprofile$/);
  await waitForHydration(other);
  await other.getByLabel("Email", { exact: true }).fill(email);
  await other.getByLabel("Password").fill(DEMO_PASSWORD);
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(other.getByRole("alert")).toHaveText("Incorrect email or password");
  await signIn(other, email, "a much longer passphrase 2026");
});

test("Security: the last administrator of an account cannot delete themselves", async ({ page }) => {
  await signIn(page, "alan@example.com");
  await gotoHydrated(page, "/profile/security");
  const zone = page.getByRole("region", { name: "Delete account" });
  await zone.getByLabel("Current password").fill(DEMO_PASSWORD);
  await zone.getByLabel("Type your email to confirm").fill("alan@example.com");
  await zone.getByRole("button", { name: "Delete my account" }).click();
  await expect(zone.getByRole("alert")).toContainText("only administrator of Globex Resellers");
  await gotoHydrated(page, "/");
  await expect(page.getByRole("button", { name: "User menu" })).toContainText("Alan Turing");
});

test("Security: deleting one's account signs out and the person can no longer sign in", async ({ page }) => {
  await signIn(page, "delete@example.com");
  await gotoHydrated(page, "/profile/security");
  const zone = page.getByRole("region", { name: "Delete account" });
  await zone.getByLabel("Current password").fill(DEMO_PASSWORD);
  await zone.getByLabel("Type your email to confirm").fill("delete@example.com");
  await zone.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/login\?deleted=1$/);
  await expect(page.getByText("Your account was deleted.")).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill("delete@example.com");
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password");
});

test("Sessions: list, sign out another session, then all other sessions", async ({ browser }) => {
  const email = "sessions@example.com";
  const b = await newSignedInPage(browser, email);
  const a = await newSignedInPage(browser, email);
  await gotoHydrated(a, "/profile/sessions");
  const table = a.getByRole("table", { name: "Your sessions, newest first" });
  await expect(table.getByRole("row").filter({ hasText: "This session" })).toHaveCount(1);
  const activeOthers = table
    .getByRole("row")
    .filter({ has: a.getByRole("button", { name: /^Sign out the session/ }) });
  await expect(activeOthers.first()).toContainText("Chrome");
  const before = await activeOthers.count();
  expect(before).toBeGreaterThanOrEqual(1);

  await activeOthers.first().getByRole("button", { name: /^Sign out the session/ }).click();
  await expect(a.getByRole("status").filter({ hasText: "The session was signed out." })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: /Revoked/ }).first()).toBeVisible();

  // A second and third browser, then "Sign out of all other sessions".
  const c = await newSignedInPage(browser, email);
  const d = await newSignedInPage(browser, email);
  await a.reload();
  await waitForHydration(a);
  await a.getByRole("button", { name: "Sign out of all other sessions" }).click();
  await expect(a.getByRole("status").filter({ hasText: /Signed out of \d+ other sessions?\./ })).toBeVisible();
  for (const p of [b, c, d]) {
    await p.goto("/");
    await expect(p).toHaveURL(/\/login$/);
  }
  await a.goto("/");
  await expect(a.getByRole("button", { name: "User menu" })).toBeVisible();

  await gotoHydrated(a, "/profile/sessions");
  const activity = a.getByRole("table", { name: "Recent security activity, newest first" });
  await expect(activity.getByRole("row").filter({ hasText: "Signed in" }).first()).toBeVisible();
  await expect(activity.getByRole("row").filter({ hasText: "Signed out another session" }).first()).toBeVisible();
});
