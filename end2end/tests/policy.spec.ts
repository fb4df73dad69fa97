import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_PASSWORD, gotoHydrated, signIn, waitForHydration } from "./helpers";
import { totp } from "./totp";

// Written by scripts/e2e-server.sh when it creates the accounts of these tests.
const ids: { policy: number; open: number; grace: number } = JSON.parse(
  readFileSync(join(__dirname, "..", ".data", "accounts.json"), "utf8"),
);
const ADMIN = "policy-admin@example.com";
const MEMBER = "policy-member@example.com";
const GRACE_USER = "policy-grace@example.com";

/** Sets up MFA in the Security section's card; returns after the codes are saved. */
async function enableMfa(page: Page, email: string) {
  const card = page.getByRole("region", { name: "Multi-factor authentication" });
  await card.getByRole("button", { name: "Set up multi-factor authentication" }).click();
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Confirm", exact: true }).click();
  await expect(card.getByText(`Connect Auth: ${email}`)).toBeVisible();
  const secret = (await card.getByTestId("mfa-secret").textContent())!.replace(/\s/g, "");
  await card.getByLabel("Authentication code").fill(totp(secret));
  await card.getByRole("button", { name: "Enable" }).click();
  await card.getByRole("button", { name: "I have saved my codes" }).click();
}

async function switchTo(page: Page, account: string) {
  await page.getByRole("button", { name: "Switch account" }).click();
  await page.getByRole("menuitemradio", { name: new RegExp(account) }).click();
  // The switch loads a page for the new account (or its MFA set-up): wait for it, so the
  // next navigation does not race that load.
  await expect(page.getByRole("button", { name: "Switch account" })).toContainText(account);
  await waitForHydration(page);
}

test.describe.serial("account MFA policy", () => {
  test("an administrator changes the policy, guarded against locking themselves out", async ({ page }) => {
    test.setTimeout(90_000);
    await signIn(page, ADMIN);
    // The link appears for administrators, on the account's home page.
    await page.getByRole("link", { name: "Multi-Factor Authentication", exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/accounts/${ids.policy}/settings/mfa$`));
    await expect(page.getByRole("heading", { level: 1, name: "Multi-Factor Authentication" })).toBeVisible();
    await waitForHydration(page);
    await expect(page.getByTestId("current-policy")).toHaveText("Optional");
    await expect(page.getByTestId("compliance-summary")).toHaveText("0 of 2 members use MFA.");

    // The dialog: focus moves in, Escape cancels and focus returns to "Manage".
    const manage = page.getByRole("button", { name: "Manage" });
    await manage.click();
    const dialog = page.getByRole("dialog", { name: "Manage multi-factor authentication" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("radio")).toHaveCount(3);
    await expect(dialog.getByRole("radio", { name: "Optional" })).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(manage).toBeFocused();

    // Without MFA of their own, the administrator cannot require it of themselves.
    await manage.click();
    await dialog.getByRole("radio", { name: "Required for all users" }).check();
    await expect(dialog.getByRole("alert")).toContainText("Set up your own first");
    await expect(dialog.getByRole("button", { name: "Save" })).toBeDisabled();
    await dialog.getByRole("link", { name: "Set up your multi-factor authentication" }).click();
    await expect(page).toHaveURL(/\/profile\/security\?/);
    await waitForHydration(page);
    await enableMfa(page, ADMIN);
    // …and continues back to the policy page.
    await expect(page).toHaveURL(new RegExp(`/accounts/${ids.policy}/settings/mfa$`));
    await waitForHydration(page);

    // Now by keyboard: from "Optional", two steps down is "Required for all users".
    await manage.click();
    await expect(dialog.getByRole("radio", { name: "Optional" })).toBeFocused();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await expect(dialog.getByRole("radio", { name: "Required for all users" })).toBeChecked();
    await dialog.getByLabel("Grace period in days").fill("31");
    await expect(dialog.getByText("whole number of days from 0 to 30")).toBeVisible();
    await dialog.getByLabel("Grace period in days").fill("0");
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId("current-policy")).toHaveText("Required for all users");
    const saved = page.getByRole("status").filter({ hasText: "The policy was saved." });
    await expect(saved).toBeVisible();
    await expect(saved).toBeFocused(); // where "Manage" was, for keyboard and screen-reader users
    await expect(page.getByText(`Changed by Policy-admin Tester (${ADMIN})`)).toBeVisible();
    const history = page.getByRole("region", { name: "Policy changes" });
    await expect(history).toContainText("Optional → Required for all users, grace period 0 days");

    // Compliance: who uses MFA, and a filter for those who do not.
    await expect(page.getByTestId("compliance-summary")).toHaveText("1 of 2 members use MFA.");
    const members = page.getByRole("table", { name: "Members and their multi-factor authentication" });
    await expect(members.getByRole("row")).toHaveCount(3);
    await page.getByRole("link", { name: "Without MFA (1)" }).click();
    await expect(page).toHaveURL(/\?without_mfa=1$/);
    await expect(page.getByRole("link", { name: "Without MFA (1)" })).toHaveAttribute("aria-current", "page");
    await expect(members.getByRole("row")).toHaveCount(2);
    await expect(members.getByRole("row", { name: /Policy-member Tester/ })).toContainText("Blocked since");
  });

  test("a member without MFA is sent to set-up on entering the account, keeps other accounts, and gets in after enabling it", async ({ page }) => {
    test.setTimeout(90_000);
    await signIn(page, MEMBER);
    // Their first account by name is Open Test Co, which requires nothing.
    await expect(page.getByTestId("active-account")).toHaveText("Open Test Co");

    await switchTo(page, "Policy Test Co");
    await expect(page).toHaveURL(new RegExp(`/profile/security\\?mfa_required=${ids.policy}`));
    await expect(page.getByRole("alert").filter({ hasText: "Policy Test Co requires multi-factor authentication" })).toBeVisible();
    // Opening the account's pages directly sends them to set-up too.
    await gotoHydrated(page, "/");
    await expect(page).toHaveURL(new RegExp(`/profile/security\\?mfa_required=${ids.policy}&next=%2F$`));

    // Another account is still usable.
    await switchTo(page, "Open Test Co");
    await gotoHydrated(page, "/");
    await expect(page.getByTestId("active-account")).toHaveText("Open Test Co");

    // The Accounts section says what each account requires.
    await gotoHydrated(page, "/profile/accounts");
    const policyRow = page.getByRole("row", { name: /Policy Test Co/ });
    await expect(policyRow).toContainText("Required · not set up");
    await expect(page.getByRole("row", { name: /Open Test Co/ })).toContainText("Not required");

    // Enter the account again, set up MFA, and continue into it.
    await switchTo(page, "Policy Test Co");
    await expect(page).toHaveURL(/mfa_required=/);
    await waitForHydration(page);
    await enableMfa(page, MEMBER);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId("active-account")).toHaveText("Policy Test Co");
    await gotoHydrated(page, "/profile/accounts");
    await expect(page.getByRole("row", { name: /Policy Test Co/ })).toContainText("Required · you use it");
  });

  test("during the grace period a banner names the deadline", async ({ page }) => {
    await signIn(page, GRACE_USER);
    const banner = page.getByTestId("mfa-grace-banner");
    await expect(banner).toContainText(/Grace Test Co requires multi-factor authentication from \d{4}-\d{2}-\d{2}/);
    await expect(banner.getByRole("link", { name: "Set up multi-factor authentication" })).toHaveAttribute(
      "href",
      `/profile/security?mfa_required=${ids.grace}&next=%2F`,
    );
    await gotoHydrated(page, "/profile/accounts");
    await expect(page.getByRole("row", { name: /Grace Test Co/ })).toContainText(/Required from .* · not set up/);
  });

  test("a person who is not an administrator cannot reach the page", async ({ page }) => {
    await signIn(page, GRACE_USER);
    await expect(page.getByRole("link", { name: "Multi-Factor Authentication", exact: true })).toHaveCount(0);
    for (const id of [ids.grace, ids.policy]) {
      const response = await page.goto(`/accounts/${id}/settings/mfa`);
      expect(response?.status()).toBe(403);
      await waitForHydration(page);
      await expect(page.getByRole("alert")).toContainText("Only administrators of this account");
      await expect(page.getByRole("button", { name: "Manage" })).toHaveCount(0);
    }
  });
});
