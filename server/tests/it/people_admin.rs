//! Account administrators managing people: the members list, changing groups, removing
//! members, groups, the audit log and its CSV, the operator's CLI; the guards (the last
//! administrator, other accounts' people) on both databases, also under concurrency.

use crate::{both_backends, harness::*, mfa::json};
use app::{
    models::{AccountKind, AuditPage, GroupInfo, MembersPage},
    AppError,
};

/// Acme (Ada administers it; Grace and Alan are users) and Globex (Bob administers it;
/// Grace is a user there too).
pub(crate) async fn two_accounts(env: &TestEnv) -> (i64, i64, [i64; 4]) {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let grace = env.user("grace@example.com", "Grace Hopper").await;
    let alan = env.user("alan@example.com", "Alan Turing").await;
    let bob = env.user("bob@example.com", "Bob Builder").await;
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    let globex = env.account("Globex Resellers", AccountKind::Reseller).await;
    env.member(acme, "ada@example.com", "Administrators").await;
    env.member(acme, "grace@example.com", "Users").await;
    env.member(acme, "alan@example.com", "Users").await;
    env.member(globex, "bob@example.com", "Administrators")
        .await;
    env.member(globex, "grace@example.com", "Users").await;
    (acme, globex, [ada, grace, alan, bob])
}

/// Acme proves acme.example for single sign-on (an operator's domains count as proven):
/// people of that domain are Acme's.
pub(crate) async fn proves_acme_example(env: &TestEnv, acme: i64) {
    portal::cli::account(
        &env.state,
        portal::config::AccountCommand::SetSso {
            account: acme,
            issuer: Some("https://login.acme.example".into()),
            client_id: Some("portal".into()),
            client_secret_stdin: true,
            domains: Some("acme.example".into()),
            disable: false,
        },
        &mut "a client secret\n".as_bytes(),
    )
    .await
    .expect("sso");
}

fn refusal(r: &Response) -> String {
    match r.app_error() {
        Some(AppError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}: {} {}", r.status, r.body),
    }
}

async fn members(c: &mut Client, account: i64, search: &str, sort: &str) -> Response {
    c.call::<api::AccountMembers>(&[
        ("account_id", &account.to_string()),
        ("search", search),
        ("sort", sort),
    ])
    .await
}

pub(crate) async fn groups(c: &mut Client, account: i64) -> Vec<GroupInfo> {
    let (_, groups): (String, Vec<GroupInfo>) = json(
        &c.call::<api::AccountGroups>(&[("account_id", &account.to_string())])
            .await,
    );
    groups
}

pub(crate) fn group_id(groups: &[GroupInfo], name: &str) -> String {
    groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.id.to_string())
        .expect("group")
}

async fn audit(c: &mut Client, account: i64, form: &[(&str, &str)]) -> AuditPage {
    let mut all = vec![("account_id", account.to_string())];
    all.extend(form.iter().map(|(k, v)| (*k, v.to_string())));
    let form: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json(&c.call::<api::AccountAudit>(&form).await)
}

both_backends!(
    administrators_list_search_and_sort_their_members_only,
    |env| {
        let (acme, globex, _) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let page: MembersPage = json(&members(&mut ada, acme, "", "name").await);
        let names: Vec<&str> = page.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Ada Lovelace", "Alan Turing", "Grace Hopper"]);
        assert!(page.members[0].is_you && page.members[0].is_admin);
        assert!(page.members[0].last_sign_in.is_some());
        assert_eq!(page.members[1].last_sign_in, None, "Alan never signed in");
        let page: MembersPage = json(&members(&mut ada, acme, "GRACE@", "name").await);
        assert_eq!(page.total, 1);
        let page: MembersPage = json(&members(&mut ada, acme, "", "last_sign_in").await);
        assert_eq!(
            page.members[0].name, "Ada Lovelace",
            "signed in most recently"
        );
        // Another account's members are not hers to see; nor are a user's.
        let r = members(&mut ada, globex, "", "name").await;
        assert_eq!(r.app_error(), Some(AppError::Forbidden));
        let mut grace = env.client();
        grace.sign_in("grace@example.com", PASSWORD).await;
        let r = members(&mut grace, acme, "", "name").await;
        assert_eq!(r.app_error(), Some(AppError::Forbidden));
    }
);

both_backends!(
    changing_groups_keeps_an_administrator_and_is_logged,
    |env| {
        let (acme, _, [_, grace, alan, _]) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let gs = groups(&mut ada, acme).await;
        let (admins, users) = (group_id(&gs, "Administrators"), group_id(&gs, "Users"));
        let a = acme.to_string();
        // Making someone an administrator needs "Confirm it's you".
        let r = ada
            .call::<api::ChangeMemberGroup>(&[
                ("account_id", &a),
                ("people", &grace.to_string()),
                ("group_id", &admins),
            ])
            .await;
        assert!(
            matches!(r.app_error(), Some(AppError::StepUpRequired { .. })),
            "{}",
            r.body
        );
        ada.step_up(None).await;
        let r = ada
            .call::<api::ChangeMemberGroup>(&[
                ("account_id", &a),
                ("people", &format!("{grace},{alan}")),
                ("group_id", &admins),
            ])
            .await;
        assert_eq!(r.body, "2");
        // Nobody left as administrator: refused, naming the account, nothing changed.
        let ids: Vec<String> = json::<MembersPage>(&members(&mut ada, acme, "", "name").await)
            .members
            .iter()
            .map(|m| m.user_id.to_string())
            .collect();
        let r = ada
            .call::<api::ChangeMemberGroup>(&[
                ("account_id", &a),
                ("people", &ids.join(",")),
                ("group_id", &users),
            ])
            .await;
        let m = refusal(&r);
        assert!(
            m.contains("Acme Networks would have no administrator left"),
            "{m}"
        );
        let still: MembersPage = json(&members(&mut ada, acme, "", "name").await);
        assert_eq!(
            still.members.iter().filter(|m| m.is_admin).count(),
            3,
            "nothing changed"
        );
        let page = audit(&mut ada, acme, &[("action", "member_moved")]).await;
        assert_eq!(page.total, 2);
        assert_eq!(page.rows[0].actor, "Ada Lovelace (ada@example.com)");
        assert!(page
            .rows
            .iter()
            .any(|r| r.subject == "Grace Hopper (grace@example.com)"
                && r.detail == "from Users to Administrators"));
        // A group of another account is not one of this account's.
        let r = ada
            .call::<api::ChangeMemberGroup>(&[
                ("account_id", &a),
                ("people", &alan.to_string()),
                ("group_id", "4"),
            ])
            .await;
        assert!(refusal(&r).contains("one of this account's groups"));
    }
);

both_backends!(
    removing_members_ends_their_access_and_never_deletes_them,
    |env| {
        let (acme, globex, [ada_id, grace, _, bob]) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let mut grace_c = env.client();
        grace_c.sign_in("grace@example.com", PASSWORD).await;
        let r = grace_c
            .call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let a = acme.to_string();
        // Someone of another account cannot be removed through this one.
        let r = ada
            .call::<api::RemoveMembers>(&[("account_id", &a), ("people", &bob.to_string())])
            .await;
        assert!(refusal(&r).contains("not a member of this account"));
        let r = ada
            .call::<api::RemoveMembers>(&[
                ("account_id", &globex.to_string()),
                ("people", &bob.to_string()),
            ])
            .await;
        assert_eq!(r.app_error(), Some(AppError::Forbidden));
        // Grace leaves Acme: still a person, still in Globex, working there now.
        let r = ada
            .call::<api::RemoveMembers>(&[("account_id", &a), ("people", &grace.to_string())])
            .await;
        assert_eq!(r.body, "1");
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM users WHERE email = 'grace@example.com'")
                .await,
            1
        );
        let viewer: app::models::Viewer = json(&grace_c.call::<api::GetViewer>(&[]).await);
        assert_eq!(
            viewer.active_account_id,
            Some(app::models::AccountId(globex))
        );
        assert_eq!(viewer.memberships.len(), 1);
        let r = grace_c
            .call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
            .await;
        assert!(r.status >= 400, "no way back into Acme: {}", r.body);
        assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE subject = 'You were removed from an account'").await,
        1
    );
        // The last administrator cannot go; removing oneself needs a confirmation.
        let r = ada
            .call::<api::RemoveMembers>(&[("account_id", &a), ("people", &ada_id.to_string())])
            .await;
        assert!(refusal(&r).contains("You are removing yourself"));
        let r = ada
            .call::<api::RemoveMembers>(&[
                ("account_id", &a),
                ("people", &ada_id.to_string()),
                ("confirm_self", "on"),
            ])
            .await;
        assert!(refusal(&r).contains("Acme Networks would have no administrator left"));
        let page = audit(&mut ada, acme, &[("action", "member_removed")]).await;
        assert_eq!(page.total, 1);
        assert_eq!(page.rows[0].subject, "Grace Hopper (grace@example.com)");
    }
);

both_backends!(
    two_administrators_removing_each_other_at_once_leave_one,
    |env| {
        let (acme, _, [ada, grace, _, _]) = two_accounts(env).await;
        // Grace is an administrator too: Ada and Grace each remove the other at once.
        portal::cli::member(
            &env.state,
            portal::config::MemberCommand::Move {
                account: acme,
                email: "grace@example.com".into(),
                group: "Administrators".into(),
            },
        )
        .await
        .expect("move");
        let results = at_once(&env.state, 2, move |mut c, i| async move {
            let (me, other) = if i == 0 {
                ("ada@example.com", grace)
            } else {
                ("grace@example.com", ada)
            };
            c.sign_in(me, PASSWORD).await;
            c.step_up(None).await;
            c.call::<api::RemoveMembers>(&[
                ("account_id", &acme.to_string()),
                ("people", &other.to_string()),
            ])
            .await
            .status
        })
        .await;
        let ok = results.iter().filter(|s| **s < 400).count();
        assert!(ok >= 1, "{results:?}");
        let admins = env
            .scalar(&format!(
                "SELECT COUNT(*) FROM memberships m JOIN account_groups g ON g.id = m.group_id \
             WHERE m.account_id = {acme} AND g.is_admin = 1"
            ))
            .await;
        assert!(
            admins >= 1,
            "the account kept an administrator: {results:?}"
        );
    }
);

both_backends!(
    groups_are_created_renamed_flagged_and_deleted_with_guards,
    |env| {
        let (acme, _, _) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let a = acme.to_string();
        let r = ada
            .call::<api::CreateGroup>(&[("account_id", &a), ("name", "Support")])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let r = ada
            .call::<api::CreateGroup>(&[("account_id", &a), ("name", "Support")])
            .await;
        assert!(refusal(&r).contains("already has a group named Support"));
        let r = ada
            .call::<api::CreateGroup>(&[("account_id", &a), ("name", "Owners"), ("is_admin", "on")])
            .await;
        assert!(matches!(
            r.app_error(),
            Some(AppError::StepUpRequired { .. })
        ));
        let gs = groups(&mut ada, acme).await;
        let (support, users, admins) = (
            group_id(&gs, "Support"),
            group_id(&gs, "Users"),
            group_id(&gs, "Administrators"),
        );
        let r = ada
            .call::<api::RenameGroup>(&[
                ("account_id", &a),
                ("group_id", &support),
                ("name", "Helpdesk"),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let r = ada
            .call::<api::RenameGroup>(&[
                ("account_id", &a),
                ("group_id", &support),
                ("name", "Users"),
            ])
            .await;
        assert!(refusal(&r).contains("already has a group named Users"));
        // A group with members stays until they are moved.
        let r = ada
            .call::<api::DeleteGroup>(&[("account_id", &a), ("group_id", &users)])
            .await;
        assert!(refusal(&r).contains("move them to another group first"));
        let r = ada
            .call::<api::DeleteGroup>(&[("account_id", &a), ("group_id", &support)])
            .await;
        assert!(r.status < 400, "{}", r.body);
        // The only administrator group keeps its flag while it holds the only administrators.
        ada.step_up(None).await;
        let r = ada
            .call::<api::SetGroupAdmin>(&[
                ("account_id", &a),
                ("group_id", &admins),
                ("is_admin", "false"),
            ])
            .await;
        assert!(refusal(&r).contains("no administrator left"));
        let r = ada
            .call::<api::SetGroupAdmin>(&[
                ("account_id", &a),
                ("group_id", &users),
                ("is_admin", "true"),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let actions: Vec<String> = audit(&mut ada, acme, &[])
            .await
            .rows
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(
            actions,
            [
                "Group administrator flag changed",
                "Group deleted",
                "Group renamed",
                "Group created"
            ]
        );
        // Another account's group is out of reach.
        let r = ada
            .call::<api::DeleteGroup>(&[("account_id", &a), ("group_id", "4")])
            .await;
        assert!(refusal(&r).contains("not one of this account's groups"));
    }
);

both_backends!(the_audit_log_filters_pages_and_downloads_csv, |env| {
    let (acme, globex, _) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let a = acme.to_string();
    for name in ["=cmd|' /C calc'!A0", "Support"] {
        ada.call::<api::CreateGroup>(&[("account_id", &a), ("name", name)])
            .await;
    }
    portal::cli::member(
        &env.state,
        portal::config::MemberCommand::Move {
            account: acme,
            email: "alan@example.com".into(),
            group: "Support".into(),
        },
    )
    .await
    .expect("move");
    let page = audit(&mut ada, acme, &[]).await;
    assert_eq!(page.total, 3);
    assert_eq!(page.rows[0].actor, "operator (CLI)");
    assert!(page.rows[1].ip.is_some() || page.rows[1].device.is_some());
    let page = audit(&mut ada, acme, &[("person", "alan")]).await;
    assert_eq!(page.total, 1);
    let page = audit(&mut ada, acme, &[("action", "group_created")]).await;
    assert_eq!(page.total, 2);
    let today = "2026-11-24"; // the tests' clock (T0)
    let page = audit(&mut ada, acme, &[("from", today), ("until", today)]).await;
    assert_eq!(page.total, 3);
    let page = audit(&mut ada, acme, &[("from", "2026-11-25")]).await;
    assert_eq!(page.total, 0);
    let r = ada
        .call::<api::AccountAudit>(&[("account_id", &a), ("from", "yesterday")])
        .await;
    assert!(refusal(&r).contains("must look like"));
    // The CSV: the filtered rows, formulas defused.
    let r = ada
        .get(&format!(
            "/accounts/{acme}/settings/audit/csv?action=group_created"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/csv"));
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines[0], "When,Who,Action,Subject,Detail,IP,Device");
    assert_eq!(lines.len(), 3, "{}", r.body);
    assert!(r.body.contains("'=cmd"), "{}", r.body);
    // Not for anyone else.
    let r = ada
        .get(&format!("/accounts/{globex}/settings/audit/csv"))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        audit(&mut ada, acme, &[])
            .await
            .rows
            .iter()
            .filter(|r| r.subject.contains("Bob"))
            .count(),
        0
    );
});

both_backends!(policy_and_sso_changes_are_in_the_audit_log, |env| {
    let (acme, _, _) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    // (Ada has no MFA, so the page would refuse a policy that locks her out: the
    // operator sets it, and is recorded as the operator.)
    portal::cli::account(
        &env.state,
        portal::config::AccountCommand::SetMfaPolicy {
            account: acme,
            policy: "all".into(),
            grace_days: 7,
            require_passkeys: false,
        },
        &mut std::io::empty(),
    )
    .await
    .expect("policy");
    let page = audit(&mut ada, acme, &[("action", "policy_changed")]).await;
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].actor, "operator (CLI)");
    assert!(
        page.rows[0].detail.contains("grace period 7 days"),
        "{}",
        page.rows[0].detail
    );
});

both_backends!(
    the_cli_manages_members_and_groups_with_the_same_guards,
    |env| {
        let (acme, _, _) = two_accounts(env).await;
        use portal::config::{GroupCommand, MemberCommand};
        let out = portal::cli::group(
            &env.state,
            GroupCommand::Rename {
                account: acme,
                group: "Users".into(),
                new_name: "Staff".into(),
            },
        )
        .await
        .expect("rename");
        assert!(out.contains("Renamed"), "{out}");
        let e = portal::cli::group(
            &env.state,
            GroupCommand::Delete {
                account: acme,
                group: "Staff".into(),
            },
        )
        .await
        .expect_err("has members");
        assert!(e.contains("move them to another group first"), "{e}");
        let e = portal::cli::member(
            &env.state,
            MemberCommand::Remove {
                account: acme,
                email: "ada@example.com".into(),
            },
        )
        .await
        .expect_err("last administrator");
        assert!(e.contains("no administrator left"), "{e}");
        let e = portal::cli::member(
            &env.state,
            MemberCommand::Remove {
                account: acme,
                email: "bob@example.com".into(),
            },
        )
        .await
        .expect_err("not a member");
        assert!(e.contains("not a member of account"), "{e}");
        portal::cli::member(
            &env.state,
            MemberCommand::Remove {
                account: acme,
                email: "alan@example.com".into(),
            },
        )
        .await
        .expect("remove");
        let e = portal::cli::group(
            &env.state,
            GroupCommand::SetAdmin {
                account: acme,
                group: "Administrators".into(),
                admin: false,
            },
        )
        .await
        .expect_err("last administrators");
        assert!(e.contains("no administrator left"), "{e}");
        assert_eq!(
        env.scalar("SELECT COUNT(*) FROM audit_log WHERE actor_label = 'operator (CLI)' AND actor_id IS NULL")
            .await,
        2
    );
    }
);

async fn invite(c: &mut Client, account: i64, emails: &str, group: &str) -> Response {
    c.call::<api::InvitePeople>(&[
        ("account_id", &account.to_string()),
        ("emails", emails),
        ("group_id", group),
    ])
    .await
}

/// The token of the newest invitation mailed to `to`.
fn invitation_token(smtp: &SmtpServer, to: &str) -> String {
    let mail = smtp
        .received()
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {to}")) && m.contains("invited to join"))
        .unwrap_or_else(|| panic!("no invitation to {to}"));
    let text = mail.replace("=\r\n", "").replace("=3D", "=");
    let start = text.find("/invitation?token=").expect("link") + "/invitation?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

both_backends!(
    invitations_are_mailed_and_accepted_by_new_and_existing_people,
    |env| {
        let (acme, _, [_, _, _, bob]) = two_accounts(env).await;
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut ada = Client::for_state(portal.clone());
        ada.sign_in("ada@example.com", PASSWORD).await;
        let gs = groups(&mut ada, acme).await;
        let users = group_id(&gs, "Users");
        // Bad input changes nothing; members are not invited.
        let r = invite(&mut ada, acme, "new@example.com, not-an-email", &users).await;
        assert!(refusal(&r).contains("not-an-email"));
        let r = invite(&mut ada, acme, "grace@example.com", &users).await;
        assert!(refusal(&r).contains("already a member of Acme Networks"));
        let r = invite(
            &mut ada,
            acme,
            "newbie@example.com\nbob@example.com",
            &users,
        )
        .await;
        assert_eq!(r.body, "[2,0]", "{}", r.body);
        portal::mail::deliver_due(&portal).await.expect("deliver");
        let page: MembersPage = json(&members(&mut ada, acme, "", "name").await);
        assert_eq!(page.invitations.len(), 2);

        // Someone new: a name and a password, proven by the link.
        let token = invitation_token(&smtp, "newbie@example.com");
        let mut newbie = Client::for_state(portal.clone());
        let page = newbie.get(&format!("/invitation?token={token}")).await;
        assert!(
            page.body.contains("Accept invitation") && page.body.contains("Acme Networks"),
            "{}",
            page.body
        );
        let r = newbie
            .call::<api::AcceptInvitation>(&[
                ("token", &token),
                ("name", "New Person"),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ])
            .await;
        assert!(!refusal(&r).is_empty());
        let pw = "a newcomer's own passphrase";
        let r = newbie
            .call::<api::AcceptInvitation>(&[
                ("token", &token),
                ("name", "New Person"),
                ("new_password", pw),
                ("confirm_password", pw),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert_eq!(r.header("location"), Some("/login?invited=1"));
        let viewer_ok = newbie.sign_in("newbie@example.com", pw).await;
        assert!(viewer_ok.status < 400);
        let viewer: app::models::Viewer = json(&newbie.call::<api::GetViewer>(&[]).await);
        assert_eq!(viewer.memberships[0].account_name, "Acme Networks");
        assert_eq!(viewer.memberships[0].group_name, "Users");
        let r = Client::for_state(portal.clone())
            .call::<api::AcceptInvitation>(&[
                ("token", &token),
                ("name", "X"),
                ("new_password", pw),
                ("confirm_password", pw),
            ])
            .await;
        assert!(refusal(&r).contains("not valid"), "used once");

        // Someone who uses the portal already: signed in as themselves, with their own credentials.
        let token = invitation_token(&smtp, "bob@example.com");
        let mut stranger = Client::for_state(portal.clone());
        let r = stranger
            .call::<api::AcceptInvitation>(&[("token", &token)])
            .await;
        assert!(refusal(&r).contains("Sign in as bob@example.com"));
        stranger.sign_in("grace@example.com", PASSWORD).await;
        let r = stranger
            .call::<api::AcceptInvitation>(&[("token", &token)])
            .await;
        assert!(
            refusal(&r).contains("Sign in as bob@example.com"),
            "not Grace's to accept"
        );
        let mut bob_c = Client::for_state(portal.clone());
        bob_c.sign_in("bob@example.com", PASSWORD).await;
        let r = bob_c
            .call::<api::AcceptInvitation>(&[("token", &token)])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let viewer: app::models::Viewer = json(&bob_c.call::<api::GetViewer>(&[]).await);
        assert_eq!(viewer.active_account_id, Some(app::models::AccountId(acme)));
        assert!(viewer
            .memberships
            .iter()
            .any(|m| m.account_id.get() == acme));
        let _ = bob;
        let log = audit(&mut ada, acme, &[("action", "invitation_accepted")]).await;
        assert_eq!(log.total, 2);
        portal.db.close().await;
    }
);

both_backends!(invitations_can_be_resent_revoked_and_expire, |env| {
    let (acme, _, _) = two_accounts(env).await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut ada = Client::for_state(portal.clone());
    ada.sign_in("ada@example.com", PASSWORD).await;
    let users = group_id(&groups(&mut ada, acme).await, "Users");
    let a = acme.to_string();
    ada.call::<api::InvitePeople>(&[
        ("account_id", &a),
        ("emails", "x@example.com"),
        ("group_id", &users),
    ])
    .await;
    portal::mail::deliver_due(&portal).await.expect("deliver");
    let first = invitation_token(&smtp, "x@example.com");
    let id = json::<MembersPage>(&members(&mut ada, acme, "", "name").await).invitations[0]
        .id
        .to_string();
    let r = ada
        .call::<api::ResendInvitation>(&[("account_id", &a), ("invitation_id", &id)])
        .await;
    assert!(r.status < 400, "{}", r.body);
    portal::mail::deliver_due(&portal).await.expect("deliver");
    let second = invitation_token(&smtp, "x@example.com");
    assert_ne!(first, second);
    let mut x = Client::for_state(portal.clone());
    let r = x.call::<api::Invitation>(&[("token", &first)]).await;
    assert!(refusal(&r).contains("not valid"), "replaced");
    env.clock
        .advance(std::time::Duration::from_secs(7 * 86_400 + 1));
    let r = x.call::<api::Invitation>(&[("token", &second)]).await;
    assert!(refusal(&r).contains("expired"), "{}", r.body);
    ada.sign_in("ada@example.com", PASSWORD).await;
    let page: MembersPage = json(&members(&mut ada, acme, "", "name").await);
    assert!(page.invitations[0].expired);
    let r = ada
        .call::<api::RevokeInvitation>(&[("account_id", &a), ("invitation_id", &id)])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let page: MembersPage = json(&members(&mut ada, acme, "", "name").await);
    assert!(page.invitations.is_empty());
    let actions: Vec<String> = audit(&mut ada, acme, &[])
        .await
        .rows
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        ["Invitation revoked", "Invitation sent", "Invitation sent"]
    );
    portal.db.close().await;
});

both_backends!(
    help_desk_actions_are_only_for_people_the_account_manages,
    |env| {
        let (acme, globex, [_, grace, _, _]) = two_accounts(env).await;
        // Acme proves acme.example (an operator's domains count as proven); Sam is Acme's
        // and also works in Globex.
        let sam = env.user("sam@acme.example", "Sam Acme").await;
        env.member(acme, "sam@acme.example", "Users").await;
        env.member(globex, "sam@acme.example", "Users").await;
        proves_acme_example(env, acme).await;
        let (_, _, _) = crate::mfa::enrolled(env, "sam@acme.example").await;
        let mut sam_session = env.client();
        sam_session.sign_in("sam@acme.example", PASSWORD).await;
        let a = acme.to_string();
        // An administrator without MFA cannot use them.
        let mut plain = env.client();
        plain.sign_in("ada@example.com", PASSWORD).await;
        plain.step_up(None).await;
        let r = plain
            .call::<api::HelpdeskSignOut>(&[("account_id", &a), ("person", &sam.to_string())])
            .await;
        assert!(refusal(&r).contains("turn on multi-factor authentication"));
        // With MFA, after a fresh step-up with the code.
        let (_, secret, _) = crate::mfa::enrolled(env, "ada@example.com").await;
        env.clock.advance(std::time::Duration::from_secs(600));
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let code = crate::mfa::code_at_time(&secret, env.now());
        let r = ada.call::<api::VerifySignInCode>(&[("code", &code)]).await;
        assert!(r.status < 400, "{}", r.body);
        let r = ada
            .call::<api::HelpdeskSignOut>(&[("account_id", &a), ("person", &sam.to_string())])
            .await;
        assert!(
            matches!(r.app_error(), Some(AppError::StepUpRequired { .. })),
            "{}",
            r.body
        );
        env.clock.advance(std::time::Duration::from_secs(60));
        let code = crate::mfa::code_at_time(&secret, env.now());
        ada.step_up(Some(&code)).await;
        let page: MembersPage = json(&members(&mut ada, acme, "", "name").await);
        let managed: Vec<(&str, bool)> = page
            .members
            .iter()
            .map(|m| (m.email.as_str(), m.managed))
            .collect();
        assert!(
            managed.contains(&("sam@acme.example", true))
                && managed.contains(&("grace@example.com", false)),
            "{managed:?}"
        );
        // Not for someone the account does not manage (they may belong to other companies).
        let grace_id = grace.to_string();
        {
            let form = [("account_id", a.as_str()), ("person", grace_id.as_str())];
            let r = ada.call::<api::HelpdeskResetMfa>(&form).await;
            assert!(refusal(&r).contains("not managed by this account"));
            let r = ada.call::<api::HelpdeskSignOut>(&form).await;
            assert!(refusal(&r).contains("not managed by this account"));
        }
        // Nor through another account (Globex does not manage Sam).
        let r = ada
            .call::<api::HelpdeskResetMfa>(&[
                ("account_id", &globex.to_string()),
                ("person", &sam.to_string()),
            ])
            .await;
        assert_eq!(r.app_error(), Some(AppError::Forbidden));
        // Sam: MFA reset, every session ended, told by mail, in the audit log.
        let r = ada
            .call::<api::HelpdeskResetMfa>(&[("account_id", &a), ("person", &sam.to_string())])
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM user_mfa WHERE user_id = {sam} AND enabled_at IS NOT NULL"
            ))
            .await,
            0
        );
        let r = sam_session.call::<api::GetViewer>(&[]).await;
        assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
        let r = ada
            .call::<api::HelpdeskResetMfa>(&[("account_id", &a), ("person", &sam.to_string())])
            .await;
        assert!(refusal(&r).contains("no multi-factor authentication to reset"));
        sam_session.sign_in("sam@acme.example", PASSWORD).await;
        let r = ada
            .call::<api::HelpdeskSignOut>(&[("account_id", &a), ("person", &sam.to_string())])
            .await;
        assert_eq!(r.body, "1");
        let r = sam_session.call::<api::GetViewer>(&[]).await;
        assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
        assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'sam@acme.example' AND subject IN ('Your multi-factor authentication was reset', 'You were signed out everywhere')").await,
        2
    );
        let actions: Vec<String> = audit(&mut ada, acme, &[("person", "sam")])
            .await
            .rows
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(actions, ["Signed out everywhere", "MFA reset"]);
    }
);

both_backends!(removing_another_administrator_needs_a_step_up, |env| {
    let (acme, _, [_, grace, _, _]) = two_accounts(env).await;
    portal::cli::member(
        &env.state,
        portal::config::MemberCommand::Move {
            account: acme,
            email: "grace@example.com".into(),
            group: "Administrators".into(),
        },
    )
    .await
    .expect("move");
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let form = [
        ("account_id", acme.to_string()),
        ("people", grace.to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = ada.call::<api::RemoveMembers>(&form).await;
    assert!(
        matches!(r.app_error(), Some(AppError::StepUpRequired { .. })),
        "{}",
        r.body
    );
    ada.step_up(None).await;
    let r = ada.call::<api::RemoveMembers>(&form).await;
    assert_eq!(r.body, "1");
});

both_backends!(
    old_policy_and_sso_histories_move_into_the_audit_log,
    |env| {
        // The histories of before the audit log, as migration 10 left them: the migration
        // that makes them views of the log moves their rows there, once, and drops them.
        let (acme, _, [ada, ..]) = two_accounts(env).await;
        let backend = env.state.db.backend();
        let migration = match backend {
            portal::db::Backend::Sqlite => {
                include_str!("../../migrations/sqlite/20261202000011_histories_in_audit_log.sql")
            }
            portal::db::Backend::Postgres => {
                include_str!("../../migrations/postgres/20261202000011_histories_in_audit_log.sql")
            }
        };
        let id = match backend {
            portal::db::Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            portal::db::Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        let setup = format!(
        "CREATE TABLE mfa_policy_changes (id {id}, account_id BIGINT NOT NULL, changed_by BIGINT, \
           changed_by_label TEXT NOT NULL, at BIGINT NOT NULL, from_policy TEXT NOT NULL, \
           to_policy TEXT NOT NULL, grace_days BIGINT NOT NULL); \
         CREATE TABLE sso_changes (id {id}, account_id BIGINT NOT NULL, changed_by BIGINT, \
           changed_by_label TEXT NOT NULL, at BIGINT NOT NULL, summary TEXT NOT NULL); \
         INSERT INTO mfa_policy_changes (account_id, changed_by, changed_by_label, at, from_policy, to_policy, grace_days) \
           VALUES ({acme}, {ada}, 'Ada Lovelace', 1000000, 'optional', 'all', 14), \
                  ({acme}, NULL, 'Operator (CLI)', 2000000, 'all', 'optional', 0), \
                  ({acme}, {ada}, 'Ada Lovelace', 3000004, 'optional', 'admins', 1); \
         INSERT INTO sso_changes (account_id, changed_by, changed_by_label, at, summary) \
           VALUES ({acme}, {ada}, 'Ada Lovelace', 1500000, 'On · issuer https://id.example · client c · domains example.com'), \
                  ({acme}, {ada}, 'Ada Lovelace', 1600000, 'Domain example.com verified'); \
         INSERT INTO audit_log (account_id, actor_id, actor_label, action, subject, detail, at) \
           VALUES ({acme}, {ada}, 'Ada Lovelace (ada@example.com)', 'policy_changed', 'Acme Networks', \
                   'Optional → Required for administrators, grace period 1 day', 3000000);"
    );
        sqlx::raw_sql(&setup)
            .execute(env.state.db.pool())
            .await
            .expect("the old tables");
        sqlx::raw_sql(migration)
            .execute(env.state.db.pool())
            .await
            .expect("the migration");
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let policy: Vec<(String, String)> = audit(&mut c, acme, &[("action", "policy_changed")])
            .await
            .rows
            .into_iter()
            .map(|r| (r.actor, r.detail))
            .collect();
        assert_eq!(
            policy,
            [
                (
                    "Ada Lovelace (ada@example.com)".to_string(),
                    "Optional → Required for administrators, grace period 1 day".to_string()
                ),
                (
                    "Operator (CLI)".into(),
                    "Required for all users → Optional".into()
                ),
                (
                    "Ada Lovelace".into(),
                    "Optional → Required for all users, grace period 14 days".into()
                ),
            ],
            "the row already in the log is not copied again"
        );
        let domains = audit(&mut c, acme, &[("action", "domain_proven")]).await;
        assert_eq!(domains.rows.len(), 1);
        assert_eq!(domains.rows[0].detail, "example.com");
        let sso = audit(&mut c, acme, &[("action", "sso_changed")]).await;
        assert_eq!(sso.rows.len(), 1);
        assert!(sso.rows[0].detail.starts_with("On · issuer"));
        // The policy page's history reads the log.
        let s: app::models::AccountMfaSettings = json(
            &c.call::<api::AccountMfaSettings>(&[("account_id", &acme.to_string())])
                .await,
        );
        assert_eq!(s.history.len(), 3);
        assert_eq!(
            s.history[2].summary,
            "Optional → Required for all users, grace period 14 days"
        );
        for table in ["mfa_policy_changes", "sso_changes"] {
            let gone = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
                .execute(env.state.db.pool())
                .await;
            assert!(gone.is_err(), "{table} is dropped");
        }
    }
);
