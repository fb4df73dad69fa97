//! Sign-in, sessions, sign-out and throttling.

use crate::{both_backends, harness::*};
use app::{models::AccountKind, AppError};
use sha2::{Digest, Sha256};
use std::time::Duration;

both_backends!(
    wrong_password_and_unknown_email_give_one_message_and_no_session,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        for (email, pw) in [
            ("ada@example.com", "wrong password!"),
            ("nobody@example.com", PASSWORD),
            ("ADA@example.com", "also wrong"),
        ] {
            let r = c.sign_in(email, pw).await;
            assert_eq!(
                r.app_error(),
                Some(AppError::BadCredentials),
                "{email}: {}",
                r.body
            );
            assert!(r.header("set-cookie").is_none());
            assert!(c.cookie.is_none());
        }
        assert_eq!(
            AppError::BadCredentials.to_string(),
            "Incorrect email or password"
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM sessions").await, 0);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'sign_in_failed'")
                .await,
            2,
            "failures for a known person are recorded"
        );
    }
);

both_backends!(
    sign_in_sets_a_hardened_cookie_and_stores_only_the_token_hash,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        let r = c.sign_in(" Ada@Example.com ", PASSWORD).await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        let set = r.header("set-cookie").expect("cookie set").to_string();
        assert!(set.starts_with("portal_session="), "{set}");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
            "{set}"
        );
        let token = c
            .cookie
            .clone()
            .expect("cookie")
            .split_once('=')
            .expect("pair")
            .1
            .to_string();
        assert_eq!(token.len(), 43, "256-bit token in base64url");
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        use sqlx::Row;
        let stored: String = sqlx::query("SELECT token_hash FROM sessions")
            .fetch_one(env.state.db.pool())
            .await
            .expect("row")
            .try_get(0)
            .expect("text");
        assert_eq!(stored, hash);
        assert_ne!(stored, token);

        let home = c.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        assert!(home.body.contains("Ada Lovelace"));
        assert_eq!(home.header("cache-control"), Some("no-store"));

        // A new token at every sign-in.
        let first = c.cookie.clone();
        c.sign_in("ada@example.com", PASSWORD).await;
        assert_ne!(first, c.cookie);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
                .await,
            1
        );
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'sign_in'")
                .await,
            2
        );
    }
);

both_backends!(portal_pages_redirect_to_sign_in_and_back_to_next, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    let r = c.get("/profile").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login?next=%2Fprofile"));
    let r = c.get("/").await;
    assert_eq!(r.header("location"), Some("/login"));
    let login = c.get("/login?next=%2Fprofile").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Sign in"));

    let r = c
        .call::<api::SignIn>(&[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "/profile"),
        ])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let location = r.header("location").or(r.header("serverfnredirect"));
    assert_eq!(location, Some("/profile"), "{:?}", r.headers);

    // Off-site destinations are ignored.
    let mut c2 = env.client();
    let r = c2
        .call::<api::SignIn>(&[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ])
        .await;
    let location = r.header("location").or(r.header("serverfnredirect"));
    assert_eq!(location, Some("/"));

    // Signed in, /login sends you on.
    let r = c.get("/login?next=%2Fprofile").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/profile"));
});

both_backends!(sign_out_ends_the_session_in_the_database, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    let old_cookie = c.cookie.clone();
    let r = c.call::<api::SignOut>(&[]).await;
    assert!(r.status < 400, "{}", r.body);
    assert!(r
        .header("set-cookie")
        .is_some_and(|s| s.contains("Max-Age=0")));
    assert!(c.cookie.is_none());
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM sessions WHERE end_reason = 'signed_out' AND ended_at IS NOT NULL").await,
        1
    );
    // The old token no longer works even if a copy of it is replayed.
    c.cookie = old_cookie;
    let r = c.get("/profile").await;
    assert_eq!(r.status, 303);
    let r = c.call::<api::GetViewer>(&[]).await;
    assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
});

both_backends!(sessions_expire_when_idle_and_at_their_lifetime, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    env.clock.advance(Duration::from_secs(59 * 60));
    assert_eq!(c.get("/").await.status, 200);
    // last_seen moved, so another 59 minutes is still fine…
    env.clock.advance(Duration::from_secs(59 * 60));
    assert_eq!(c.get("/").await.status, 200);
    // …but 61 idle minutes end it.
    env.clock.advance(Duration::from_secs(61 * 60));
    assert_eq!(c.get("/").await.status, 303);
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'")
            .await,
        1
    );

    // Absolute lifetime: active every 30 minutes, still ends after 24 hours.
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    for _ in 0..47 {
        env.clock.advance(Duration::from_secs(30 * 60));
        assert_eq!(c.get("/").await.status, 200);
    }
    env.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(c.get("/").await.status, 303);
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'")
            .await,
        2
    );
});

both_backends!(last_seen_is_written_at_most_once_a_minute, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    let t0 = env.now();
    env.clock.advance(Duration::from_secs(30));
    c.get("/").await;
    assert_eq!(env.scalar("SELECT last_seen_at FROM sessions").await, t0);
    env.clock.advance(Duration::from_secs(31));
    c.get("/").await;
    assert_eq!(
        env.scalar("SELECT last_seen_at FROM sessions").await,
        t0 + 61_000
    );
});

both_backends!(
    failed_sign_ins_are_throttled_per_email_and_success_resets,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        for _ in 0..5 {
            let r = c.sign_in("ada@example.com", "wrong password").await;
            assert_eq!(r.app_error(), Some(AppError::BadCredentials));
        }
        // Locked now: even the right password is refused, with a time to come back.
        let r = c.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(
            r.app_error(),
            Some(AppError::Throttled {
                retry_after_secs: 15
            })
        );
        assert!(c.cookie.is_none());
        assert_eq!(
            AppError::Throttled {
                retry_after_secs: 15
            }
            .to_string(),
            "Too many failed sign-in attempts. Try again in 15 seconds."
        );
        // Unknown emails are throttled the same way (no enumeration).
        for _ in 0..5 {
            c.sign_in("nobody@example.com", "x-wrong-password").await;
        }
        let r = c.sign_in("nobody@example.com", "x-wrong-password").await;
        assert!(matches!(r.app_error(), Some(AppError::Throttled { .. })));

        env.clock.advance(Duration::from_secs(16));
        let r = c.sign_in("ada@example.com", PASSWORD).await;
        assert!(r.status < 400, "{}", r.body);
        // The success reset the counter: five more failures before the next delay.
        let mut other = env.client();
        for _ in 0..4 {
            let r = other.sign_in("ada@example.com", "wrong again").await;
            assert_eq!(r.app_error(), Some(AppError::BadCredentials));
        }
    }
);

both_backends!(a_hard_stop_comes_well_before_one_hundred_failures, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    let mut attempts = 0;
    loop {
        let r = c.sign_in("ada@example.com", "wrong password").await;
        match r.app_error() {
            Some(AppError::BadCredentials) => attempts += 1,
            Some(AppError::Throttled { retry_after_secs }) => {
                if retry_after_secs >= 3600 {
                    break;
                }
                env.clock.advance(Duration::from_secs(retry_after_secs));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(attempts < 100);
    }
    assert_eq!(attempts, 20, "hard stop after 20 consecutive failures");
    // The lock holds for the right password too, then lifts after the cool-down.
    let r = c.sign_in("ada@example.com", PASSWORD).await;
    assert!(matches!(r.app_error(), Some(AppError::Throttled { .. })));
    env.clock.advance(Duration::from_secs(3601));
    let r = c.sign_in("ada@example.com", PASSWORD).await;
    assert!(r.status < 400, "{}", r.body);
});

both_backends!(switching_accounts_is_limited_to_ones_own_accounts, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    env.user("grace@example.com", "Grace Hopper").await;
    let acme = env.account("Acme Networks", AccountKind::Vendor).await;
    let north = env
        .account("Northwind Distribution", AccountKind::Distributor)
        .await;
    let globex = env.account("Globex Resellers", AccountKind::Reseller).await;
    env.member(acme, "ada@example.com", "Administrators").await;
    env.member(north, "ada@example.com", "Users").await;
    env.member(globex, "grace@example.com", "Users").await;

    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    let v: app::models::Viewer =
        serde_json::from_str(&c.call::<api::GetViewer>(&[]).await.body).expect("viewer");
    assert_eq!(v.name, "Ada Lovelace");
    assert_eq!(v.memberships.len(), 2);
    assert_eq!(
        v.active_account_id.map(|a| a.get()),
        Some(acme),
        "first account by name"
    );
    assert!(v.memberships[0].is_admin);

    let r = c
        .call::<api::SwitchAccount>(&[("account_id", &north.to_string())])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let v: app::models::Viewer =
        serde_json::from_str(&c.call::<api::GetViewer>(&[]).await.body).expect("viewer");
    assert_eq!(v.active_account_id.map(|a| a.get()), Some(north));

    // Another person's account: refused, nothing changes.
    let r = c
        .call::<api::SwitchAccount>(&[("account_id", &globex.to_string())])
        .await;
    assert_eq!(r.app_error(), Some(AppError::Forbidden));
    assert_eq!(
        env.scalar("SELECT active_account_id FROM sessions WHERE ended_at IS NULL")
            .await,
        north
    );

    // The next sign-in starts in the account used last.
    let mut c2 = env.client();
    c2.sign_in("ada@example.com", PASSWORD).await;
    let v: app::models::Viewer =
        serde_json::from_str(&c2.call::<api::GetViewer>(&[]).await.body).expect("viewer");
    assert_eq!(v.active_account_id.map(|a| a.get()), Some(north));

    // Without a session nothing can be switched.
    let mut anon = env.client();
    let r = anon
        .call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
        .await;
    assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
});
