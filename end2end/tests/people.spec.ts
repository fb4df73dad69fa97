import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gotoHydrated, linkIn, mailTo, signIn, waitForHydration } from "./helpers";

// Written by scripts/e2e-server.sh when it creates the accounts of these tests.
const ids: { people: number } = JSON.parse(readFileSync(join(__dirname, "..", ".data", "accounts.json"), "utf8"));
const ADMIN = "people-admin@example.com";
const MEMBER = "people-member@example.com";

test("Members: invite someone new, they accept; remove a member; the audit log shows it", async ({ page, browser }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN);
  await gotoHydrated(page, `/accounts/${ids.people}/settings/members`);
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  await expect(page.getByRole("row", { name: /People-member Tester/ })).toBeVisible();

  // "Invite people" opens the form.
  await page.getByRole("button", { name: "Invite people" }).click();
  await page.getByLabel("Email addresses").fill("people-new@example.com");
  await page.getByLabel("Group", { exact: true }).selectOption({ label: "Users" });
  await page.getByRole("button", { name: "Send invitations" }).click();
  await expect(page.getByRole("status")).toContainText("1 invitation sent.");
  await expect(page.getByRole("row", { name: /people-new@example\.com/ })).toBeVisible();

  // The invitee, in another browser: a name and a password, then sign in.
  const link = linkIn(await mailTo("people-new@example.com", "You are invited to join People Test Co"), "/invitation");
  const other = await browser.newContext();
  const invitee = await other.newPage();
  await gotoHydrated(invitee, link);
  await expect(invitee.getByText("You are invited to join People Test Co in the group Users")).toBeVisible();
  await invitee.getByLabel("Name").fill("New Person");
  await invitee.getByLabel("New password", { exact: true }).fill("a newcomer's passphrase");
  await invitee.getByLabel("Confirm new password").fill("a newcomer's passphrase");
  await invitee.getByRole("button", { name: "Accept invitation" }).click();
  await expect(invitee).toHaveURL(/\/login\?invited=1$/);
  await signIn(invitee, "people-new@example.com", "a newcomer's passphrase", "/login?invited=1");
  await expect(invitee.getByTestId("active-account")).toHaveText("People Test Co");
  await other.close();

  // Remove a member: the row's own button.
  await gotoHydrated(page, `/accounts/${ids.people}/settings/members`);
  await page.getByRole("button", { name: `Remove People-member Tester (${MEMBER}) from account` }).click();
  await expect(page.getByRole("status")).toContainText("1 member removed from the account.");
  await expect(page.getByRole("row", { name: /People-member Tester/ })).toHaveCount(0);

  // The audit log has both, newest first.
  await gotoHydrated(page, `/accounts/${ids.people}/settings/audit`);
  const rows = page.getByRole("row");
  await expect(rows.nth(1)).toContainText("Member removed");
  await expect(page.getByRole("cell", { name: "Invitation accepted" })).toBeVisible();
  await page.getByLabel("Action").selectOption({ label: "Invitation sent" });
  await page.getByRole("button", { name: "Filter" }).click();
  await waitForHydration(page);
  await expect(page.getByRole("cell", { name: "Member removed" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Download CSV" })).toHaveAttribute("href", /audit\/csv\?action=invitation_sent/);
});
