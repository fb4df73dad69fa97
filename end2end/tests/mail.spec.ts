import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, enrolMfa, gotoHydrated, linkIn, mailTo, signIn, signOut, waitForHydration } from "./helpers";
import { nextStepAfter, totp } from "./totp";

test("Forgot password: the mailed link and a current code set a new password", async ({ page }) => {
  test.setTimeout(120_000);
  const email = "reset-mfa@example.com";
  const newPassword = "a fresh start in december";
  await signIn(page, email);
  const { secret, used } = await enrolMfa(page);
  await signOut(page);

  await waitForHydration(page);
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page.getByRole("heading", { name: "Reset your password" })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("main").getByRole("status")).toContainText("If an account uses that address");

  const link = linkIn(await mailTo(email, "Reset your password"), "/reset-password");
  await gotoHydrated(page, link);
  await expect(page.getByText(`For ${email}.`)).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByLabel("Confirm new password").fill(newPassword);
  // MFA is on: the reset needs a current code too.
  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not valid");
  let next = await nextStepAfter(used);
  await page.getByLabel("Authentication code").fill(totp(secret, next));
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=1$/);
  await expect(page.getByRole("main").getByRole("status")).toContainText("Your new password is set");
  await mailTo(email, "Your password was reset");

  // The new password, then the code: MFA still stands.
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill(newPassword);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/code/);
  await waitForHydration(page);
  next = await nextStepAfter(next);
  await page.getByLabel("Authentication code").fill(totp(secret, next));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();
});

test("Email change: the link opened in another browser proves the new address", async ({ page, browser }) => {
  const email = "email-change@example.com";
  const newEmail = "email-changed@example.com";
  await signIn(page, email);
  await gotoHydrated(page, "/profile/general");
  const card = page.getByRole("region", { name: "Email" });
  await card.getByLabel("New email").fill(newEmail);
  await card.getByLabel("Current password").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Change email" }).click();
  await expect(card.getByRole("status")).toContainText("We sent a confirmation link to the new address");
  // Not changed yet: the page shows the address waiting for its link.
  await expect(card.getByTestId("current-email")).toHaveText(email);
  await expect(card.getByTestId("pending-email")).toContainText(newEmail);
  await expect(card.getByRole("button", { name: "Resend" })).toBeVisible();
  await expect(card.getByRole("button", { name: "Cancel" })).toBeVisible();
  await mailTo(email, "A change of your email address was requested");

  const link = linkIn(await mailTo(newEmail, "Confirm your new email address"), "/email/confirm");
  const other = await browser.newContext();
  const phone = await other.newPage();
  await gotoHydrated(phone, link);
  await expect(phone.getByText(newEmail)).toBeVisible();
  await phone.getByRole("button", { name: "Confirm email address" }).click();
  await expect(phone.getByRole("heading", { name: "Email address confirmed" })).toBeVisible();
  await other.close();

  // The first browser's session ended with the change; the new address signs in.
  await page.reload();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, newEmail);
  await gotoHydrated(page, "/profile/general");
  await expect(page.getByTestId("current-email")).toHaveText(newEmail);
  await mailTo(email, "Your email address was changed");
});
