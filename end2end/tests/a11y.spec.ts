import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { ADA, DEMO_PASSWORD, gotoHydrated, signIn, waitForHydration } from "./helpers";
import { nextStepAfter, step, totp } from "./totp";

// Every page, in both colour schemes: axe-core must report no serious or critical
// violation. At 360 px wide, no page may scroll sideways; screenshots are kept as
// artifacts in test-results/.

const PORTAL_PAGES = [
  "/",
  "/profile",
  "/profile/general",
  "/profile/accounts",
  "/profile/security",
  "/profile/sessions",
];

async function axe(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${label}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  return bad;
}

async function adminPages(page: Page) {
  // Ada administers her active account: its settings pages.
  await gotoHydrated(page, "/");
  const mfa = await page.getByRole("link", { name: "Multi-Factor Authentication", exact: true }).getAttribute("href");
  const sso = await page.getByRole("link", { name: "Single sign-on", exact: true }).getAttribute("href");
  const people = [];
  for (const name of ["Members", "Groups", "Audit log"]) {
    people.push((await page.getByRole("link", { name, exact: true }).getAttribute("href"))!);
  }
  return [mfa!, sso!, ...people];
}

for (const scheme of ["light", "dark"] as const) {
  test(`axe finds no serious or critical violations (${scheme})`, async ({ page }) => {
    test.setTimeout(90_000);
    await page.emulateMedia({ colorScheme: scheme });
    const problems: string[] = [];
    await gotoHydrated(page, "/login");
    problems.push(...(await axe(page, "/login")));
    await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
    problems.push(...(await axe(page, "/login (single sign-on open)")));
    await page.goto("/offline.html");
    problems.push(...(await axe(page, "/offline.html")));
    // The pages of mailed links (an invalid link shows its message).
    for (const path of ["/forgot-password", "/reset-password?token=x", "/email/confirm?token=x", "/email/cancel?token=x", "/invitation?token=x"]) {
      await gotoHydrated(page, path);
      problems.push(...(await axe(page, path)));
    }

    await signIn(page, ADA.email);
    for (const path of [...PORTAL_PAGES, ...(await adminPages(page))]) {
      await gotoHydrated(page, path);
      problems.push(...(await axe(page, path)));
    }
    // The policy dialog, open.
    const [mfa] = await adminPages(page);
    await gotoHydrated(page, mfa);
    await page.getByRole("button", { name: "Manage" }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
    problems.push(...(await axe(page, `${mfa} (dialog)`)));
    expect(problems).toEqual([]);
  });
}

test("every page works at 360 px wide without sideways scrolling", async ({ page }, info) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow: string[] = [];
  const check = async (name: string) => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 360) overflow.push(`${name}: ${width}px`);
    await page.screenshot({ path: info.outputPath(`mobile-${name.replace(/\W+/g, "_")}.png`), fullPage: true });
  };
  await gotoHydrated(page, "/login");
  await check("login");
  await signIn(page, ADA.email);
  for (const path of [...PORTAL_PAGES, ...(await adminPages(page))]) {
    await gotoHydrated(page, path);
    await check(path);
  }
  // The menus still open and work at this width.
  await page.getByRole("button", { name: "User menu" }).click();
  await expect(page.getByRole("menuitem", { name: "Manage Your Profile" })).toBeVisible();
  expect(overflow).toEqual([]);
});

test("sign-in works from the keyboard alone", async ({ page }) => {
  await gotoHydrated(page, "/login");
  await expect(page.getByLabel("Email", { exact: true })).toBeFocused(); // autofocus
  await page.keyboard.type(ADA.email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type("connect-demo-2026");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
  await gotoHydrated(page, "/");
  // The skip link is the first stop and moves focus to the content.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
});

test("the policy dialog works from the keyboard alone", async ({ page }) => {
  await signIn(page, ADA.email);
  const [mfa] = await adminPages(page);
  await gotoHydrated(page, mfa);
  const manage = page.getByRole("button", { name: "Manage" });
  await manage.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Manage multi-factor authentication" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("radio", { name: "Optional" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(dialog.getByRole("radio", { name: "Required for administrators" })).toBeChecked();
  // Ada has no MFA: the lockout guard speaks up and Save stays disabled.
  await expect(dialog.getByRole("alert")).toContainText("Set up your own first");
  await expect(dialog.getByRole("button", { name: "Save" })).toBeDisabled();
  // Tab never reaches the page behind the modal dialog (past its last control, focus may
  // leave for the browser's own UI, as native modal dialogs allow, then comes back).
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    const where = await dialog.evaluate((d) => {
      const a = document.activeElement;
      if (!a || a === document.body) return "browser";
      return d.contains(a) ? `dialog:${a.tagName}:${a.textContent?.trim() || (a as HTMLInputElement).name}` : `page:${a.tagName}`;
    });
    expect(where.startsWith("page:"), where).toBe(false);
    seen.add(where);
  }
  expect([...seen].some((w) => w.startsWith("dialog:A"))).toBe(true); // the set-up link is reachable
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(manage).toBeFocused();
  await expect(page.getByTestId("current-policy")).toHaveText("Optional");
});

/** Presses Tab until `target` has focus: it must be reachable in the tab order. */
async function tabTo(page: Page, target: Locator, limit = 40) {
  await expect(target).toBeVisible();
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

/** The sign-in form by keyboard: email, Tab, password, Enter. */
async function typeCredentials(page: Page, email: string) {
  await gotoHydrated(page, "/login");
  await expect(page.getByLabel("Email", { exact: true })).toBeFocused();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press("Enter");
}

test("MFA set-up, sign-out and the sign-in code step work from the keyboard alone", async ({ page }) => {
  test.setTimeout(120_000);
  const email = "keyboard@example.com";
  await typeCredentials(page, email);
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
  await gotoHydrated(page, "/profile/security");

  // Set-up: each step takes focus where the previous step's button was.
  const card = page.getByRole("region", { name: "Multi-factor authentication" });
  await tabTo(page, card.getByRole("button", { name: "Set up multi-factor authentication" }));
  await page.keyboard.press("Enter");
  await expect(card.getByLabel("Current password")).toBeFocused();
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press("Enter");
  await expect(card.getByRole("heading", { name: "Set up your authenticator app" })).toBeFocused();
  const secret = (await card.getByTestId("mfa-secret").textContent())!.replace(/\s/g, "");
  await page.keyboard.press("Tab");
  await expect(card.getByRole("button", { name: "Copy" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(card.getByLabel("Authentication code")).toBeFocused();
  const enrolStep = step();
  await page.keyboard.type(totp(secret, enrolStep));
  await page.keyboard.press("Enter");
  await expect(card.getByRole("status").filter({ hasText: "Save your recovery codes now." })).toBeFocused();
  await tabTo(page, card.getByRole("button", { name: "I have saved my codes" }));
  await page.keyboard.press("Enter");
  await expect(card.getByTestId("mfa-state")).toBeFocused();
  await expect(card.getByTestId("mfa-state")).toContainText("Multi-factor authentication is on");

  // The user menu by keyboard: Enter opens it on its first item, arrows move, Escape
  // returns to the button; then sign out.
  const menuButton = page.getByRole("button", { name: "User menu" });
  await tabTo(page, menuButton);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("menuitem", { name: "Manage Your Profile" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByRole("menuitem", { name: "Sign out" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByRole("menuitem", { name: "Manage Your Profile" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menuButton).toBeFocused();
  await expect(page.getByRole("menu", { name: "User" })).toBeHidden();
  await page.keyboard.press("ArrowUp");
  await expect(page.getByRole("menuitem", { name: "Sign out" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/login$/);

  // Every sign-in now asks for a code: the code field has focus, Enter verifies.
  await typeCredentials(page, email);
  await expect(page).toHaveURL(/\/login\/code/);
  await waitForHydration(page);
  const code = page.getByLabel("Authentication code");
  await expect(code).toBeFocused();
  await page.keyboard.type(totp(secret, await nextStepAfter(enrolStep)));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
});
