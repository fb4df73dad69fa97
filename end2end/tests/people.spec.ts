import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEMO_PASSWORD,
  enrolMfa,
  gotoHydrated,
  linkIn,
  mailTo,
  signIn,
  signOut,
  waitForHydration,
} from "./helpers";
import { nextStepAfter, totp } from "./totp";

// Written by scripts/e2e-server.sh: "People Test Co", administered by people-admin; it
// proved people.test, so helpdesk@people.test is one of its people.
const ids: { people: number } = JSON.parse(
  readFileSync(join(__dirname, "..", ".data", "accounts.json"), "utf8"),
);
const ADMIN = "people-admin@example.com";
const MEMBERS = `/accounts/${ids.people}/settings/members`;
const GROUPS = `/accounts/${ids.people}/settings/groups`;
const AUDIT = `/accounts/${ids.people}/settings/audit`;

/** After a plain form: the page it came back to says `said` (the address is tidied
 * after the page shows it), hydrated. */
async function cameBack(page: Page, said: string | RegExp) {
  await expect(page.getByRole("main").getByText(said)).toBeVisible();
  await waitForHydration(page);
}

function memberRow(page: Page, name: string) {
  return page.getByRole("table", { name: "Members of this account" }).getByRole("row", { name: new RegExp(name) });
}

/** "Confirm it's you" on the step-up page a sensitive form led to; back on the page. */
async function confirmChange(page: Page, code?: string) {
  await expect(page).toHaveURL(/\/step-up\?next=.*why=change/);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Confirm a change" })).toBeVisible();
  const confirm = page.getByRole("region", { name: "Confirm it's you" });
  await confirm.getByLabel("Current password").fill(DEMO_PASSWORD);
  if (code) await confirm.getByLabel("Authentication code").fill(code);
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("heading", { name: "Members", level: 1 })).toBeVisible();
  await waitForHydration(page);
}

/** The administrator signs in and invites `email` to Users through "Invite people". */
async function inviteAsAdmin(page: Page, email: string) {
  await signIn(page, ADMIN);
  await gotoHydrated(page, MEMBERS);
  await page.getByRole("button", { name: "Invite people" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite people" });
  await dialog.getByLabel("Email addresses").fill(email);
  await dialog.getByLabel("Group", { exact: true }).selectOption({ label: "Users" });
  await dialog.getByRole("button", { name: "Send invitations" }).click();
  await cameBack(page, "Sent 1 invitation.");
}

test("Invite a new person: the mailed link creates them, in the group", async ({ page, browser }) => {
  test.setTimeout(90_000);
  const email = `newcomer-${Date.now()}@example.org`;
  await inviteAsAdmin(page, email);
  await expect(page.getByText("Sent 1 invitation.")).toBeFocused();
  const pending = page.getByRole("table", { name: "Invitations not accepted yet" });
  await expect(pending.getByRole("row", { name: new RegExp(email) })).toContainText("Users");

  const link = linkIn(await mailTo(email, "You are invited to join People Test Co"), "/invitation");
  const other = await browser.newContext();
  const newcomer = await other.newPage();
  await gotoHydrated(newcomer, link);
  await expect(newcomer.getByText(`You are invited to join People Test Co in the group Users, as ${email}.`)).toBeVisible();
  await newcomer.getByLabel("Name").fill("Newton Newcomer");
  await newcomer.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
  await newcomer.getByLabel("Confirm new password").fill("a brand new passphrase");
  await newcomer.getByRole("button", { name: "Accept invitation" }).click();
  await expect(newcomer).toHaveURL(/\/login\?invited=1/);
  await signIn(newcomer, email, "a brand new passphrase", "/login?invited=1");
  await gotoHydrated(newcomer, "/profile/accounts");
  await expect(newcomer.getByRole("table", { name: "Accounts you belong to" })).toContainText("People Test Co");
  // The link was single-use.
  await gotoHydrated(newcomer, link);
  await expect(newcomer.getByRole("alert")).toBeVisible();
  await other.close();

  await gotoHydrated(page, MEMBERS);
  await expect(memberRow(page, "Newton Newcomer").getByRole("cell").nth(1)).toHaveText("Users");
  await expect(page.getByRole("table", { name: "Invitations not accepted yet" })).toHaveCount(0);
});

test("Invite someone who uses the portal: they accept after signing in", async ({ page, browser }) => {
  const email = "people-invitee@example.com";
  await inviteAsAdmin(page, email);

  const link = linkIn(await mailTo(email, "You are invited to join People Test Co"), "/invitation");
  const other = await browser.newContext();
  const invitee = await other.newPage();
  await gotoHydrated(invitee, link);
  await invitee.getByRole("link", { name: "Sign in to accept" }).click();
  await expect(invitee).toHaveURL(/\/login\?next=/);
  await waitForHydration(invitee);
  await invitee.getByLabel("Email", { exact: true }).fill(email);
  await invitee.getByLabel("Password").fill(DEMO_PASSWORD);
  await invitee.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(invitee).toHaveURL(/\/invitation\?token=/);
  await waitForHydration(invitee);
  await invitee.getByRole("button", { name: "Accept invitation" }).click();
  await expect(invitee.getByRole("button", { name: "User menu" })).toBeVisible();
  await gotoHydrated(invitee, "/profile/accounts");
  await expect(invitee.getByRole("table", { name: "Accounts you belong to" })).toContainText("People Test Co");
  await other.close();
});

test("Change group, the last administrator's guard, and removing a member ends their access", async ({ page, browser }) => {
  test.setTimeout(90_000);
  // The member is signed in elsewhere while it happens.
  const elsewhere = await browser.newContext();
  const member = await elsewhere.newPage();
  await signIn(member, "people-member@example.com");
  await gotoHydrated(member, "/profile/accounts");
  await expect(member.getByRole("table", { name: "Accounts you belong to" })).toContainText("People Test Co");

  await signIn(page, ADMIN);
  await gotoHydrated(page, GROUPS);
  await page.getByLabel("Group name").fill("Support");
  await page.getByRole("button", { name: "Create group" }).click();
  await cameBack(page, "Group created.");

  await gotoHydrated(page, MEMBERS);
  let row = memberRow(page, "People-member Tester");
  await row.getByLabel("Group for People-member Tester").selectOption({ label: "Support" });
  await row.getByRole("button", { name: "Change group" }).click();
  await cameBack(page, "Moved 1 member to the chosen group.");
  await expect(memberRow(page, "People-member Tester").getByRole("cell").nth(1)).toHaveText("Support");

  // The only administrator cannot leave the administrators (after confirming it's them).
  const me = () => memberRow(page, "People-admin Tester");
  await me().getByLabel("Group for People-admin Tester").selectOption({ label: "Users" });
  await me().getByRole("button", { name: "Change group" }).click();
  await confirmChange(page);
  await me().getByLabel("Group for People-admin Tester").selectOption({ label: "Users" });
  await me().getByRole("button", { name: "Change group" }).click();
  await expect(page.getByRole("alert")).toContainText("People Test Co would have no administrator left");
  await expect(page.getByRole("alert")).toBeFocused();
  await waitForHydration(page);
  await expect(me().getByRole("cell").nth(1)).toHaveText("Administrators");
  // Said once: a reload does not say it again.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByText("would have no administrator left")).toHaveCount(0);

  // Removing herself asks first.
  await me().getByRole("button", { name: "Remove from account" }).click();
  const ask = page.getByRole("dialog", { name: "Remove yourself?" });
  await expect(ask).toContainText("You will lose access to People Test Co");
  await ask.getByRole("button", { name: "Cancel" }).click();
  await expect(ask).toBeHidden();

  row = memberRow(page, "People-member Tester");
  await row.getByRole("button", { name: "Remove from account" }).click();
  await cameBack(page, /Removed 1 member from the account\./);
  await expect(memberRow(page, "People-member Tester")).toHaveCount(0);
  await mailTo("people-member@example.com", "You were removed from an account");

  // Their open session no longer has the account.
  await gotoHydrated(member, "/profile/accounts");
  await expect(member.getByRole("button", { name: "User menu" })).toBeVisible();
  await expect(member.getByText("People Test Co")).toHaveCount(0);
  await elsewhere.close();

  // The audit log has each change, and downloads as CSV.
  await gotoHydrated(page, AUDIT);
  const log = page.getByRole("main");
  for (const action of ["Group created", "Member moved to another group", "Member removed", "Invitation accepted"]) {
    await expect(log.getByRole("cell", { name: action, exact: true }).first()).toBeVisible();
  }
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download CSV" }).click();
  const file = await download;
  const csv = readFileSync((await file.path())!, "utf8");
  expect(csv).toContain("Member removed");
  expect(csv).toContain("people-member@example.com");
});

test("The invitation form works from the keyboard alone", async ({ page }) => {
  await signIn(page, ADMIN);
  await gotoHydrated(page, MEMBERS);
  const open = page.getByRole("button", { name: "Invite people" });
  await open.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Invite people" });
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(dialog.getByLabel("Email addresses")).toBeFocused();
  await page.keyboard.type("keyboard-only@example.org");
  await page.keyboard.press("Tab");
  await expect(dialog.getByLabel("Group", { exact: true })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Send invitations" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
});

test("Help desk: Reset MFA of a person the account manages, never of anyone else", async ({ page, browser }) => {
  test.setTimeout(180_000);
  // The managed person turns MFA on.
  const theirs = await browser.newContext();
  const target = await theirs.newPage();
  await signIn(target, "helpdesk@people.test");
  await enrolMfa(target);

  // The administrator needs MFA for help-desk actions; a new session signed in with it.
  await signIn(page, ADMIN);
  let { secret, used } = await enrolMfa(page);
  await signOut(page);
  await gotoHydrated(page, "/login");
  await page.getByLabel("Email", { exact: true }).fill(ADMIN);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/code/);
  await waitForHydration(page);
  used = await nextStepAfter(used);
  await page.getByLabel("Authentication code").fill(totp(secret, used));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("button", { name: "User menu" })).toBeVisible();

  await gotoHydrated(page, MEMBERS);
  // Someone whose address the account has not proven may belong to other companies:
  // no help-desk actions for them.
  const outsider = memberRow(page, "People-outsider Tester");
  await expect(outsider.getByRole("button", { name: "Change group" })).toBeVisible();
  await expect(outsider.getByRole("button", { name: "Reset MFA" })).toHaveCount(0);
  await expect(outsider.getByRole("button", { name: "Sign out everywhere" })).toHaveCount(0);

  await memberRow(page, "Helpdesk Tester").getByRole("button", { name: "Reset MFA" }).click();
  used = await nextStepAfter(used);
  await confirmChange(page, totp(secret, used));
  await memberRow(page, "Helpdesk Tester").getByRole("button", { name: "Reset MFA" }).click();
  await cameBack(page, /Multi-factor authentication reset/);
  await expect(memberRow(page, "Helpdesk Tester").getByRole("cell").nth(3)).toHaveText("Off");
  await mailTo("helpdesk@people.test", "Your multi-factor authentication was reset");

  // Their sessions ended.
  await target.goto("/profile/security");
  await expect(target).toHaveURL(/\/login/);
  await theirs.close();

  await gotoHydrated(page, AUDIT);
  await expect(page.getByRole("main").getByRole("cell", { name: "MFA reset", exact: true }).first()).toBeVisible();
});
