import { expect, test, type Page } from "@playwright/test";
import { DEMO_PASSWORD, gotoHydrated, signIn, waitForHydration } from "./helpers";
import { nextStepAfter, step, totp } from "./totp";

const EMAIL = "mfa@example.com";

async function signOut(page: Page) {
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

async function passwordStep(page: Page) {
  await gotoHydrated(page, "/login");
  await page.getByLabel("Email", { exact: true }).fill(EMAIL);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/code/);
  await expect(page.getByRole("heading", { name: "Verify it's you" })).toBeVisible();
  await waitForHydration(page);
}

test("MFA: enrol with the key, sign in with a code, recovery code once, turn off", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, EMAIL);
  await gotoHydrated(page, "/profile/security");
  const card = page.getByRole("region", { name: "Multi-factor authentication" });
  await card.getByRole("button", { name: "Set up multi-factor authentication" }).click();
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Confirm", exact: true }).click();

  await expect(card.getByRole("img", { name: "QR code" })).toBeVisible();
  await expect(card.getByText(`Connect Auth: ${EMAIL}`)).toBeVisible();
  await expect(card.getByText(/This code changes in \d+ s\./)).toBeVisible();
  const secret = (await card.getByTestId("mfa-secret").textContent())!.replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const enrolStep = step();
  await card.getByLabel("Authentication code").fill(totp(secret, enrolStep));
  await card.getByRole("button", { name: "Enable" }).click();
  const codes = card.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.first().textContent())!.trim();
  await expect(card.getByRole("link", { name: "Download" })).toHaveAttribute("download", /recovery-codes/);
  await card.getByRole("button", { name: "I have saved my codes" }).click();
  await expect(card.getByTestId("mfa-state")).toContainText("Multi-factor authentication is on");
  await expect(card.getByText("Recovery codes left: 10.")).toBeVisible();

  // Every sign-in now asks for a code.
  await signOut(page);
  await passwordStep(page);
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/); // the password alone opened nothing
  await passwordStep(page);
  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not valid");
  let used = await nextStepAfter(enrolStep);
  await page.getByLabel("Authentication code").fill(totp(secret, used));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();

  // A recovery code works once.
  await signOut(page);
  await passwordStep(page);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(recovery);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
  await signOut(page);
  await passwordStep(page);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(recovery);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid or was already used");
  await page.getByRole("button", { name: "Use your authenticator app" }).click();
  used = await nextStepAfter(used);
  await page.getByLabel("Authentication code").fill(totp(secret, used));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();

  // Turn it off: password and a fresh code.
  await gotoHydrated(page, "/profile/security");
  await expect(card.getByText("Recovery codes left: 9.")).toBeVisible();
  const off = card.getByRole("region", { name: "Turn off" });
  await off.getByLabel("Current password").fill(DEMO_PASSWORD);
  used = await nextStepAfter(used);
  await off.getByLabel("Authentication code").fill(totp(secret, used));
  await off.getByRole("button", { name: "Turn off multi-factor authentication" }).click();
  await expect(card.getByRole("button", { name: "Set up multi-factor authentication" })).toBeVisible();
  await signOut(page);
  await signIn(page, EMAIL);
  await expect(page).toHaveURL(/\/$/);
});
