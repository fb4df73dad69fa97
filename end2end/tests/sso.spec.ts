import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gotoHydrated, waitForHydration } from "./helpers";

// Written by scripts/e2e-server.sh, which also connects "SSO Partner Co" to the test
// OpenID Provider (end2end/oidc/provider.mjs) that Playwright starts.
// The control endpoint of the tests' DNS server is the port after its DNS port (see
// playwright.config.ts).
const dnsPort = Number(process.env.PORTAL_E2E_DNS_PORT ?? 3353);
const ids: { partner: number; strict: number } = JSON.parse(
  readFileSync(join(__dirname, "..", ".data", "accounts.json"), "utf8"),
);

/** From the sign-in page, through the provider's login form, and back. */
async function singleSignOn(page: Page, email: string) {
  await gotoHydrated(page, "/login");
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Continue to your organisation" }).click();
  // The provider's own (development) login form, prefilled with the email.
  await expect(page).toHaveURL(/127\.0\.0\.1:3310\/interaction\//);
  await expect(page.locator('input[name="login"]')).toHaveValue(email);
  await page.locator('input[name="password"]').fill("directory-password");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

test.describe.serial("single sign-on", () => {
  test("a member signs in through their directory, whose MFA takes precedence for that account only", async ({ page }) => {
    await singleSignOn(page, "sso-member@partner.test");
    await expect(page).toHaveURL(/localhost:3300\/$/);
    await waitForHydration(page);
    // SSO Partner Co requires MFA of everyone, but this session came through its directory.
    await expect(page.getByTestId("active-account")).toHaveText("SSO Partner Co");

    await gotoHydrated(page, "/profile/accounts");
    await expect(page.getByRole("row", { name: /SSO Partner Co/ })).toContainText("Handled by your organisation's single sign-on");
    await expect(page.getByRole("row", { name: /Strict Co/ })).toContainText("Required · not set up");
    await gotoHydrated(page, "/profile/sessions");
    await expect(page.getByText("Single sign-on through SSO Partner Co")).toBeVisible();

    // The directory speaks only for its own account: Strict Co first asks for the
    // person's own portal sign-in, inside the same session…
    await page.getByRole("button", { name: "Switch account" }).click();
    await page.getByRole("menuitemradio", { name: /Strict Co/ }).click();
    await expect(page).toHaveURL(/\/step-up\?next=/);
    await waitForHydration(page);
    const confirm = page.getByRole("region", { name: "Confirm it's you" });
    await confirm.getByLabel("Current password").fill("wrong password");
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(confirm.getByRole("alert")).toContainText("The current password is incorrect.");
    await confirm.getByLabel("Current password").fill("connect-demo-2026");
    await confirm.getByRole("button", { name: "Confirm" }).click();
    // …then still enforces its own policy.
    await expect(page).toHaveURL(new RegExp(`/profile/security\\?mfa_required=${ids.strict}`));
    await expect(page.getByRole("alert").filter({ hasText: "Strict Co requires multi-factor authentication" })).toBeVisible();
  });

  test("an unknown domain and a person who is not a member get clear messages", async ({ page }) => {
    await gotoHydrated(page, "/login");
    await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
    await page.getByLabel("Work email").fill("someone@nowhere.test");
    await page.getByRole("button", { name: "Continue to your organisation" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "No account signs in with single sign-on for nowhere.test" })).toBeVisible();

    await singleSignOn(page, "sso-stranger@partner.test");
    await expect(page).toHaveURL(/\/login\?sso_error=not_member$/);
    await expect(page.getByRole("alert").filter({ hasText: "not a member of its account" })).toBeVisible();
  });

  test("an administrator tests the connection, sees what fails, and the MFA page cautions", async ({ page }) => {
    // The administrator too signs in through the directory (the account requires MFA,
    // which the directory handles).
    await singleSignOn(page, "sso-admin@partner.test");
    await waitForHydration(page);
    await page.getByRole("link", { name: "Single sign-on", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Single sign-on" })).toBeVisible();
    await waitForHydration(page);
    await expect(page.getByTestId("sso-status")).toHaveText("On");
    await expect(page.getByLabel("Client secret")).toHaveValue("");
    await page.getByRole("button", { name: "Test connection" }).click();
    const report = page.getByTestId("sso-test-report");
    await expect(report).toContainText("Connection works.");
    await expect(report).toContainText("1 RS256 key");

    // A wrong issuer: saving first asks "Confirm it's you" right there (this session came
    // through the directory); once confirmed, the form is sent again as it was typed, and
    // a new issuer needs the secret again.
    const issuer = page.getByLabel("Issuer URL");
    const good = await issuer.inputValue();
    await issuer.fill(`${good}/wrong`);
    await page.getByRole("button", { name: "Save" }).click();
    const confirm = page.getByRole("region", { name: "Confirm it's you" });
    await expect(confirm.getByLabel("Current password")).toBeFocused();
    await expect(page).toHaveURL(new RegExp(`/accounts/${ids.partner}/settings/sso$`));
    await confirm.getByLabel("Current password").fill("connect-demo-2026");
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "enter the client secret for it again" })).toBeVisible();
    await expect(confirm).toBeHidden();
    await expect(page.getByLabel("Issuer URL")).toHaveValue(`${good}/wrong`);
    await page.getByLabel("Client secret").fill("e2e-client-secret");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Single sign-on settings saved." })).toBeVisible();
    await waitForHydration(page);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(report).toContainText("Connection failed.");
    await expect(report).toContainText("HTTP 404");
    await page.getByLabel("Issuer URL").fill(good);
    await page.getByLabel("Client secret").fill("e2e-client-secret");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Single sign-on settings saved." })).toBeVisible();
    await waitForHydration(page);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(report).toContainText("Connection works.");
    await expect(page.getByRole("region", { name: "Changes" })).toContainText("Sso-admin Tester (sso-admin@partner.test)");

    await gotoHydrated(page, `/accounts/${ids.partner}/settings/mfa`);
    await expect(page.getByTestId("sso-caution")).toContainText(
      "take precedence and override the portal's multi-factor authentication settings",
    );
  });

  test("an administrator proves a new email domain with its DNS record", async ({ page }) => {
    await singleSignOn(page, "sso-admin@partner.test");
    await waitForHydration(page);
    await gotoHydrated(page, `/accounts/${ids.partner}/settings/sso`);
    await page.getByRole("textbox", { name: "Email domains" }).fill("partner.test, proof.partner.test");
    await page.getByRole("button", { name: "Save" }).click();
    const confirm = page.getByRole("region", { name: "Confirm it's you" });
    await confirm.getByLabel("Current password").fill("connect-demo-2026");
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Single sign-on settings saved." })).toBeVisible();
    await waitForHydration(page);

    // Listed, but routing nobody until proven: the page says which record to publish.
    const row = () => page.getByRole("row", { name: /proof\.partner\.test/ });
    await expect(row().getByTestId("domain-status")).toHaveText("Pending verification");
    await expect(row()).toContainText("_connect-portal.proof.partner.test");
    const token = (await row().getByTestId("domain-token").textContent())!.trim();
    expect(token.length).toBeGreaterThanOrEqual(20);
    await row().getByRole("button", { name: "Verify proof.partner.test" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "proof.partner.test could not be verified" })).toBeFocused();
    await expect(row().getByTestId("domain-status")).toHaveText("Pending verification");

    // Published at the (real, local) DNS server: "Verify" finds it.
    const published = await fetch(`http://127.0.0.1:${dnsPort + 1}/txt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "_connect-portal.proof.partner.test", values: [token] }),
    });
    expect(published.status).toBe(204);
    await row().getByRole("button", { name: "Verify proof.partner.test" }).click();
    await expect(page.getByRole("status").filter({ hasText: "proof.partner.test is verified." })).toBeFocused();
    await expect(row().getByTestId("domain-status")).toHaveText("Verified");
    await expect(row().getByRole("button", { name: /Verify/ })).toHaveCount(0);
  });

  test("the MFA policy dialog asks to confirm it's you, then saves the choice as it was", async ({ page }) => {
    await singleSignOn(page, "sso-admin@partner.test");
    await waitForHydration(page);
    await gotoHydrated(page, `/accounts/${ids.partner}/settings/mfa`);
    await expect(page.getByTestId("current-policy")).toHaveText("Required for all users");
    await page.getByRole("button", { name: "Manage" }).click();
    const dialog = page.getByRole("dialog", { name: "Manage multi-factor authentication" });
    await dialog.getByRole("radio", { name: "Optional" }).check();
    await dialog.getByRole("button", { name: "Save" }).click();
    const confirm = dialog.getByRole("region", { name: "Confirm it's you" });
    await expect(confirm.getByLabel("Current password")).toBeFocused();
    await expect(dialog.getByRole("radio", { name: "Optional" })).toBeChecked();
    await page.keyboard.type("connect-demo-2026");
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("current-policy")).toHaveText("Optional");
    await expect(page.getByRole("status").filter({ hasText: "The policy was saved." })).toBeFocused();
  });
});
