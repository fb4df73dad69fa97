import { expect, test, type CDPSession, type Page } from "@playwright/test";
import { DEMO_PASSWORD, enrolMfa, gotoHydrated, signIn, signOut, waitForHydration } from "./helpers";
import { nextStepAfter, totp } from "./totp";

const EMAIL = "passkey@example.com";

/**
 * Chromium's virtual authenticator (CDP `WebAuthn`), as a platform authenticator with
 * resident keys and user verification: the browser's own WebAuthn code talks to it.
 */
async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

/**
 * "Remove" (a plain form): the session has not confirmed it's you lately, so the portal
 * asks first (password and passkey), then the button is pressed again.
 */
async function removeAfterStepUp(page: Page, name: string) {
  const passkeys = page.getByRole("region", { name: "Passkeys" });
  await passkeys.getByRole("button", { name: `Remove ${name}` }).click();
  await page.getByRole("button", { name: "Remove passkey" }).click();
  await expect(page.getByRole("heading", { name: "Confirm a change" })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Current password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Confirm with a passkey" }).click();
  await expect(page).toHaveURL(/\/profile\/security/);
  await waitForHydration(page);
  await page.getByRole("region", { name: "Passkeys" }).getByRole("button", { name: `Remove ${name}` }).click();
  await page.getByRole("button", { name: "Remove passkey" }).click();
  await waitForHydration(page);
}

async function passwordStep(page: Page, email: string) {
  await gotoHydrated(page, "/login");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/code/);
  await waitForHydration(page);
}

test("Passkeys: add one, sign in with password and passkey, with the passkey alone, remove it", async ({ page }) => {
  test.setTimeout(120_000);
  const { cdp, id } = await virtualAuthenticator(page);
  await signIn(page, EMAIL);

  // "Add a passkey": "Confirm it's you", then its name; MFA was off, so it is on now and
  // the recovery codes are shown once.
  await gotoHydrated(page, "/profile/security");
  const card = page.getByRole("region", { name: "Passkeys" });
  await expect(card.getByText("You have no passkeys yet.")).toBeVisible();
  await card.getByRole("button", { name: "Add a passkey" }).click();
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Confirm", exact: true }).click();
  await card.getByLabel("Passkey name").fill("Test laptop");
  await card.getByRole("button", { name: "Create passkey" }).click();
  await expect(card.getByRole("list", { name: "Recovery codes" }).getByRole("listitem")).toHaveCount(10);
  await card.getByRole("button", { name: "I have saved my codes" }).click();
  await expect(page.getByText("Your passkey was added.")).toBeVisible();
  await waitForHydration(page);
  const list = page.getByRole("region", { name: "Passkeys" }).getByRole("list", { name: "Your passkeys" });
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await expect(list).toContainText("Test laptop");
  await expect(list).toContainText("Not used yet.");
  await expect(page.getByTestId("mfa-state")).toContainText("Multi-factor authentication is on");
  // The browser's authenticator holds one discoverable credential for this portal.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId: id });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  expect(credentials[0].rpId).toBe("localhost");

  // The password, then "Use a passkey" (offered first) instead of a code.
  await signOut(page);
  await passwordStep(page, EMAIL);
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();

  // "Sign in with a passkey": no email, no password.
  await signOut(page);
  await gotoHydrated(page, "/login");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
  await gotoHydrated(page, "/profile/sessions");
  await expect(page.getByText("Passkey", { exact: true }).first()).toBeVisible();

  // Renamed, then removed after "Confirm it's you" with the password and the passkey:
  // it was the only factor, so MFA is off again.
  await gotoHydrated(page, "/profile/security");
  const passkeys = page.getByRole("region", { name: "Passkeys" });
  await expect(passkeys).toContainText("Last used");
  await passkeys.getByLabel("New name for Test laptop").fill("Old laptop");
  await passkeys.getByRole("button", { name: "Rename Test laptop" }).click();
  await expect(page.getByText("The passkey was renamed.")).toBeVisible();
  await waitForHydration(page);
  await removeAfterStepUp(page, "Old laptop");
  await expect(page.getByText("The passkey was removed.")).toBeVisible();
  await expect(page.getByText("You have no passkeys yet.")).toBeVisible();
  await expect(
    page.getByRole("region", { name: "Multi-factor authentication" }).getByRole("button", {
      name: "Set up multi-factor authentication",
    }),
  ).toBeVisible();
  await signOut(page);
  await signIn(page, EMAIL);
});

test("Passkeys: an account that requires them sends a person who passed only a code to add one", async ({ page }) => {
  test.setTimeout(180_000);
  const person = "passkey-policy@example.com";
  await virtualAuthenticator(page);
  // Passkey Policy Co requires passkeys of everyone, without a grace period. The
  // person sets up an authenticator app first (their Security section is always open).
  await signIn(page, person);
  await expect(page).toHaveURL(/\/profile\/security\?passkey_required=/);
  await expect(page.getByRole("alert").filter({ hasText: "Passkey Policy Co requires a passkey" })).toBeVisible();
  const { secret, used } = await enrolMfa(page);

  // Password and code: not enough for this account.
  await signOut(page);
  await passwordStep(page, person);
  const codeStep = await nextStepAfter(used);
  await page.getByLabel("Authentication code").fill(totp(secret, codeStep));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/profile\/security\?passkey_required=/);
  await waitForHydration(page);
  await expect(page.getByRole("alert").filter({ hasText: "Passkey Policy Co requires a passkey" })).toBeVisible();

  // Adding one (after "Confirm it's you" with the code); making a passkey is not signing
  // in with one, so the account then asks for it: password and passkey, no code path.
  const card = page.getByRole("region", { name: "Passkeys" });
  await card.getByRole("button", { name: "Add a passkey" }).click();
  const stepUp = await nextStepAfter(codeStep);
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByLabel("Authentication code").fill(totp(secret, stepUp));
  await card.getByRole("button", { name: "Confirm", exact: true }).click();
  await card.getByLabel("Passkey name").fill("Phone");
  await card.getByRole("button", { name: "Create passkey" }).click();
  await expect(page.getByRole("heading", { name: "Continue with a passkey" })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByLabel("Authentication code")).toHaveCount(0);
  await page.getByLabel("Current password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Confirm with a passkey" }).click();
  await expect(page).toHaveURL(/\/$/);
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();

  // Next time, the passkey is the way in; and the last one cannot be removed.
  await signOut(page);
  await gotoHydrated(page, "/login");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/$/);
  await gotoHydrated(page, "/profile/security");
  await removeAfterStepUp(page, "Phone");
  await expect(page.getByRole("alert").filter({ hasText: "Passkey Policy Co requires passkeys" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Passkeys" })).toContainText("Phone");
});
