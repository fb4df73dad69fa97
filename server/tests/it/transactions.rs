//! Every multi-write use case is one transaction: when its last write fails, nothing it
//! wrote before stays (on both databases). The failure is injected with a trigger on the
//! table of the last write (`TestEnv::fail_writes`).

use crate::mfa::{code_at_time, enrolled, json};
use crate::{both_backends, harness::*};
use app::models::MfaStatus;
use std::time::Duration;

/// The kinds of security events recorded for the person so far.
async fn events(env: &TestEnv, kind: &str) -> i64 {
    env.scalar(&format!(
        "SELECT COUNT(*) FROM security_events WHERE kind = '{kind}'"
    ))
    .await
}

async fn open_sessions(env: &TestEnv) -> i64 {
    env.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
        .await
}

both_backends!(
    a_password_change_that_fails_at_its_last_write_changes_nothing,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut other = env.client();
        other.sign_in("ada@example.com", PASSWORD).await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let before: String = {
            use sqlx::Row;
            sqlx::query("SELECT password_hash FROM users")
                .fetch_one(env.state.db.pool())
                .await
                .expect("hash")
                .try_get(0)
                .expect("text")
        };
        // The last write of the change ends the other sessions: make it fail.
        env.fail_writes(
            "no_session_ends",
            "sessions",
            "UPDATE",
            "NEW.ended_at IS NOT NULL",
        )
        .await;
        let r = c
            .call::<api::ChangePassword>(&[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase 7"),
                ("confirm_password", "a brand new passphrase 7"),
                ("sign_out_others", "on"),
            ])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        let after: String = {
            use sqlx::Row;
            sqlx::query("SELECT password_hash FROM users")
                .fetch_one(env.state.db.pool())
                .await
                .expect("hash")
                .try_get(0)
                .expect("text")
        };
        assert_eq!(before, after, "the new hash was rolled back");
        assert_eq!(events(env, "password_changed").await, 0);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE subject LIKE '%password%'")
                .await,
            0,
            "no notice for a change that did not happen"
        );
        assert_eq!(open_sessions(env).await, 2);
        // The old password still works.
        let mut again = env.client();
        assert!(again.sign_in("ada@example.com", PASSWORD).await.status < 400);
    }
);

both_backends!(
    a_sign_in_that_fails_at_its_last_write_starts_no_session,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        // The session is written first, then the sign-in event: make the event fail.
        env.fail_writes(
            "no_sign_in_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'sign_in'",
        )
        .await;
        let mut c = env.client();
        let r = c.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(env.scalar("SELECT COUNT(*) FROM sessions").await, 0);
        assert!(r
            .header("set-cookie")
            .is_none_or(|v| !v.contains("portal_session=")));
    }
);

both_backends!(
    enabling_mfa_that_fails_at_its_last_write_leaves_it_off,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut other = env.client();
        other.sign_in("ada@example.com", PASSWORD).await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        c.step_up(None).await;
        let e: app::models::MfaEnrolment = json(&c.call::<api::StartMfaEnrolment>(&[]).await);
        let b32: String = e.secret_grouped.split_whitespace().collect();
        let secret = totp_rs::Secret::Encoded(b32).to_bytes().expect("base32");
        env.fail_writes(
            "no_session_ends",
            "sessions",
            "UPDATE",
            "NEW.ended_at IS NOT NULL",
        )
        .await;
        let r = c
            .call::<api::EnableMfa>(&[
                ("code", &code_at_time(&secret, env.now())),
                ("sign_out_others", "on"),
            ])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM user_mfa WHERE enabled_at IS NOT NULL")
                .await,
            0
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM recovery_codes").await, 0);
        assert_eq!(events(env, "mfa_enabled").await, 0);
        assert_eq!(open_sessions(env).await, 2);
        // The session's token was not rotated: the old cookie still works.
        let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
        assert!(!status.enabled);
    }
);

both_backends!(
    mfa_changes_that_fail_at_their_last_write_change_nothing,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let (mut c, secret, codes) = enrolled(env, "ada@example.com").await;
        let next_code = |env: &TestEnv| {
            env.clock.advance(Duration::from_secs(60));
            code_at_time(&secret, env.now())
        };
        // A second session, with its code.
        let mut other = env.client();
        other.sign_in("ada@example.com", PASSWORD).await;
        let r = other
            .call::<api::VerifySignInCode>(&[("code", &next_code(env))])
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert_eq!(open_sessions(env).await, 2);
        env.fail_writes(
            "no_session_ends",
            "sessions",
            "UPDATE",
            "NEW.ended_at IS NOT NULL",
        )
        .await;
        // New recovery codes, signing out elsewhere: the old codes stay.
        let r = c
            .call::<api::RegenerateRecoveryCodes>(&[
                ("code", &next_code(env)),
                ("sign_out_others", "on"),
            ])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(events(env, "recovery_codes_regenerated").await, 0);
        let left: i64 = env
            .scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL")
            .await;
        assert_eq!(left, codes.len() as i64);
        // Turning MFA off, signing out elsewhere: it stays on.
        let r = c
            .call::<api::DisableMfa>(&[
                ("current_password", PASSWORD),
                ("code", &next_code(env)),
                ("sign_out_others", "on"),
            ])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(events(env, "mfa_disabled").await, 0);
        let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
        assert!(status.enabled);
        assert_eq!(status.recovery_codes_left, codes.len() as i64);
    }
);

both_backends!(
    revoking_a_session_that_fails_at_its_last_write_keeps_it,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut other = env.client();
        other.sign_in("ada@example.com", PASSWORD).await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let other_id = env
            .scalar("SELECT MIN(id) FROM sessions WHERE ended_at IS NULL")
            .await;
        // The session ends first, then the event is recorded: make the event fail.
        env.fail_writes(
            "no_revoke_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'session_revoked'",
        )
        .await;
        let r = c
            .call::<api::RevokeSession>(&[("session_id", &other_id.to_string())])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(open_sessions(env).await, 2);
        assert_eq!(other.call::<api::GetViewer>(&[]).await.status, 200);
        let r = c.call::<api::RevokeOtherSessions>(&[]).await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(open_sessions(env).await, 2);
    }
);

both_backends!(parallel_use_cases_each_commit_their_transaction, |env| {
    const N: usize = 24;
    for i in 0..N {
        env.user(&format!("p{i}@example.com"), &format!("Person {i}"))
            .await;
    }
    // Each writes after reading in its transaction (the sign-in reads whether MFA is on
    // and the account to open, the step-up the session's factors): none may fail for
    // the others running at the same moment.
    let outcomes = at_once(&env.state, N, |mut c, i| async move {
        let signed_in = c.sign_in(&format!("p{i}@example.com"), PASSWORD).await;
        let stepped_up = c
            .call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await;
        (signed_in.status, stepped_up.status, stepped_up.body)
    })
    .await;
    for (i, (signed_in, stepped_up, body)) in outcomes.iter().enumerate() {
        assert!(*signed_in < 400, "sign-in {i}: {signed_in}");
        assert!(*stepped_up < 400, "step-up {i}: {stepped_up} {body}");
    }
    assert_eq!(open_sessions(env).await, N as i64);
    assert_eq!(events(env, "sign_in").await, N as i64);
    assert_eq!(events(env, "step_up").await, N as i64);
});

both_backends!(
    a_code_step_that_fails_at_its_last_write_spends_no_code,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let (_, _, codes) = enrolled(env, "ada@example.com").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        // The code is spent first, the sign-in event is the last write: make it fail.
        env.fail_writes(
            "no_sign_in_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'sign_in'",
        )
        .await;
        let r = c
            .call::<api::VerifySignInCode>(&[("code", &codes[0]), ("recovery", "on")])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        let left = "SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL";
        assert_eq!(
            env.scalar(left).await,
            codes.len() as i64,
            "the code is not spent"
        );
        assert_eq!(events(env, "recovery_code_used").await, 0);
        assert_eq!(env.scalar("SELECT COUNT(*) FROM pending_signins").await, 1);
        assert_eq!(open_sessions(env).await, 1, "only the enrolling session");
    }
);

both_backends!(a_pending_sign_in_ends_once, |env| {
    // Two code steps racing on one pending sign-in both pass their codes; only the one
    // that ends the pending sign-in may start a session (the other is refused).
    let user = env.user("ada@example.com", "Ada Lovelace").await;
    let token = portal::db::mfa::create_pending(
        &mut *env.conn().await,
        &portal::env::OsRandom,
        user,
        env.now(),
    )
    .await
    .expect("pending");
    let (id, _) = portal::db::mfa::resolve_pending(&mut *env.conn().await, &token, env.now())
        .await
        .expect("resolve")
        .expect("live");
    assert!(portal::db::mfa::end_pending(&mut *env.conn().await, id)
        .await
        .expect("end"));
    assert!(!portal::db::mfa::end_pending(&mut *env.conn().await, id)
        .await
        .expect("end"));
});

both_backends!(
    an_email_change_that_fails_at_its_last_write_keeps_the_address,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        // The pending change and its mails are written first, then the event: make the
        // event fail.
        env.fail_writes(
            "no_email_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'email_change_requested'",
        )
        .await;
        let r = c
            .call::<api::ChangeEmail>(&[
                ("new_email", "ada.lovelace@example.com"),
                ("current_password", PASSWORD),
            ])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            1
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM email_changes").await, 0);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE subject LIKE '%email%'")
                .await,
            0,
            "no mail for a change that did not happen"
        );
    }
);

both_backends!(
    a_step_up_or_sign_out_that_fails_at_its_last_write_changes_nothing,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let token_before = c.cookie.clone();
        // Step-up rotates the token and elevates the session, then records the event.
        env.fail_writes(
            "no_step_up_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'step_up'",
        )
        .await;
        let r = c
            .call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(c.cookie, token_before, "no new token was issued");
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM sessions WHERE elevated_until IS NOT NULL")
                .await,
            0
        );
        assert_eq!(
            c.call::<api::GetViewer>(&[]).await.status,
            200,
            "the old token still works"
        );
        // Sign-out ends the session, then records the event.
        env.fail_writes(
            "no_sign_out_events",
            "security_events",
            "INSERT",
            "NEW.kind = 'sign_out'",
        )
        .await;
        let r = c.call::<api::SignOut>(&[]).await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(open_sessions(env).await, 1);
    }
);
