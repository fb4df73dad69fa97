//! The members and groups pages' plain forms (no client bundle): each action through
//! the form handler, what the page says afterwards, the flash message that only this
//! browser sees once, the step-up detour, and the same refusals as the server functions
//! for other accounts' administrators and crafted posts. Also `portal invite`.

use crate::{
    both_backends,
    harness::*,
    mfa::json,
    people_admin::{group_id, groups, proves_acme_example, two_accounts},
};
use app::models::{AuditPage, MembersPage};

fn members_action(account: i64) -> String {
    format!("/accounts/{account}/settings/members/action")
}

fn groups_action(account: i64) -> String {
    format!("/accounts/{account}/settings/groups/action")
}

/// Ada's page of Acme's members: who is in which group.
async fn group_of(c: &mut Client, account: i64, name: &str) -> Option<String> {
    let page: MembersPage = json(
        &c.call::<api::AccountMembers>(&[("account_id", &account.to_string())])
            .await,
    );
    page.members
        .into_iter()
        .find(|m| m.name == name)
        .map(|m| m.group)
}

async fn audit_actions(c: &mut Client, account: i64) -> Vec<String> {
    let page: AuditPage = json(
        &c.call::<api::AccountAudit>(&[("account_id", &account.to_string())])
            .await,
    );
    page.rows.into_iter().map(|r| r.action).collect()
}

fn location(r: &Response) -> String {
    assert_eq!(r.status, 303, "{} {}", r.status, r.body);
    r.header("location").expect("location").to_string()
}

both_backends!(
    plain_forms_move_and_remove_members_and_the_page_says_so,
    |env| {
        let (acme, _, [_, grace, alan, _]) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let members_page = format!("/accounts/{acme}/settings/members");
        // A group first, through the groups page's form.
        let r = ada
            .post_form(&groups_action(acme), &[("op", "create"), ("name", "Sales")])
            .await;
        assert_eq!(
            location(&r),
            format!("/accounts/{acme}/settings/groups?done=group-created")
        );
        let page = ada.get(&location(&r)).await;
        assert!(page.body.contains("Group created."), "{}", page.body);
        let sales = group_id(&groups(&mut ada, acme).await, "Sales");

        // "Change group" from page 1 of a search: back there, saying so.
        let back = format!("{members_page}?page=1&search=grace&sort=name");
        let r = ada
            .post_form(
                &members_action(acme),
                &[
                    ("op", "move"),
                    ("person", &grace.to_string()),
                    ("group", &sales),
                    ("back", &back),
                ],
            )
            .await;
        assert_eq!(location(&r), format!("{back}&done=moved-1"));
        let page = ada.get(&location(&r)).await;
        assert!(
            page.body.contains("Moved 1 member to the chosen group."),
            "{}",
            page.body
        );
        assert_eq!(
            group_of(&mut ada, acme, "Grace Hopper").await.as_deref(),
            Some("Sales")
        );

        // "Remove from account" for a selection of two.
        let r = ada
            .post_form(
                &members_action(acme),
                &[
                    ("op", "remove"),
                    ("person", &grace.to_string()),
                    ("person", &alan.to_string()),
                ],
            )
            .await;
        assert_eq!(location(&r), format!("{members_page}?done=removed-2"));
        let page = ada.get(&location(&r)).await;
        assert!(page.body.contains("Removed 2 members"), "{}", page.body);
        assert_eq!(group_of(&mut ada, acme, "Grace Hopper").await, None);
        assert_eq!(group_of(&mut ada, acme, "Alan Turing").await, None);
        let actions = audit_actions(&mut ada, acme).await;
        assert_eq!(
            actions[..4],
            [
                "Member removed",
                "Member removed",
                "Member moved to another group",
                "Group created"
            ]
        );
    }
);

both_backends!(a_refusal_is_said_once_to_this_browser_only, |env| {
    let (acme, _, [ada_id, ..]) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let users = group_id(&groups(&mut ada, acme).await, "Users");
    ada.step_up(None).await;
    // The last administrator moving herself out: refused, nothing changes.
    let r = ada
        .post_form(
            &members_action(acme),
            &[
                ("op", "move"),
                ("person", &ada_id.to_string()),
                ("group", &users),
            ],
        )
        .await;
    let to = location(&r);
    let key = to
        .split_once("?error=")
        .map(|(_, k)| k.to_string())
        .expect("an error key in the address");
    let set = r
        .header("set-cookie")
        .expect("the message waits in a cookie");
    assert!(
        set.contains("portal_flash=") && set.contains("HttpOnly") && set.contains("SameSite"),
        "{set}"
    );
    assert!(ada.flash.is_some());
    let page = ada.get(&to).await;
    assert!(
        page.body
            .contains("Acme Networks would have no administrator left"),
        "{}",
        page.body
    );
    assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    assert_eq!(ada.flash, None, "said once: the cookie is gone");
    let again = ada.get(&to).await;
    assert!(!again.body.contains("no administrator left"));
    assert_eq!(
        group_of(&mut ada, acme, "Ada Lovelace").await.as_deref(),
        Some("Administrators")
    );

    // A crafted address with someone else's key, or a key without the cookie, says
    // nothing: a link cannot put words on the page.
    let r = ada
        .post_form(
            &members_action(acme),
            &[("op", "remove"), ("person", "not-a-number")],
        )
        .await;
    let to = location(&r);
    assert!(ada.flash.is_some());
    let mut other = env.client();
    other.sign_in("ada@example.com", PASSWORD).await;
    let page = other.get(&to).await;
    assert!(page.status < 400, "{}", page.body);
    assert!(!page.body.contains("Select members from the list."));
    let page = ada
        .get(&format!("/accounts/{acme}/settings/members?error={key}"))
        .await;
    assert!(!page.body.contains("Select members from the list."));
    let page = ada.get(&to).await;
    assert!(
        page.body.contains("Select members from the list."),
        "{}",
        page.body
    );
});

both_backends!(
    other_accounts_administrators_and_crafted_posts_change_nothing,
    |env| {
        let (acme, globex, [ada, grace, alan, _]) = two_accounts(env).await;
        let mut bob = env.client();
        bob.sign_in("bob@example.com", PASSWORD).await;
        bob.step_up(None).await;
        let globex_users = group_id(&groups(&mut bob, globex).await, "Users");
        let mut ada_c = env.client();
        ada_c.sign_in("ada@example.com", PASSWORD).await;
        let acme_users = group_id(&groups(&mut ada_c, acme).await, "Users");
        let attempts: Vec<(String, Vec<(&str, String)>)> = vec![
            // Acme's forms, from Globex's administrator.
            (
                members_action(acme),
                vec![("op", "remove".into()), ("person", alan.to_string())],
            ),
            (
                members_action(acme),
                vec![
                    ("op", "move".into()),
                    ("person", ada.to_string()),
                    ("group", acme_users.clone()),
                ],
            ),
            (
                members_action(acme),
                vec![
                    ("op", "invite".into()),
                    ("emails", "spy@example.org".into()),
                    ("group", acme_users.clone()),
                ],
            ),
            (
                groups_action(acme),
                vec![("op", "delete".into()), ("group", acme_users.clone())],
            ),
            // His own account's form, naming Acme's people and groups.
            (
                members_action(globex),
                vec![("op", "remove".into()), ("person", ada.to_string())],
            ),
            (
                members_action(globex),
                vec![
                    ("op", "move".into()),
                    ("person", grace.to_string()),
                    ("group", acme_users.clone()),
                ],
            ),
            (
                members_action(globex),
                vec![("op", "sign-out".into()), ("person", grace.to_string())],
            ),
            (
                groups_action(globex),
                vec![
                    ("op", "rename".into()),
                    ("group", acme_users.clone()),
                    ("name", "Hijacked".into()),
                ],
            ),
        ];
        for (uri, form) in &attempts {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = bob.post_form(uri, &form).await;
            assert!(
                location(&r).contains("?error="),
                "{uri} {form:?} was not refused"
            );
        }
        // Grace is still in Globex's Users, Acme is as it was, with no audit row.
        let _ = globex_users;
        assert_eq!(
            group_of(&mut ada_c, acme, "Alan Turing").await.as_deref(),
            Some("Users")
        );
        assert_eq!(
            group_of(&mut ada_c, acme, "Ada Lovelace").await.as_deref(),
            Some("Administrators")
        );
        assert!(groups(&mut ada_c, acme)
            .await
            .iter()
            .any(|g| g.name == "Users"));
        assert!(audit_actions(&mut ada_c, acme).await.is_empty());
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM invitations").await,
            0,
            "no invitation was sent"
        );
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM sessions WHERE user_id = {grace} AND ended_at IS NOT NULL"
            ))
            .await,
            0
        );

        // A form posted from another site is refused before it runs.
        let r = ada_c
            .call_path(
                &members_action(acme),
                &[("op", "remove"), ("person", &alan.to_string())],
                Some("cross-site"),
                Some("https://evil.example"),
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            group_of(&mut ada_c, acme, "Alan Turing").await.as_deref(),
            Some("Users")
        );
        // Without a session: to the sign-in page.
        let mut nobody = env.client();
        let r = nobody
            .post_form(
                &members_action(acme),
                &[("op", "remove"), ("person", &alan.to_string())],
            )
            .await;
        assert!(
            location(&r).starts_with("/login"),
            "{:?}",
            r.header("location")
        );
    }
);

both_backends!(sensitive_forms_detour_through_confirm_its_you, |env| {
    let (acme, _, [_, grace, ..]) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let admins = group_id(&groups(&mut ada, acme).await, "Administrators");
    let form = [
        ("op", "move"),
        ("person", &grace.to_string()),
        ("group", &admins),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, *v)).collect();
    let r = ada.post_form(&members_action(acme), &form).await;
    let page = format!("/accounts/{acme}/settings/members");
    assert_eq!(location(&r), app::format::step_up_for_change_href(&page));
    assert_eq!(
        group_of(&mut ada, acme, "Grace Hopper").await.as_deref(),
        Some("Users")
    );
    let step_up = ada.get(&location(&r)).await;
    assert!(
        step_up.body.contains("Confirm a change"),
        "{}",
        step_up.body
    );
    ada.step_up(None).await;
    let r = ada.post_form(&members_action(acme), &form).await;
    assert_eq!(location(&r), format!("{page}?done=moved-1"));
    assert_eq!(
        group_of(&mut ada, acme, "Grace Hopper").await.as_deref(),
        Some("Administrators")
    );
});

both_backends!(
    removing_oneself_needs_the_confirmation_and_leads_to_ones_accounts,
    |env| {
        let (acme, _, [ada, grace, ..]) = two_accounts(env).await;
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
        let _ = grace;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let r = c
            .post_form(
                &members_action(acme),
                &[("op", "remove"), ("person", &ada.to_string())],
            )
            .await;
        assert!(location(&r).contains("?error="));
        let page = c.get(&location(&r)).await;
        assert!(
            page.body.contains("You are removing yourself"),
            "{}",
            page.body
        );
        let r = c
            .post_form(
                &members_action(acme),
                &[
                    ("op", "remove"),
                    ("person", &ada.to_string()),
                    ("confirm_self", "yes"),
                ],
            )
            .await;
        assert_eq!(location(&r), "/profile/accounts");
        let r = c
            .call::<api::AccountMembers>(&[("account_id", &acme.to_string())])
            .await;
        assert_eq!(r.status, 403, "no longer hers to administer");
    }
);

/// Posts one of the groups page's forms.
async fn groups_form(c: &mut Client, account: i64, form: &[(&str, &str)]) -> Response {
    c.post_form(&groups_action(account), form).await
}

both_backends!(groups_forms_rename_flag_and_delete, |env| {
    let (acme, _, _) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let page = format!("/accounts/{acme}/settings/groups");
    let r = groups_form(&mut ada, acme, &[("op", "create"), ("name", "Partners")]).await;
    assert_eq!(location(&r), format!("{page}?done=group-created"));
    let partners = group_id(&groups(&mut ada, acme).await, "Partners");
    let r = groups_form(
        &mut ada,
        acme,
        &[
            ("op", "rename"),
            ("group", &partners),
            ("name", "Channel partners"),
        ],
    )
    .await;
    assert_eq!(location(&r), format!("{page}?done=group-renamed"));
    // Who administers the account changes: "Confirm it's you" first.
    let r = groups_form(
        &mut ada,
        acme,
        &[
            ("op", "set-admin"),
            ("group", &partners),
            ("is_admin", "true"),
        ],
    )
    .await;
    assert_eq!(location(&r), app::format::step_up_for_change_href(&page));
    ada.step_up(None).await;
    let r = groups_form(
        &mut ada,
        acme,
        &[
            ("op", "set-admin"),
            ("group", &partners),
            ("is_admin", "true"),
        ],
    )
    .await;
    assert_eq!(location(&r), format!("{page}?done=admin-on"));
    let shown = ada.get(&location(&r)).await;
    assert!(
        shown.body.contains("now administer the account"),
        "{}",
        shown.body
    );
    let g = groups(&mut ada, acme).await;
    assert!(g.iter().any(|g| g.name == "Channel partners" && g.is_admin));
    // A group with members cannot be deleted; the page says why.
    let users = group_id(&g, "Users");
    let r = groups_form(&mut ada, acme, &[("op", "delete"), ("group", &users)]).await;
    let shown = ada.get(&location(&r)).await;
    assert!(shown.body.contains("role=\"alert\""), "{}", shown.body);
    assert!(groups(&mut ada, acme)
        .await
        .iter()
        .any(|g| g.name == "Users"));
    let r = groups_form(&mut ada, acme, &[("op", "delete"), ("group", &partners)]).await;
    assert_eq!(location(&r), format!("{page}?done=group-deleted"));
    assert!(!groups(&mut ada, acme)
        .await
        .iter()
        .any(|g| g.name == "Channel partners"));
    // Something the form handler does not know.
    let r = groups_form(&mut ada, acme, &[("op", "drop-table")]).await;
    let shown = ada.get(&location(&r)).await;
    assert!(shown.body.contains("does not do"), "{}", shown.body);
});

both_backends!(invitation_forms_and_portal_invite, |env| {
    let (acme, _, _) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let users = group_id(&groups(&mut ada, acme).await, "Users");
    let page = format!("/accounts/{acme}/settings/members");
    let r = ada
        .post_form(
            &members_action(acme),
            &[
                ("op", "invite"),
                ("emails", "new@example.org, other@example.org"),
                ("group", &users),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("{page}?done=invited-2-0"));
    let shown = ada.get(&location(&r)).await;
    assert!(shown.body.contains("Sent 2 invitations."), "{}", shown.body);
    let list: MembersPage = json(
        &ada.call::<api::AccountMembers>(&[("account_id", &acme.to_string())])
            .await,
    );
    assert_eq!(list.invitations.len(), 2);
    let id = list.invitations[0].id.to_string();
    let r = ada
        .post_form(
            &members_action(acme),
            &[("op", "resend"), ("invitation", &id)],
        )
        .await;
    assert_eq!(location(&r), format!("{page}?done=resent"));
    let r = ada
        .post_form(
            &members_action(acme),
            &[("op", "revoke"), ("invitation", &id)],
        )
        .await;
    assert_eq!(location(&r), format!("{page}?done=revoked"));

    // The operator's `portal invite`: the same invitation, recorded as the CLI.
    let out = portal::cli::invite(&env.state, acme, &["cli@example.org".to_string()], "Users")
        .await
        .expect("invite");
    assert_eq!(
        out,
        format!("Invited 1 person to \"Users\" in account {acme}")
    );
    let e = portal::cli::invite(&env.state, acme, &["cli@example.org".into()], "Nobody")
        .await
        .expect_err("no such group");
    assert!(e.contains("no group named \"Nobody\""), "{e}");
    let e = portal::cli::invite(&env.state, acme, &["ada@example.com".into()], "Users")
        .await
        .expect_err("already a member");
    assert!(e.contains("already a member of Acme Networks"), "{e}");
    let e = portal::cli::invite(&env.state, acme, &["not an email".into()], "Users")
        .await
        .expect_err("bad address");
    assert!(e.contains("Not valid email addresses"), "{e}");
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_label = 'operator (CLI)' \
             AND subject = 'cli@example.org'"
        )
        .await,
        1
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM invitations WHERE email = 'cli@example.org'")
            .await,
        1,
        "the refused commands changed nothing"
    );
});

both_backends!(
    a_new_link_into_the_administrators_needs_a_fresh_confirmation,
    |env| {
        let (acme, _, _) = two_accounts(env).await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let admins = group_id(&groups(&mut ada, acme).await, "Administrators");
        ada.step_up(None).await;
        let r = ada
            .post_form(
                &members_action(acme),
                &[
                    ("op", "invite"),
                    ("emails", "boss@example.org"),
                    ("group", &admins),
                ],
            )
            .await;
        assert_eq!(
            location(&r),
            format!("/accounts/{acme}/settings/members?done=invited-1-0")
        );
        let list: MembersPage = json(
            &ada.call::<api::AccountMembers>(&[("account_id", &acme.to_string())])
                .await,
        );
        let id = list.invitations[0].id.to_string();
        // Minutes later the confirmation has run out: "Resend" (a fresh link into the
        // administrators) asks for it again and sends nothing meanwhile.
        env.clock.advance(std::time::Duration::from_secs(600));
        let before = env.scalar("SELECT COUNT(*) FROM mail_outbox").await;
        let r = ada
            .post_form(
                &members_action(acme),
                &[("op", "resend"), ("invitation", &id)],
            )
            .await;
        let page = format!("/accounts/{acme}/settings/members");
        assert_eq!(location(&r), app::format::step_up_for_change_href(&page));
        assert_eq!(env.scalar("SELECT COUNT(*) FROM mail_outbox").await, before);
        ada.step_up(None).await;
        let r = ada
            .post_form(
                &members_action(acme),
                &[("op", "resend"), ("invitation", &id)],
            )
            .await;
        assert_eq!(location(&r), format!("{page}?done=resent"));
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM mail_outbox").await,
            before + 1
        );
    }
);

both_backends!(page_numbers_past_the_end_show_the_last_page, |env| {
    let (acme, _, _) = two_accounts(env).await;
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let a = acme.to_string();
    for asked in ["9223372036854775807", "40", "-5"] {
        let page: MembersPage = json(
            &ada.call::<api::AccountMembers>(&[("account_id", &a), ("page", asked)])
                .await,
        );
        assert_eq!((page.page, page.members.len()), (1, 3), "page {asked}");
        let log: AuditPage = json(
            &ada.call::<api::AccountAudit>(&[("account_id", &a), ("page", asked)])
                .await,
        );
        assert_eq!(log.page, 1, "audit page {asked}");
    }
    // The page itself, as a browser asks for it.
    let r = ada
        .get(&format!(
            "/accounts/{acme}/settings/members?page=9223372036854775807"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Members 1–3 of 3"), "{}", r.body);
});

both_backends!(
    people_of_a_proven_domain_are_added_at_once_and_told,
    |env| {
        let (acme, globex, _) = two_accounts(env).await;
        // Acme proves acme.example (the operator's domains count as proven).
        proves_acme_example(env, acme).await;
        env.user("sam@acme.example", "Sam Acme").await;
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let users = group_id(&groups(&mut ada, acme).await, "Users");
        let r = ada
            .post_form(
                &members_action(acme),
                &[
                    ("op", "invite"),
                    ("emails", "sam@acme.example\nnew@acme.example"),
                    ("group", &users),
                ],
            )
            .await;
        // Sam uses the portal and his domain is Acme's: in at once. The new address
        // still gets an invitation (someone new chooses their own password).
        let to = location(&r);
        assert!(to.ends_with("?done=invited-1-1"), "{to}");
        let page = ada.get(&to).await;
        assert!(
            page.body
                .contains("Sent 1 invitation. Added 1 person at once"),
            "{}",
            page.body
        );
        assert_eq!(
            group_of(&mut ada, acme, "Sam Acme").await.as_deref(),
            Some("Users")
        );
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'sam@acme.example' \
                 AND subject = 'You were added to an account'"
            )
            .await,
            1
        );
        // Globex has not proven acme.example: its administrator can only invite Sam.
        let mut bob = env.client();
        bob.sign_in("bob@example.com", PASSWORD).await;
        let globex_users = group_id(&groups(&mut bob, globex).await, "Users");
        let r = bob
            .post_form(
                &members_action(globex),
                &[
                    ("op", "invite"),
                    ("emails", "sam@acme.example"),
                    ("group", &globex_users),
                ],
            )
            .await;
        assert!(location(&r).ends_with("?done=invited-1-0"));
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.account_id = {globex} AND u.email = 'sam@acme.example'"
            ))
            .await,
            0
        );
    }
);

both_backends!(
    help_desk_actions_never_reach_the_administrator_themselves,
    |env| {
        let (acme, _, _) = two_accounts(env).await;
        // Pat administers Acme and is one of its people (Acme proves acme.example).
        proves_acme_example(env, acme).await;
        let pat = env.user("pat@acme.example", "Pat Acme").await;
        env.member(acme, "pat@acme.example", "Administrators").await;
        let (_, secret, _) = crate::mfa::enrolled(env, "pat@acme.example").await;
        env.clock.advance(std::time::Duration::from_secs(600));
        let mut c = env.client();
        c.sign_in("pat@acme.example", PASSWORD).await;
        let code = crate::mfa::code_at_time(&secret, env.now());
        let r = c.call::<api::VerifySignInCode>(&[("code", &code)]).await;
        assert!(r.status < 400, "{}", r.body);
        env.clock.advance(std::time::Duration::from_secs(60));
        let code = crate::mfa::code_at_time(&secret, env.now());
        c.step_up(Some(&code)).await;
        // A crafted form for oneself: refused (one's own MFA goes through the Security
        // section's checks, e.g. an account that requires it).
        for op in ["reset-mfa", "sign-out"] {
            let r = c
                .post_form(
                    &members_action(acme),
                    &[("op", op), ("person", &pat.to_string())],
                )
                .await;
            let shown = c.get(&location(&r)).await;
            assert!(
                shown
                    .body
                    .contains("Help-desk actions are for other people"),
                "{op}: {}",
                shown.body
            );
        }
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM user_mfa WHERE user_id = {pat} AND enabled_at IS NOT NULL"
            ))
            .await,
            1
        );
        assert!(audit_actions(&mut c, acme)
            .await
            .iter()
            .all(|a| a != "MFA reset" && a != "Signed out everywhere"));
    }
);
