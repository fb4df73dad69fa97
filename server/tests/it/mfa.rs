//! Multi-factor authentication end to end through the router, on both databases.

use crate::{both_backends, harness::*};
use app::{
    models::{MfaEnrolment, MfaStatus, RecoveryCodes},
    AppError,
};
use portal::mfa::{code_at, STEP_SECS};
use std::time::Duration;

pub(crate) fn json<T: serde::de::DeserializeOwned>(r: &Response) -> T {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {} {}", r.status, r.body))
}

pub(crate) fn secret_of(e: &MfaEnrolment) -> Vec<u8> {
    let b32: String = e.secret_grouped.split_whitespace().collect();
    totp_rs::Secret::Encoded(b32).to_bytes().expect("base32")
}

/// The authentication code at a given time (milliseconds).
pub(crate) fn code_at_time(secret: &[u8], now_ms: i64) -> String {
    code_at(totp_rs::Algorithm::SHA1, 6, secret, (now_ms / 1000) as u64)
}

fn code_now(env: &TestEnv, secret: &[u8]) -> String {
    code_at(
        totp_rs::Algorithm::SHA1,
        6,
        secret,
        (env.now() / 1000) as u64,
    )
}

pub(crate) fn invalid(r: &Response) -> String {
    match r.app_error() {
        Some(AppError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}: {} {}", r.status, r.body),
    }
}

/// Signs in, enrols with a code and returns (client, secret, recovery codes).
pub(crate) async fn enrolled(env: &TestEnv, email: &str) -> (Client, Vec<u8>, Vec<String>) {
    let mut c = env.client();
    c.sign_in(email, PASSWORD).await;
    assert!(
        c.call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await
            .status
            < 400
    );
    let e: MfaEnrolment = json(&c.call::<api::StartMfaEnrolment>(&[]).await);
    let secret = secret_of(&e);
    let r = c
        .call::<api::EnableMfa>(&[("code", &code_now(env, &secret)), ("sign_out_others", "on")])
        .await;
    let codes: RecoveryCodes = json(&r);
    (c, secret, codes.0)
}

both_backends!(enrolment_needs_a_recent_password_and_a_valid_code, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    let r = c.call::<api::StartMfaEnrolment>(&[]).await;
    assert!(
        r.app_error() == Some(crate::harness::step_up(false)),
        "{} {}",
        r.status,
        r.body
    );
    let m = invalid(
        &c.call::<api::StepUp>(&[("current_password", "not it")])
            .await,
    );
    assert!(m.contains("incorrect"), "{m}");
    assert!(
        c.call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await
            .status
            < 400
    );
    let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
    assert!(!status.enabled && status.elevated_secs > 0 && status.elevated_secs <= 300);

    let e: MfaEnrolment = json(&c.call::<api::StartMfaEnrolment>(&[]).await);
    assert_eq!(e.account_label, "Connect Auth: ada@example.com");
    assert!(e.qr_svg.starts_with("<?xml") || e.qr_svg.contains("<svg"));
    let secret = secret_of(&e);
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert!(
        !format!("{e:?}").contains(&e.secret_grouped),
        "Debug hides the key"
    );
    // The secret is stored encrypted, never in clear.
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT secret_ciphertext FROM user_mfa")
        .fetch_one(env.state.db.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("text");
    let b32: String = e.secret_grouped.split_whitespace().collect();
    assert!(!stored.contains(&b32));

    let m = invalid(&c.call::<api::EnableMfa>(&[("code", "000000")]).await);
    assert!(m.contains("not valid"), "{m}");
    let two_steps_ago = code_at(
        totp_rs::Algorithm::SHA1,
        6,
        &secret,
        (env.now() / 1000) as u64 - 2 * STEP_SECS,
    );
    assert!(
        c.call::<api::EnableMfa>(&[("code", &two_steps_ago)])
            .await
            .status
            >= 400
    );
    let spaced = {
        let code = code_now(env, &secret);
        format!("{} {}", &code[..3], &code[3..])
    };
    let codes: RecoveryCodes = json(&c.call::<api::EnableMfa>(&[("code", &spaced)]).await);
    assert_eq!(codes.0.len(), 10);
    let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
    assert!(status.enabled);
    assert_eq!(status.recovery_codes_left, 10);
    assert_eq!(status.enabled_since.as_deref(), Some("2026-11-24 12:00"));
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM sessions WHERE mfa_verified_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'mfa_enabled'")
            .await,
        1
    );
    // Recovery codes are stored only as hashes.
    let hashes: Vec<String> = sqlx::query("SELECT code_hash FROM recovery_codes")
        .fetch_all(env.state.db.pool())
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.try_get::<String, _>(0).expect("text"))
        .collect();
    assert!(codes.0.iter().all(|c| !hashes.contains(c)));
});

both_backends!(an_unfinished_enrolment_expires_and_changes_nothing, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    c.call::<api::StepUp>(&[("current_password", PASSWORD)])
        .await;
    let e: MfaEnrolment = json(&c.call::<api::StartMfaEnrolment>(&[]).await);
    env.clock.advance(Duration::from_secs(11 * 60));
    let m = invalid(
        &c.call::<api::EnableMfa>(&[("code", &code_now(env, &secret_of(&e)))])
            .await,
    );
    assert!(m.contains("expired"), "{m}");
    let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
    assert!(!status.enabled);
    // Signing in still needs no code.
    let mut fresh = env.client();
    fresh.sign_in("ada@example.com", PASSWORD).await;
    assert!(fresh.cookie.is_some() && fresh.pending.is_none());
});

both_backends!(
    with_mfa_the_password_alone_grants_nothing_and_codes_work_once,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let (_, secret, recovery) = enrolled(env, "ada@example.com").await;
        let used_at_enrolment = code_now(env, &secret);

        let mut c = env.client();
        let r = c.sign_in("ada@example.com", PASSWORD).await;
        assert!(r.status < 400, "{}", r.body);
        let location = r.header("location").or(r.header("serverfnredirect"));
        assert_eq!(location, Some("/login/code?next=%2F"));
        assert!(c.cookie.is_none(), "no session before the code");
        assert!(c.pending.is_some());
        assert_eq!(
            c.get("/").await.status,
            303,
            "the pending state opens no page"
        );
        assert_eq!(
            c.call::<api::GetViewer>(&[]).await.app_error(),
            Some(AppError::Unauthenticated)
        );

        // The code used at enrolment cannot be replayed.
        let m = invalid(
            &c.call::<api::VerifySignInCode>(&[("code", &used_at_enrolment)])
                .await,
        );
        assert!(m.contains("not valid"), "{m}");
        env.clock.advance(Duration::from_secs(STEP_SECS));
        let r = c
            .call::<api::VerifySignInCode>(&[("code", &code_now(env, &secret))])
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert!(c.cookie.is_some() && c.pending.is_none());
        assert_eq!(c.get("/").await.status, 200);

        // A recovery code signs in once.
        let mut d = env.client();
        d.sign_in("ada@example.com", PASSWORD).await;
        let r = d
            .call::<api::VerifySignInCode>(&[
                ("code", &recovery[0].to_uppercase()),
                ("recovery", "on"),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let mut e = env.client();
        e.sign_in("ada@example.com", PASSWORD).await;
        let m = invalid(
            &e.call::<api::VerifySignInCode>(&[("code", &recovery[0]), ("recovery", "on")])
                .await,
        );
        assert!(m.contains("already used"), "{m}");
        let status: MfaStatus = json(&d.call::<api::MfaStatus>(&[]).await);
        assert_eq!(status.recovery_codes_left, 9);

        // The pending state lasts five minutes.
        let mut late = env.client();
        late.sign_in("ada@example.com", PASSWORD).await;
        env.clock.advance(Duration::from_secs(5 * 60 + 1));
        let m = invalid(
            &late
                .call::<api::VerifySignInCode>(&[("code", &code_now(env, &secret))])
                .await,
        );
        assert!(m.contains("expired"), "{m}");
    }
);

both_backends!(a_code_is_accepted_once_across_two_server_instances, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let (_, secret, _) = enrolled(env, "ada@example.com").await;
    env.clock.advance(Duration::from_secs(STEP_SECS));
    let other = env.second_instance().await;
    let mut a = env.client();
    let mut b = Client::for_state(other.clone());
    a.sign_in("ada@example.com", PASSWORD).await;
    b.sign_in("ada@example.com", PASSWORD).await;
    let code = code_now(env, &secret);
    assert!(
        a.call::<api::VerifySignInCode>(&[("code", &code)])
            .await
            .status
            < 400
    );
    let r = b.call::<api::VerifySignInCode>(&[("code", &code)]).await;
    assert!(invalid(&r).contains("not valid"));
    assert!(b.cookie.is_none());
    // And the session made on one instance works on the other.
    let mut on_b = Client::for_state(other.clone());
    on_b.cookie = a.cookie.clone();
    assert_eq!(on_b.get("/").await.status, 200);
    other.db.close().await;
});

both_backends!(wrong_codes_are_throttled_separately_from_passwords, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let (_, secret, _) = enrolled(env, "ada@example.com").await;
    env.clock.advance(Duration::from_secs(STEP_SECS));
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    for _ in 0..5 {
        assert!(
            invalid(&c.call::<api::VerifySignInCode>(&[("code", "000000")]).await)
                .contains("not valid")
        );
    }
    let r = c
        .call::<api::VerifySignInCode>(&[("code", &code_now(env, &secret))])
        .await;
    assert!(
        matches!(r.app_error(), Some(AppError::Throttled { .. })),
        "{}",
        r.body
    );
    assert_eq!(r.status, 429);
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'mfa_code_failed'")
            .await,
        5
    );
    // Passwords are unaffected by the code counter.
    let mut other = env.client();
    let r = other.sign_in("ada@example.com", PASSWORD).await;
    assert!(r.status < 400 && other.pending.is_some(), "{}", r.body);
    // Unlocks by itself after the cool-down.
    env.clock.advance(Duration::from_secs(16));
    let r = c
        .call::<api::VerifySignInCode>(&[("code", &code_now(env, &secret))])
        .await;
    assert!(r.status < 400, "{}", r.body);

    // Hard stop well under 100 failures.
    let mut d = env.client();
    d.sign_in("ada@example.com", PASSWORD).await;
    let mut failures = 0;
    loop {
        let r = d.call::<api::VerifySignInCode>(&[("code", "000000")]).await;
        match r.app_error() {
            Some(AppError::Invalid(_)) => failures += 1,
            Some(AppError::Throttled { retry_after_secs }) if retry_after_secs >= 3600 => break,
            Some(AppError::Throttled { retry_after_secs }) => {
                env.clock.advance(Duration::from_secs(retry_after_secs));
                // Keep the pending sign-in alive.
                d.sign_in("ada@example.com", PASSWORD).await;
            }
            other => panic!("{other:?}"),
        }
        assert!(failures < 100);
    }
    assert_eq!(failures, 20);
});

both_backends!(
    turning_mfa_off_needs_password_and_code_and_respects_account_policy,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let acme = env
            .account("Acme Networks", app::models::AccountKind::Vendor)
            .await;
        env.member(acme, "ada@example.com", "Users").await;
        let (mut c, secret, recovery) = enrolled(env, "ada@example.com").await;
        env.clock.advance(Duration::from_secs(STEP_SECS));

        // Regenerating recovery codes needs a valid code and invalidates the old ones.
        assert!(
            c.call::<api::RegenerateRecoveryCodes>(&[("code", "000000")])
                .await
                .status
                >= 400
        );
        let fresh: RecoveryCodes = json(
            &c.call::<api::RegenerateRecoveryCodes>(&[("code", &code_now(env, &secret))])
                .await,
        );
        assert_eq!(fresh.0.len(), 10);
        assert!(fresh.0.iter().all(|c| !recovery.contains(c)));
        env.clock.advance(Duration::from_secs(STEP_SECS));

        sqlx::query("UPDATE accounts SET mfa_policy = 'all'")
            .execute(env.state.db.pool())
            .await
            .expect("policy");
        let m = invalid(
            &c.call::<api::DisableMfa>(&[
                ("current_password", PASSWORD),
                ("code", &code_now(env, &secret)),
            ])
            .await,
        );
        assert!(m.contains("Acme Networks requires it"), "{m}");
        sqlx::query("UPDATE accounts SET mfa_policy = 'optional'")
            .execute(env.state.db.pool())
            .await
            .expect("policy");
        let m = invalid(
            &c.call::<api::DisableMfa>(&[
                ("current_password", "wrong"),
                ("code", &code_now(env, &secret)),
            ])
            .await,
        );
        assert!(m.contains("incorrect"), "{m}");
        let r = c
            .call::<api::DisableMfa>(&[
                ("current_password", PASSWORD),
                ("code", &code_now(env, &secret)),
                ("sign_out_others", "on"),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
        assert!(!status.enabled);
        assert_eq!(status.recovery_codes_left, 0);
        let mut fresh_client = env.client();
        fresh_client.sign_in("ada@example.com", PASSWORD).await;
        assert!(fresh_client.cookie.is_some(), "no code any more");
    }
);

both_backends!(operators_can_reset_mfa_for_a_lost_device, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let (mut c, _, _) = enrolled(env, "ada@example.com").await;
    let out = portal::cli::user(
        &env.state,
        portal::config::UserCommand::ResetMfa {
            email: "ADA@example.com".into(),
        },
        &mut "".as_bytes(),
    )
    .await
    .expect("reset");
    assert!(out.contains("Turned off"), "{out}");
    assert_eq!(c.get("/").await.status, 303, "sessions ended");
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'mfa_reset'")
            .await,
        1
    );
    let mut fresh = env.client();
    fresh.sign_in("ada@example.com", PASSWORD).await;
    assert!(fresh.cookie.is_some());
    let again = portal::cli::user(
        &env.state,
        portal::config::UserCommand::ResetMfa {
            email: "ada@example.com".into(),
        },
        &mut "".as_bytes(),
    )
    .await
    .expect("idempotent");
    assert!(again.contains("nothing changed"));
    let e = portal::cli::user(
        &env.state,
        portal::config::UserCommand::ResetMfa {
            email: "nobody@example.com".into(),
        },
        &mut "".as_bytes(),
    )
    .await
    .expect_err("unknown");
    assert!(e.contains("no person"));
});

both_backends!(
    the_server_key_is_created_once_and_a_wrong_or_missing_key_stops_the_start,
    |env| {
        use portal::secret_key::{KeyError, SecretKey};
        let dir = tempfile::tempdir().expect("dir");
        let rng = portal::env::OsRandom;
        let db = &env.state.db;
        SecretKey::load(None, dir.path(), db, &rng)
            .await
            .expect("created");
        let path = dir.path().join("secret.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        SecretKey::load(None, dir.path(), db, &rng)
            .await
            .expect("same key again");
        let other = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
        assert!(matches!(
            SecretKey::load(Some(other), dir.path(), db, &rng).await,
            Err(KeyError::WrongKey)
        ));
        assert!(matches!(
            SecretKey::load(Some("short"), dir.path(), db, &rng).await,
            Err(KeyError::BadEnv)
        ));
        std::fs::remove_file(&path).expect("rm");
        let e = SecretKey::load(None, dir.path(), db, &rng)
            .await
            .expect_err("missing");
        assert!(matches!(e, KeyError::Missing(_)));
        assert!(e.to_string().contains("PORTAL_SECRET_KEY"));
    }
);

both_backends!(a_recovery_code_confirms_it_is_you_once, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let (mut c, _, codes) = enrolled(env, "ada@example.com").await;
    // Later, without the phone: the password and a recovery code.
    env.clock.advance(Duration::from_secs(600));
    let with_recovery = [
        ("current_password", PASSWORD),
        ("code", codes[0].as_str()),
        ("recovery", "on"),
    ];
    let r = c.call::<api::StepUp>(&with_recovery).await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
    assert!(status.elevated_secs > 0);
    assert_eq!(status.recovery_codes_left, 9, "the code is used up");
    // It works once; and a recovery code is not taken for an app code.
    env.clock.advance(Duration::from_secs(600));
    let r = c.call::<api::StepUp>(&with_recovery).await;
    assert!(
        matches!(r.app_error(), Some(AppError::Invalid(_))),
        "{} {}",
        r.status,
        r.body
    );
    let r = c
        .call::<api::StepUp>(&[("current_password", PASSWORD), ("code", codes[1].as_str())])
        .await;
    assert!(
        matches!(r.app_error(), Some(AppError::Invalid(_))),
        "{} {}",
        r.status,
        r.body
    );
    let status: MfaStatus = json(&c.call::<api::MfaStatus>(&[]).await);
    assert_eq!((status.elevated_secs, status.recovery_codes_left), (0, 9));
});
