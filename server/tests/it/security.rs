//! CSRF, headers, error hygiene and secrets.

use crate::{both_backends, harness::*};
use app::AppError;

both_backends!(state_changes_from_other_sites_are_refused, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    for (site, origin) in [
        (Some("cross-site"), Some("https://evil.example")),
        (Some("same-site"), Some("http://sub.127.0.0.1:3000")),
        (None, Some("https://evil.example")),
        (None, None),
    ] {
        let r = c
            .call_from::<api::SignIn>(
                &[("email", "ada@example.com"), ("password", PASSWORD)],
                site,
                origin,
            )
            .await;
        assert_eq!(r.status, 403, "{site:?} {origin:?}");
        assert!(r.body.contains("reference"));
        assert!(r.header("set-cookie").is_none());
    }
    assert_eq!(env.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    // An older browser without Sec-Fetch-Site but with the right Origin is fine.
    let r = c
        .call_from::<api::SignIn>(
            &[("email", "ada@example.com"), ("password", PASSWORD)],
            None,
            Some(ORIGIN),
        )
        .await;
    assert!(r.status < 400, "{}", r.body);
});

both_backends!(pages_carry_security_headers_and_a_nonce_csp, |env| {
    let mut c = env.client();
    let r = c.get("/login").await;
    assert_eq!(r.status, 200);
    let csp = r
        .header("content-security-policy")
        .expect("csp")
        .to_string();
    for part in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "'strict-dynamic'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    assert!(nonce.len() >= 16);
    assert!(
        r.body.contains(&format!("nonce=\"{nonce}\"")),
        "inline scripts carry the nonce"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("referrer-policy").is_some());
    assert!(r.header("x-request-id").is_some_and(|id| id.len() == 16));
    assert!(
        r.header("strict-transport-security").is_none(),
        "no HSTS over http"
    );
    // A different nonce per response.
    let again = c.get("/login").await;
    assert_ne!(again.header("content-security-policy"), Some(csp.as_str()));
});

both_backends!(health_and_readiness, |env| {
    let mut c = env.client();
    assert_eq!(c.get("/healthz").await.status, 200);
    assert_eq!(c.get("/readyz").await.status, 200);
    env.state.db.close().await;
    assert_eq!(c.get("/readyz").await.status, 503);
    assert_eq!(c.get("/healthz").await.status, 200);
});

both_backends!(the_mfa_gate_fails_closed_when_its_check_fails, |env| {
    use portal::db::Backend;
    env.user("ada@example.com", "Ada Lovelace").await;
    let acme = env
        .account("Acme Networks", app::models::AccountKind::Vendor)
        .await;
    env.member(acme, "ada@example.com", "Users").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(c.get("/").await.status, 200);
    // A policy this build cannot read (written by a newer version, or by hand past the
    // CHECK constraint): the gate cannot decide, so the account's pages stay shut.
    let mut conn = env.state.db.pool().acquire().await.expect("connection");
    let bypass = match env.state.db.backend() {
        Backend::Sqlite => "PRAGMA ignore_check_constraints = ON",
        Backend::Postgres => "ALTER TABLE accounts DROP CONSTRAINT accounts_mfa_policy_check",
    };
    sqlx::query(bypass)
        .execute(&mut *conn)
        .await
        .expect("bypass");
    sqlx::query("UPDATE accounts SET mfa_policy = 'everyone-v2' WHERE id = $1")
        .bind(acme)
        .execute(&mut *conn)
        .await
        .expect("corrupt the policy");
    drop(conn);
    for page in ["/".to_string(), format!("/accounts/{acme}/settings/mfa")] {
        let r = c.get(&page).await;
        assert_eq!(r.status, 503, "{page}: {}", r.body);
        assert!(
            r.body.contains("temporarily unavailable"),
            "{page}: {}",
            r.body
        );
    }
    // Pages of no account are not the gate's to refuse, but the account list they show
    // decodes the policy strictly: an error with a reference, never "optional".
    let r = c.get("/profile/general").await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("reference"), "{}", r.body);
    // Nor does "which accounts require MFA of me" (what keeps a person from turning it
    // off) read it as "optional".
    let r = c.call::<api::MfaStatus>(&[]).await;
    assert_eq!(r.status, 500, "{}", r.body);
});

both_backends!(internal_errors_show_a_reference_not_internals, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    env.state.db.close().await;
    let r = c.get("/profile").await;
    assert_eq!(r.status, 503);
    let id = r.header("x-request-id").expect("id").to_string();
    assert!(r.body.contains(&id), "{}", r.body);
    for leak in ["sqlx", "pool", "closed", "sqlite", "postgres"] {
        assert!(
            !r.body.to_lowercase().contains(leak),
            "{leak} in {}",
            r.body
        );
    }
    let mut anon = env.client();
    let r = anon.sign_in("ada@example.com", PASSWORD).await;
    match r.app_error() {
        Some(AppError::Internal { request_id }) => {
            assert_eq!(Some(request_id.as_str()), r.header("x-request-id"))
        }
        other => panic!("expected an internal error, got {other:?}: {}", r.body),
    }
});

/// A `tracing` writer that keeps everything written, to search the logs.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

both_backends!(
    no_password_hash_or_token_reaches_logs_or_debug_output,
    |env| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", "a wrong password").await;
        c.sign_in("ada@example.com", PASSWORD).await;
        c.get("/").await;
        c.call::<api::SignOut>(&[]).await;
        let token = c.cookie.clone().unwrap_or_default();
        let record = portal::db::directory::login_record(&mut *env.conn().await, "ada@example.com")
            .await
            .expect("query")
            .expect("record");

        let logs = String::from_utf8_lossy(&captured.0.lock().expect("lock")).into_owned();
        assert!(logs.contains("signed in"), "logs were captured: {logs}");
        let debug = format!(
            "{:?} {:?} {:?} {:?}",
            env.state,
            record,
            app::Secret::new(PASSWORD),
            env.state.config
        );
        for haystack in [&logs, &debug] {
            assert!(!haystack.contains(PASSWORD));
            assert!(!haystack.contains("a wrong password"));
            assert!(!haystack.contains("$argon2id$"));
            if !token.is_empty() {
                assert!(!haystack.contains(&token));
            }
        }
    }
);

both_backends!(
    over_https_cookies_are_secure_host_prefixed_and_hsts_is_sent,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut state = env.state.clone();
        let mut config = (*state.config).clone();
        config.public_origin = "https://portal.example.com".into();
        config.secure_cookies = true;
        state.config = std::sync::Arc::new(config);
        let mut c = Client::for_state(state);
        let r = c
            .call_from::<api::SignIn>(
                &[("email", "ada@example.com"), ("password", PASSWORD)],
                None,
                Some("https://portal.example.com"),
            )
            .await;
        assert!(r.status < 400, "{}", r.body);
        let set = r.header("set-cookie").expect("cookie");
        assert!(set.starts_with("__Host-portal_session="), "{set}");
        assert!(
            set.contains("; Secure") && set.contains("Path=/") && !set.contains("Domain"),
            "{set}"
        );
        assert!(r
            .header("strict-transport-security")
            .is_some_and(|h| h.contains("max-age=")));
        let home = c.get("/").await;
        assert_eq!(home.status, 200, "the __Host- cookie is read back");
        // The http origin is not the public origin any more.
        let r = c.call_from::<api::SignOut>(&[], None, Some(ORIGIN)).await;
        assert_eq!(r.status, 403);
    }
);

/// 40 sign-ins at once; `right` is the index of the one with the right password.
async fn parallel_sign_ins(env: &TestEnv, email: &str, right: usize) -> Vec<u16> {
    at_once(&env.state, 40, |mut c, i| {
        let email = email.to_string();
        async move {
            let pw = if i == right {
                PASSWORD
            } else {
                "wrong password!!"
            };
            c.sign_in(&email, pw).await.status
        }
    })
    .await
}

both_backends!(
    a_lock_records_one_throttled_event_and_old_counters_are_purged,
    |env| {
        use std::time::Duration;
        env.user("ada@example.com", "Ada Lovelace").await;
        let throttled = "SELECT COUNT(*) FROM security_events WHERE kind = 'sign_in_throttled'";
        let mut c = env.client();
        for _ in 0..5 {
            assert_eq!(
                c.sign_in("ada@example.com", "wrong password!!")
                    .await
                    .status,
                401
            );
        }
        // Locked: every further try is refused, and the refusals record one event.
        for _ in 0..10 {
            assert_eq!(c.sign_in("ada@example.com", PASSWORD).await.status, 429);
        }
        assert_eq!(env.scalar(throttled).await, 1);
        // The next lock window (after one more failure) records one more.
        env.clock.advance(Duration::from_secs(16));
        assert_eq!(
            c.sign_in("ada@example.com", "wrong password!!")
                .await
                .status,
            401
        );
        for _ in 0..5 {
            assert_eq!(c.sign_in("ada@example.com", PASSWORD).await.status, 429);
        }
        assert_eq!(env.scalar(throttled).await, 2);
        // A day after the last failure, with no lock left, the counters are purged.
        assert!(env.scalar("SELECT COUNT(*) FROM signin_throttle").await > 0);
        env.clock.advance(Duration::from_secs(25 * 3600));
        portal::profile::purge_history(&env.state)
            .await
            .expect("purge");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM signin_throttle").await, 0);
        assert!(c.sign_in("ada@example.com", PASSWORD).await.status < 400);
    }
);

both_backends!(
    a_full_hashing_queue_refuses_at_once_and_counts_nothing,
    |env| {
        // One hashing thread and one waiting place, at the production cost: of 20
        // sign-ins at once (20 different emails, so no email throttle intervenes), most
        // find the queue full.
        let mut state = env.state.clone();
        state.passwords = portal::passwords::Passwords::with_limits(
            std::sync::Arc::new(portal::env::OsRandom),
            portal::passwords::owasp_params(),
            1,
            1,
        )
        .expect("passwords");
        let results = at_once(&state, 20, |mut c, i| async move {
            let r = c
                .sign_in(&format!("nobody{i}@example.com"), "wrong password!!")
                .await;
            (
                r.status,
                r.app_error(),
                r.header("retry-after").map(str::to_string),
            )
        })
        .await;
        let mut busy = 0;
        let mut checked = 0;
        for result in results {
            match result {
                (429, Some(AppError::Busy { retry_after_secs }), retry) => {
                    busy += 1;
                    assert_eq!(retry, Some(retry_after_secs.to_string()));
                    assert!(AppError::Busy { retry_after_secs }
                        .to_string()
                        .starts_with("Too many sign-in attempts right now. Try again in"));
                }
                (401, Some(AppError::BadCredentials), _) => checked += 1,
                other => panic!("{other:?}"),
            }
        }
        // (Typically 18 and 2; the exact split depends on timing.)
        assert!(
            busy >= 1 && checked >= 1,
            "{busy} refused, {checked} checked"
        );
        // A refused attempt was never checked, so it counts as no failure.
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM signin_throttle WHERE scope = 'email'")
                .await,
            checked
        );
    }
);

both_backends!(
    parallel_password_rechecks_get_no_more_tries_than_sequential,
    |env| {
        // Someone holding Ada's session guesses her password at "Confirm it's you" (the
        // check behind every sensitive change), 40 times at once.
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let cookie = c.cookie.clone();
        let statuses = at_once(&env.state, 40, |mut c, _| {
            c.cookie = cookie.clone();
            async move {
                c.call::<api::StepUp>(&[("current_password", "wrong password!!")])
                    .await
                    .status
            }
        })
        .await;
        let checked = statuses.iter().filter(|s| **s != 429).count();
        assert!(checked <= 5, "{checked} were checked: {statuses:?}");
        assert!(
            statuses.iter().all(|s| [422, 429].contains(s)),
            "{statuses:?}"
        );
        // The right password is refused too while the lock lasts.
        let r = c
            .call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await;
        assert!(
            matches!(r.app_error(), Some(AppError::Throttled { .. })),
            "{}",
            r.body
        );
    }
);

both_backends!(
    parallel_guessing_gets_no_more_tries_than_sequential,
    |env| {
        // An attacker alone: 40 wrong passwords at once get the 5 free tries.
        env.user("ada@example.com", "Ada Lovelace").await;
        let statuses = parallel_sign_ins(env, "ada@example.com", usize::MAX).await;
        let checked = statuses.iter().filter(|s| **s != 429).count();
        assert!(
            checked <= 5,
            "{checked} attempts were checked: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [401, 429].contains(s)),
            "{statuses:?}"
        );
        let failures = env
            .scalar("SELECT MAX(failures) FROM signin_throttle WHERE scope = 'email'")
            .await;
        assert!(failures <= 5, "{failures}");
        // A flood of refusals records one event per lock window, not one per attempt.
        assert!(
            env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'sign_in_throttled'")
                .await
                <= 1
        );

        // With the right password among them: the attempts behave as some sequential
        // order of them does. The right one is checked only if it was reserved within
        // the free tries (so after at most 4 failures); its success then forgets those,
        // as a success does sequentially, and at most 5 more are checked after it.
        env.user("bob@example.com", "Bob Example").await;
        let statuses = parallel_sign_ins(env, "bob@example.com", 20).await;
        let failed = statuses.iter().filter(|s| **s == 401).count();
        let signed_in = statuses.iter().filter(|s| [200, 303].contains(*s)).count();
        assert!(
            statuses.iter().all(|s| [200, 303, 401, 429].contains(s)),
            "{statuses:?}"
        );
        match signed_in {
            0 => assert!(failed <= 5, "{failed} failures checked: {statuses:?}"),
            1 => assert!(failed <= 9, "{failed} failures checked: {statuses:?}"),
            n => panic!("{n} successes: {statuses:?}"),
        }
    }
);

both_backends!(
    parallel_code_guesses_get_no_more_tries_than_sequential,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let (_, _, _) = crate::mfa::enrolled(env, "ada@example.com").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let pending = c.pending.clone().expect("code step");
        let statuses = at_once(&env.state, 40, |mut c, _| {
            c.pending = Some(pending.clone());
            async move {
                c.call::<api::VerifySignInCode>(&[("code", "000000")])
                    .await
                    .status
            }
        })
        .await;
        let checked = statuses.iter().filter(|s| **s != 429).count();
        assert!(checked <= 5, "{checked} codes were checked: {statuses:?}");
    }
);

both_backends!(a_success_keeps_failures_counted_meanwhile, |env| {
    use portal::db::throttle::{release, reserve, Reserve, Scope};
    let db = &env.state.db;
    let now = env.now();
    let Reserve::Granted(mine) = reserve(
        &mut db.acquire().await.expect("a database connection"),
        Scope::Email,
        "ada@example.com",
        now,
    )
    .await
    .expect("reserve") else {
        panic!("locked")
    };
    // A parallel wrong attempt is counted while mine is being checked…
    let Reserve::Granted(_theirs) = reserve(
        &mut db.acquire().await.expect("a database connection"),
        Scope::Email,
        "ada@example.com",
        now,
    )
    .await
    .expect("reserve") else {
        panic!("locked")
    };
    // …and my success forgets only what came before it, mine included.
    release(
        &mut db.acquire().await.expect("a database connection"),
        &mine,
    )
    .await
    .expect("release");
    assert_eq!(
        env.scalar("SELECT failures FROM signin_throttle WHERE scope = 'email'")
            .await,
        1
    );
});

both_backends!(oversized_bodies_are_refused_with_413, |env| {
    let mut c = env.client();
    let big = "x".repeat(portal::web::body_limit::MAX_BODY_BYTES + 10);
    let r = c
        .call::<api::SignIn>(&[("email", "a@example.com"), ("password", &big)])
        .await;
    assert_eq!(r.status, 413);
});
