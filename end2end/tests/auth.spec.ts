import { expect, test } from "@playwright/test";
import { ADA, DEMO_PASSWORD, GRACE, KATHERINE, gotoHydrated, sessionCookie, signIn, waitForHydration } from "./helpers";

test("a wrong password shows the error and creates no session", async ({ page }) => {
  await gotoHydrated(page, "/login");
  await page.getByLabel("Email", { exact: true }).fill(ADA.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password");
  expect(await sessionCookie(page)).toBeUndefined();
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("the right password lands in the portal with the name in the user menu", async ({ page }) => {
  await signIn(page, ADA.email);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("button", { name: "User menu" })).toContainText(ADA.name);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Welcome, ${ADA.name}`);
  const cookie = await sessionCookie(page);
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Lax");
});

test("the user menu opens Manage Your Profile", async ({ page }) => {
  await signIn(page, KATHERINE.email);
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Manage Your Profile" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("heading", { name: "Manage Your Profile", level: 1 })).toBeVisible();
  await expect(page.getByTestId("profile-email")).toHaveText(KATHERINE.email);
  await expect(page.getByTestId("profile-name")).toHaveText(KATHERINE.name);
});

test("the user menu works from the keyboard", async ({ page }) => {
  await signIn(page, KATHERINE.email);
  const menuButton = page.getByRole("button", { name: "User menu" });
  await menuButton.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("menuitem", { name: "Manage Your Profile" })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("menuitem", { name: "Manage Your Profile" })).toBeHidden();
  await expect(menuButton).toBeFocused();
});

test("switching accounts marks the new one active and keeps it on the session", async ({ page }) => {
  await signIn(page, GRACE.email);
  const switcher = page.getByRole("button", { name: "Switch account" });
  await switcher.click();
  const items = page.getByRole("menuitemradio");
  await expect(items).toHaveCount(2);
  const target = page.getByRole("menuitemradio", { checked: false });
  const targetName = (await target.locator(".item-name").textContent())!.trim();
  await target.click();
  await expect(switcher).toContainText(targetName);
  await expect(page.getByTestId("active-account")).toHaveText(targetName);
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Switch account" })).toContainText(targetName);
  await page.getByRole("button", { name: "Switch account" }).click();
  await expect(page.getByRole("menuitemradio", { checked: true })).toContainText(targetName);
});

test("after sign-out the back button and a direct URL both lead to sign-in", async ({ page }) => {
  await signIn(page, ADA.email);
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Manage Your Profile" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await page.getByRole("button", { name: "User menu" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(await sessionCookie(page)).toBeUndefined();

  await page.goBack();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByText(ADA.email)).toHaveCount(0);

  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/);
});

test("signing in from a protected page returns there", async ({ page }) => {
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/);
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(ADA.email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("heading", { name: "Manage Your Profile" })).toBeVisible();
});

test("repeated failures are throttled with a time to try again", async ({ page }) => {
  await gotoHydrated(page, "/login");
  const email = "throttle@example.com";
  for (let i = 0; i < 5; i++) {
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password").fill(`wrong password ${i}`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("alert")).toHaveText("Incorrect email or password");
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
  }
  // Even the right password is refused while the delay runs.
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText(/Too many failed sign-in attempts\. Try again in \d+ seconds?\./);
  expect(await sessionCookie(page)).toBeUndefined();
});
