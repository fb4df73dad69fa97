//! Account MFA policy semantics and their enforcement on the server.

use crate::mfa::{enrolled, invalid, json};
use crate::{both_backends, harness::*};
use app::{
    models::{AccountKind, AccountMfaSettings, MfaPolicy, MfaRequirement, Viewer},
    AppError,
};
use portal::{cli, config::AccountCommand, policy};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

/// Would the account's policy keep out a password session (no code) of this person?
async fn blocks(
    db: &portal::db::Db,
    user_id: i64,
    account: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let s = app::ssr::SessionRef {
        session_id: 0,
        user_id,
        active_account_id: Some(account),
        sso_account_id: None,
        password_verified: true,
        mfa_verified: false,
        passkey_verified: false,
    };
    Ok(policy::access(
        &mut db.acquire().await.expect("a database connection"),
        &s,
        account,
        now,
    )
    .await?
        != policy::Access::Allowed)
}

both_backends!(
    policies_cover_the_right_members_after_the_grace_period,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let north = env
            .account("Northwind Distribution", AccountKind::Distributor)
            .await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(acme, "grace@example.com", "Users").await;
        env.member(north, "grace@example.com", "Users").await;
        let db = &env.state.db;
        let (ada, grace) = (
            env.scalar("SELECT id FROM users WHERE email = 'ada@example.com'")
                .await,
            env.scalar("SELECT id FROM users WHERE email = 'grace@example.com'")
                .await,
        );

        portal::db::policy::set(
            &mut db.acquire().await.expect("a database connection"),
            acme,
            MfaPolicy::Admins,
            app::models::GraceDays::new(0).expect("in range"),
            &portal::db::audit::Actor::Person {
                user_id: ada,
                label: "Ada Lovelace".into(),
                ip: None,
                user_agent: None,
            },
            env.now(),
        )
        .await
        .expect("set");
        assert!(
            blocks(db, ada, acme, env.now()).await.expect("q"),
            "admin covered at once"
        );
        assert!(
            !blocks(db, grace, acme, env.now()).await.expect("q"),
            "users are not covered"
        );

        portal::db::policy::set(
            &mut db.acquire().await.expect("a database connection"),
            acme,
            MfaPolicy::All,
            app::models::GraceDays::new(7).expect("in range"),
            &portal::db::audit::Actor::Person {
                user_id: ada,
                label: "Ada Lovelace".into(),
                ip: None,
                user_agent: None,
            },
            env.now(),
        )
        .await
        .expect("set");
        assert!(
            !blocks(db, grace, acme, env.now()).await.expect("q"),
            "grace period"
        );
        let terms = portal::db::policy::load(
            &mut db.acquire().await.expect("a database connection"),
            acme,
        )
        .await
        .expect("q")
        .expect("account")
        .terms();
        let all = portal::db::policy::MemberFilter {
            without_mfa: false,
            limit: 50,
            offset: 0,
        };
        let members = portal::db::policy::members(
            &mut db.acquire().await.expect("a database connection"),
            acme,
            terms,
            all,
        )
        .await
        .expect("members");
        assert!(members.iter().all(|m| m.covered
            && !m.uses_mfa
            && m.blocked_from == Some(env.now() + 7 * 86_400_000)));
        env.clock.advance(DAY * 7);
        assert!(blocks(db, grace, acme, env.now()).await.expect("q"));
        assert!(
            !blocks(db, grace, north, env.now()).await.expect("q"),
            "other accounts unaffected"
        );

        // Someone joining later gets the grace period from their joining.
        env.user("alan@example.com", "Alan Turing").await;
        env.member(acme, "alan@example.com", "Users").await;
        let alan = env
            .scalar("SELECT id FROM users WHERE email = 'alan@example.com'")
            .await;
        assert!(!blocks(db, alan, acme, env.now()).await.expect("q"));
        env.clock.advance(DAY * 7);
        assert!(blocks(db, alan, acme, env.now()).await.expect("q"));

        // The history is a view of the audit log: each change once, in its words.
        let history = portal::db::audit::history(
            &mut db.acquire().await.expect("a database connection"),
            acme,
            &[portal::db::audit::Action::PolicyChanged],
            50,
        )
        .await
        .expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!(
            history[0].detail,
            "Required for administrators → Required for all users, grace period 7 days"
        );
        assert_eq!(
            history[1].detail,
            "Optional → Required for administrators, grace period 0 days"
        );
        assert_eq!(history[1].actor, "Ada Lovelace");
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'policy_changed'")
                .await,
            2
        );
    }
);

both_backends!(
    a_blocked_member_is_sent_to_mfa_setup_but_keeps_other_accounts,
    |env| {
        env.user("grace@example.com", "Grace Hopper").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let north = env
            .account("Northwind Distribution", AccountKind::Distributor)
            .await;
        env.member(acme, "grace@example.com", "Users").await;
        env.member(north, "grace@example.com", "Users").await;
        portal::db::policy::set(
            &mut *env.conn().await,
            acme,
            MfaPolicy::All,
            app::models::GraceDays::new(2).expect("in range"),
            &portal::db::audit::Actor::Operator,
            env.now(),
        )
        .await
        .expect("set");

        let mut c = env.client();
        c.sign_in("grace@example.com", PASSWORD).await;
        assert_eq!(c.get("/").await.status, 200, "within the grace period");
        env.clock.advance(DAY * 2);
        c.sign_in("grace@example.com", PASSWORD).await; // the old session idled out
        let r = c.get("/").await;
        assert_eq!(r.status, 303);
        assert_eq!(
            r.header("location"),
            Some(format!("/profile/security?mfa_required={acme}&next=%2F").as_str())
        );
        let r = c.get(&format!("/accounts/{acme}/settings/mfa")).await;
        assert_eq!(r.status, 303, "every page of the account");
        assert_eq!(
            c.get("/profile/security").await.status,
            200,
            "the set-up stays reachable"
        );
        assert_eq!(c.get("/profile/general").await.status, 200);

        // Switching to an account that does not require it works.
        c.call::<api::SwitchAccount>(&[("account_id", &north.to_string())])
            .await;
        assert_eq!(c.get("/").await.status, 200);
        c.call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
            .await;
        assert_eq!(c.get("/").await.status, 303);

        // After enabling MFA (the shared enrolment helper) the account opens.
        let (mut c, _, _) = enrolled(env, "grace@example.com").await;
        c.call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
            .await;
        assert_eq!(c.get("/").await.status, 200);
    }
);

both_backends!(the_operator_sets_policies_with_validation, |env| {
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    let set = |policy: &str, grace: i64, account: i64| AccountCommand::SetMfaPolicy {
        account,
        policy: policy.into(),
        grace_days: grace,
        require_passkeys: false,
    };
    let e = cli::account(&env.state, set("sometimes", 0, acme), &mut std::io::empty())
        .await
        .expect_err("policy");
    assert!(e.contains("unknown MFA policy"), "{e}");
    let e = cli::account(&env.state, set("all", 31, acme), &mut std::io::empty())
        .await
        .expect_err("grace");
    assert!(e.contains("between 0 and 30"), "{e}");
    let e = cli::account(&env.state, set("all", 0, acme + 99), &mut std::io::empty())
        .await
        .expect_err("account");
    assert!(e.contains("no account"), "{e}");
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'policy_changed'")
            .await,
        0
    );
    let out = cli::account(&env.state, set("admins", 14, acme), &mut std::io::empty())
        .await
        .expect("set");
    assert!(out.contains("Required for administrators"), "{out}");
    let p = portal::db::policy::load(&mut *env.conn().await, acme)
        .await
        .expect("q")
        .expect("account");
    assert_eq!((p.policy, p.grace.days()), (MfaPolicy::Admins, 14));
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'policy_changed'")
            .await,
        1
    );
});

both_backends!(
    only_administrators_of_the_account_see_and_change_its_policy,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        env.user("alan@example.com", "Alan Turing").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let north = env
            .account("Northwind Distribution", AccountKind::Distributor)
            .await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(acme, "grace@example.com", "Users").await;
        env.member(north, "alan@example.com", "Administrators")
            .await;
        let acme_s = acme.to_string();
        let page = format!("/accounts/{acme}/settings/mfa");

        // A member who is not an administrator, and an administrator of another account.
        for who in ["grace@example.com", "alan@example.com"] {
            let mut c = env.client();
            c.sign_in(who, PASSWORD).await;
            let r = c
                .call::<api::AccountMfaSettings>(&[("account_id", &acme_s)])
                .await;
            assert_eq!(
                (r.status, r.app_error()),
                (403, Some(AppError::Forbidden)),
                "{who}"
            );
            let r = c
                .call::<api::SetAccountMfaPolicy>(&[
                    ("account_id", &acme_s),
                    ("policy", "optional"),
                    ("grace_days", "0"),
                ])
                .await;
            assert_eq!(r.status, 403, "{who}");
            let r = c.get(&page).await;
            assert_eq!(r.status, 403, "{who}: the page itself");
            assert!(!r.body.contains("ada@example.com"), "no member list leaks");
        }
        // Nobody signed in.
        let r = env
            .client()
            .call::<api::AccountMfaSettings>(&[("account_id", &acme_s)])
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'policy_changed'")
                .await,
            0
        );

        // The administrator sees the page and the compliance list.
        let mut ada = env.client();
        ada.sign_in("ada@example.com", PASSWORD).await;
        let r = ada.get(&page).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("Multi-Factor Authentication"));
        assert!(r.body.contains("0 of 2 members use MFA."), "{}", r.body);
        let s: AccountMfaSettings = json(
            &ada.call::<api::AccountMfaSettings>(&[("account_id", &acme_s)])
                .await,
        );
        assert_eq!((s.policy, s.members.len()), (MfaPolicy::Optional, 2));
        assert!(s
            .members
            .iter()
            .all(|m| !m.covered && m.blocked_from.is_none()));
        // An account id that does not exist is refused like any other.
        let r = ada
            .call::<api::AccountMfaSettings>(&[("account_id", &(north + 99).to_string())])
            .await;
        assert_eq!(r.status, 403);
    }
);

async fn set_policy(c: &mut Client, account: i64, policy: &str, grace: &str) -> Response {
    let account = account.to_string();
    c.call::<api::SetAccountMfaPolicy>(&[
        ("account_id", &account),
        ("policy", policy),
        ("grace_days", grace),
    ])
    .await
}

both_backends!(policy_changes_are_validated_guarded_and_recorded, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    env.user("grace@example.com", "Grace Hopper").await;
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    env.member(acme, "ada@example.com", "Administrators").await;
    env.member(acme, "grace@example.com", "Users").await;
    let acme_s = acme.to_string();
    let changes = "SELECT COUNT(*) FROM audit_log WHERE action = 'policy_changed'";
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;

    // Changing the policy needs a recent "Confirm it's you" in this session.
    let r = set_policy(&mut ada, acme, "optional", "").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.app_error(), Some(crate::harness::step_up(false)));
    ada.step_up(None).await;
    // …and it lasts a few minutes.
    env.clock.advance(Duration::from_secs(6 * 60));
    assert_eq!(
        set_policy(&mut ada, acme, "optional", "").await.app_error(),
        Some(crate::harness::step_up(false))
    );
    ada.step_up(None).await;

    // Bad input: a clear message, nothing changes.
    let m = invalid(&set_policy(&mut ada, acme, "sometimes", "0").await);
    assert!(m.contains("three policies"), "{m}");
    // The lockout guard: an administrator without MFA cannot require it of themselves.
    for policy in ["admins", "all"] {
        let m = invalid(&set_policy(&mut ada, acme, policy, "7").await);
        assert!(m.contains("Set up your own first"), "{m}");
    }
    // Saving the policy that is already in force records nothing.
    assert!(set_policy(&mut ada, acme, "optional", "").await.status < 400);
    assert_eq!(env.scalar(changes).await, 0);

    // With MFA on, the administrator can require it.
    let (mut ada, _, _) = enrolled(env, "ada@example.com").await;
    for bad in ["31", "-1", "2.5", "soon"] {
        let m = invalid(&set_policy(&mut ada, acme, "all", bad).await);
        assert!(m.contains("0 to 30"), "{bad}: {m}");
    }
    assert_eq!(env.scalar(changes).await, 0);
    assert!(set_policy(&mut ada, acme, "all", "7").await.status < 400);

    let s: AccountMfaSettings = json(
        &ada.call::<api::AccountMfaSettings>(&[("account_id", &acme_s)])
            .await,
    );
    assert_eq!((s.policy, s.grace_days.days()), (MfaPolicy::All, 7));
    assert_eq!(s.history.len(), 1);
    assert_eq!(s.history[0].by, "Ada Lovelace (ada@example.com)");
    assert_eq!(
        s.history[0].summary,
        "Optional → Required for all users, grace period 7 days"
    );
    assert_eq!(s.members_with_mfa, 1);
    let grace = s
        .members
        .iter()
        .find(|m| m.name == "Grace Hopper")
        .expect("grace");
    assert!(grace.covered && !grace.uses_mfa && !grace.blocked_now);
    assert!(grace.blocked_from.is_some());
    let page = ada.get(&format!("/accounts/{acme}/settings/mfa")).await;
    assert!(
        page.body.contains("1 of 2 members use MFA."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Required for all users"));
    assert!(page.body.contains("Grace Hopper"));
});

both_backends!(members_see_what_each_account_requires_of_them, |env| {
    env.user("grace@example.com", "Grace Hopper").await;
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    let north = env
        .account("Northwind Distribution", AccountKind::Distributor)
        .await;
    env.member(acme, "grace@example.com", "Users").await;
    env.member(north, "grace@example.com", "Users").await;
    portal::db::policy::set(
        &mut *env.conn().await,
        acme,
        MfaPolicy::All,
        app::models::GraceDays::new(3).expect("in range"),
        &portal::db::audit::Actor::Operator,
        env.now(),
    )
    .await
    .expect("set");
    let mut c = env.client();
    c.sign_in("grace@example.com", PASSWORD).await;
    let requirement = |v: &Viewer, id: i64| {
        v.memberships
            .iter()
            .find(|m| m.account_id.get() == id)
            .expect("member")
            .mfa
            .clone()
    };
    let v: Viewer = json(&c.call::<api::GetViewer>(&[]).await);
    assert!(matches!(requirement(&v, acme), MfaRequirement::Due { .. }));
    assert_eq!(requirement(&v, north), MfaRequirement::NotRequired);
    // The grace banner on the account's home page names the deadline.
    c.call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
        .await;
    let home = c.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body
            .contains("Acme Networks requires multi-factor authentication from"),
        "{}",
        home.body
    );

    env.clock.advance(DAY * 3);
    c.sign_in("grace@example.com", PASSWORD).await;
    let v: Viewer = json(&c.call::<api::GetViewer>(&[]).await);
    assert_eq!(requirement(&v, acme), MfaRequirement::Blocked);
    // Switching to the account sends the person to set-up first…
    let r = c
        .call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
        .await;
    let next: Option<String> = json(&r);
    assert_eq!(
        next.as_deref(),
        Some(format!("/profile/security?mfa_required={acme}&next=%2F").as_str())
    );
    // …and not for an account without the requirement.
    let r = c
        .call::<api::SwitchAccount>(&[("account_id", &north.to_string())])
        .await;
    assert_eq!(json::<Option<String>>(&r), None);

    let (mut c, _, _) = enrolled(env, "grace@example.com").await;
    let v: Viewer = json(&c.call::<api::GetViewer>(&[]).await);
    assert_eq!(requirement(&v, acme), MfaRequirement::Met);
    assert!(v.mfa_enabled);
});

both_backends!(the_compliance_list_pages_and_filters_members, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    env.member(acme, "ada@example.com", "Administrators").await;
    for i in 1..=119 {
        let email = format!("m{i:03}@example.com");
        let id = env.user(&email, &format!("Member {i:03}")).await;
        env.member(acme, &email, "Users").await;
        if i % 12 == 0 {
            // Nine members use MFA (only the listing is under test here).
            sqlx::query(
                "INSERT INTO user_mfa (user_id, secret_ciphertext, enabled_at) VALUES ($1, 'x', $2)",
            )
            .bind(id)
            .bind(env.now())
            .execute(env.state.db.pool())
            .await
            .expect("mfa row");
        }
    }
    let acme_s = acme.to_string();
    let mut ada = env.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let mut list = async |page: &str, without: Option<&str>| -> AccountMfaSettings {
        let mut form = vec![("account_id", acme_s.as_str()), ("page", page)];
        if let Some(w) = without {
            form.push(("without_mfa", w));
        }
        json(&ada.call::<api::AccountMfaSettings>(&form).await)
    };

    let first = list("1", None).await;
    assert_eq!(
        (
            first.member_count,
            first.members_with_mfa,
            first.page,
            first.page_count
        ),
        (120, 9, 1, 3)
    );
    assert_eq!(first.members.len(), 50);
    assert_eq!(first.members[0].name, "Ada Lovelace"); // by name
    assert_eq!(first.members[1].name, "Member 001");
    let last = list("3", None).await;
    assert_eq!((last.page, last.members.len()), (3, 20));
    assert_eq!(last.members[19].name, "Member 119");
    // A page past the end shows the last one; the viewer's own state is found on any page.
    let past = list("9", None).await;
    assert_eq!((past.page, past.members.len()), (3, 20));
    assert!(!past.viewer_uses_mfa);
    // Only members without MFA: 111 of them, on three pages.
    let without = list("3", Some("true")).await;
    assert!(without.without_mfa);
    assert_eq!((without.page, without.page_count), (3, 3));
    assert_eq!(without.members.len(), 11);
    assert!(without.members.iter().all(|m| !m.uses_mfa));

    // The page, rendered on the server, shows the same page and its navigation.
    let r = ada
        .get(&format!(
            "/accounts/{acme}/settings/mfa?page=2&without_mfa=1"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("9 of 120 members use MFA."), "{}", r.body);
    assert!(r.body.contains("Members 51–100 of 111"), "{}", r.body);
    assert!(r.body.contains("Previous members") && r.body.contains("Next members"));
    assert!(r.body.contains("Without MFA (111)"));
});

both_backends!(
    the_policy_asks_the_session_for_its_code_not_the_person,
    |env| {
        env.user("grace@example.com", "Grace Hopper").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        env.member(acme, "grace@example.com", "Users").await;
        let (_, secret, _) = enrolled(env, "grace@example.com").await;
        // A session that signed in with the password only, before MFA was turned on.
        let grace = env
            .scalar("SELECT id FROM users WHERE email = 'grace@example.com'")
            .await;
        let (token, _) = portal::db::sessions::create(
            &mut *env.conn().await,
            env.state.rng.as_ref(),
            &env.state.config,
            portal::db::sessions::NewSession {
                user_id: grace,
                active_account_id: Some(acme),
                ip: None,
                user_agent: None,
                factors: portal::sessions::Factors::PASSWORD,
                sso_account_id: None,
            },
            env.now(),
        )
        .await
        .expect("session");
        let mut old = env.client();
        old.cookie = Some(format!("portal_session={}", token.expose()));
        portal::db::policy::set(
            &mut *env.conn().await,
            acme,
            MfaPolicy::All,
            app::models::GraceDays::new(0).expect("in range"),
            &portal::db::audit::Actor::Operator,
            env.now(),
        )
        .await
        .expect("set");
        // Having MFA is not enough: this session has not passed a code.
        let r = old.get("/").await;
        assert_eq!(
            r.header("location"),
            Some("/step-up?next=%2F"),
            "{}",
            r.status
        );
        env.clock.advance(Duration::from_secs(30));
        let code = crate::mfa::code_at_time(&secret, env.now());
        old.step_up(Some(&code)).await;
        assert_eq!(old.get("/").await.status, 200);
    }
);
