//! Account MFA policy semantics and their enforcement on the server.

use crate::{both_backends, harness::*};
use app::models::{AccountKind, MfaEnrolment, MfaPolicy};
use portal::{cli, config::AccountCommand, policy};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

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

        policy::set(
            db,
            acme,
            MfaPolicy::Admins,
            0,
            Some(ada),
            "Ada Lovelace",
            env.now(),
        )
        .await
        .expect("set");
        assert!(
            policy::blocks(db, ada, acme, env.now()).await.expect("q"),
            "admin covered at once"
        );
        assert!(
            !policy::blocks(db, grace, acme, env.now()).await.expect("q"),
            "users are not covered"
        );

        policy::set(
            db,
            acme,
            MfaPolicy::All,
            7,
            Some(ada),
            "Ada Lovelace",
            env.now(),
        )
        .await
        .expect("set");
        assert!(
            !policy::blocks(db, grace, acme, env.now()).await.expect("q"),
            "grace period"
        );
        let members = policy::members(db, acme).await.expect("members");
        assert!(members.iter().all(|m| m.covered
            && !m.uses_mfa
            && m.blocked_from == Some(env.now() + 7 * 86_400_000)));
        env.clock.advance(DAY * 7);
        assert!(policy::blocks(db, grace, acme, env.now()).await.expect("q"));
        assert!(
            !policy::blocks(db, grace, north, env.now())
                .await
                .expect("q"),
            "other accounts unaffected"
        );

        // Someone joining later gets the grace period from their joining.
        env.user("alan@example.com", "Alan Turing").await;
        env.member(acme, "alan@example.com", "Users").await;
        let alan = env
            .scalar("SELECT id FROM users WHERE email = 'alan@example.com'")
            .await;
        assert!(!policy::blocks(db, alan, acme, env.now()).await.expect("q"));
        env.clock.advance(DAY * 7);
        assert!(policy::blocks(db, alan, acme, env.now()).await.expect("q"));

        let history = policy::history(db, acme).await.expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!(
            (history[0].from, history[0].to, history[0].grace_days),
            (MfaPolicy::Admins, MfaPolicy::All, 7)
        );
        assert_eq!(history[1].by, "Ada Lovelace");
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
        policy::set(
            &env.state.db,
            acme,
            MfaPolicy::All,
            2,
            None,
            "Operator (CLI)",
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
        c.call("switch_account", &[("account_id", &north.to_string())])
            .await;
        assert_eq!(c.get("/").await.status, 200);
        c.call("switch_account", &[("account_id", &acme.to_string())])
            .await;
        assert_eq!(c.get("/").await.status, 303);

        // After enabling MFA the account opens.
        c.call("elevate", &[("current_password", PASSWORD)]).await;
        let e: MfaEnrolment = serde_json::from_str(&c.call("start_mfa_enrolment", &[]).await.body)
            .expect("enrolment");
        let b32: String = e.secret_grouped.split_whitespace().collect();
        let secret = totp_rs::Secret::Encoded(b32).to_bytes().expect("base32");
        let code = portal::mfa::code_at(
            totp_rs::Algorithm::SHA1,
            6,
            &secret,
            (env.now() / 1000) as u64,
        );
        assert!(c.call("enable_mfa", &[("code", &code)]).await.status < 400);
        assert_eq!(c.get("/").await.status, 200);
    }
);

both_backends!(the_operator_sets_policies_with_validation, |env| {
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    let set = |policy: &str, grace: i64, account: i64| AccountCommand::SetMfaPolicy {
        account,
        policy: policy.into(),
        grace_days: grace,
    };
    let e = cli::account(&env.state, set("sometimes", 0, acme))
        .await
        .expect_err("policy");
    assert!(e.contains("unknown MFA policy"), "{e}");
    let e = cli::account(&env.state, set("all", 31, acme))
        .await
        .expect_err("grace");
    assert!(e.contains("between 0 and 30"), "{e}");
    let e = cli::account(&env.state, set("all", 0, acme + 99))
        .await
        .expect_err("account");
    assert!(e.contains("no account"), "{e}");
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mfa_policy_changes").await,
        0
    );
    let out = cli::account(&env.state, set("admins", 14, acme))
        .await
        .expect("set");
    assert!(out.contains("Required for administrators"), "{out}");
    let p = policy::load(&env.state.db, acme)
        .await
        .expect("q")
        .expect("account");
    assert_eq!((p.policy, p.grace_days), (MfaPolicy::Admins, 14));
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mfa_policy_changes").await,
        1
    );
});
