//! The profile sections: each server function acts only on the signed-in person.

use crate::{both_backends, harness::*};
use app::{
    models::{AccountKind, GeneralSettings, SecurityEventInfo, SessionStatus, SessionsPage},
    AppError,
};
use std::time::Duration;

fn json<T: serde::de::DeserializeOwned>(r: &Response) -> T {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {} {}", r.status, r.body))
}

fn general(
    name: &str,
    tz: &str,
    date: &str,
    time: &str,
    news: bool,
) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("name", name.to_string()),
        ("time_zone", tz.to_string()),
        ("date_format", date.to_string()),
        ("time_format", time.to_string()),
    ];
    if news {
        v.push(("news_opt_in", "on".into()));
    }
    v
}

async fn save(c: &mut Client, form: &[(&'static str, String)]) -> Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.call::<api::SaveGeneral>(&pairs).await
}

both_backends!(general_settings_save_validate_and_format_times, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    let s: GeneralSettings = json(&c.call::<api::GeneralSettings>(&[]).await);
    assert_eq!(s.name, "Ada Lovelace");
    assert_eq!(s.preferences.time_zone, "UTC");
    assert!(!s.preferences_saved);
    assert_eq!(s.now_formatted, "2026-11-24 12:00");

    let r = save(
        &mut c,
        &general("  Ada King  ", "America/New_York", "mdy", "12h", true),
    )
    .await;
    assert!(r.status < 400, "{}", r.body);
    let s: GeneralSettings = json(&c.call::<api::GeneralSettings>(&[]).await);
    assert_eq!(s.name, "Ada King");
    assert!(s.preferences_saved && s.preferences.news_opt_in);
    assert_eq!(
        s.now_formatted, "11/24/2026 7:00 AM",
        "formatted on the server in the person's zone"
    );

    // Invalid values: a specific message, nothing changes.
    for (form, message) in [
        (
            general("   ", "Europe/Paris", "iso", "24h", false),
            "cannot be empty",
        ),
        (
            general(&"x".repeat(101), "Europe/Paris", "iso", "24h", false),
            "at most 100",
        ),
        (
            general("Ada", "Mars/Olympus", "iso", "24h", false),
            "not a time zone",
        ),
        (
            general("Ada", "Europe/Paris", "yyyy", "24h", false),
            "date formats",
        ),
        (
            general("Ada", "Europe/Paris", "iso", "25h", false),
            "24-hour or 12-hour",
        ),
    ] {
        let r = save(&mut c, &form).await;
        assert_eq!(r.status, 422);
        match r.app_error() {
            Some(AppError::Invalid(m)) => assert!(m.contains(message), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    let s: GeneralSettings = json(&c.call::<api::GeneralSettings>(&[]).await);
    assert_eq!(s.name, "Ada King");
    assert_eq!(s.preferences.time_zone, "America/New_York");

    // Sessions and activity use the person's settings too.
    let page: SessionsPage = json(&c.call::<api::ListSessions>(&[("page", "1")]).await);
    assert_eq!(page.sessions[0].signed_in, "11/24/2026 7:00 AM");
});

both_backends!(
    changing_email_needs_the_password_and_a_free_valid_address,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let cases = [
            ("not-an-email", PASSWORD, "not a valid email"),
            (
                "ada.new@example.com",
                "wrong password",
                "current password is incorrect",
            ),
            ("GRACE@example.com", PASSWORD, "already used"),
        ];
        for (email, pw, message) in cases {
            let r = c
                .call::<api::ChangeEmail>(&[("new_email", email), ("current_password", pw)])
                .await;
            match r.app_error() {
                Some(AppError::Invalid(m)) => assert!(m.contains(message), "{m}"),
                other => panic!("{email}: {other:?}"),
            }
        }
        let r = c
            .call::<api::ChangeEmail>(&[
                ("new_email", "ada.new@example.com"),
                ("current_password", PASSWORD),
            ])
            .await;
        assert!(r.status < 400, "{}", r.body);
        // Not changed yet: the new address proves itself by its link (see recovery.rs).
        let mut fresh = env.client();
        assert!(fresh.sign_in("ada@example.com", PASSWORD).await.status < 400);
        let r = env.client().sign_in("ada.new@example.com", PASSWORD).await;
        assert_eq!(r.app_error(), Some(AppError::BadCredentials));
    }
);

both_backends!(
    changing_the_password_ends_other_sessions_and_the_old_password,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let mut here = env.client();
        let mut elsewhere = env.client();
        here.sign_in("ada@example.com", PASSWORD).await;
        elsewhere.sign_in("ada@example.com", PASSWORD).await;
        let change = |current: &'static str, new: &'static str, confirm: &'static str| {
            vec![
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
                ("sign_out_others", "on"),
            ]
        };
        for (form, message) in [
            (
                change(PASSWORD, "a brand new passphrase", "a different passphrase"),
                "do not match",
            ),
            (change(PASSWORD, "short", "short"), "at least 8"),
            (change(PASSWORD, "iloveyou", "iloveyou"), "too common"),
            (
                change(PASSWORD, "ada@example.com", "ada@example.com"),
                "email",
            ),
            (
                change(
                    "wrong current",
                    "a brand new passphrase",
                    "a brand new passphrase",
                ),
                "incorrect",
            ),
        ] {
            let r = here.call::<api::ChangePassword>(&form).await;
            match r.app_error() {
                Some(AppError::Invalid(m)) => assert!(m.contains(message), "{m}"),
                other => panic!("{message}: {other:?}"),
            }
        }
        assert_eq!(elsewhere.get("/").await.status, 200, "nothing changed yet");
        let r = here
            .call::<api::ChangePassword>(&change(
                PASSWORD,
                "a brand new passphrase",
                "a brand new passphrase",
            ))
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert_eq!(here.get("/").await.status, 200, "this session stays");
        assert_eq!(
            elsewhere.get("/").await.status,
            303,
            "the other session ended"
        );
        assert_eq!(
            env.client()
                .sign_in("ada@example.com", PASSWORD)
                .await
                .app_error(),
            Some(AppError::BadCredentials)
        );
        assert!(
            env.client()
                .sign_in("ada@example.com", "a brand new passphrase")
                .await
                .status
                < 400
        );
        let events: Vec<SecurityEventInfo> = json(&here.call::<api::SecurityActivity>(&[]).await);
        assert!(events.iter().any(|e| e.what == "Password changed"));
    }
);

both_backends!(
    sessions_list_and_sign_out_elsewhere_only_for_ones_own_sessions,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        let mut a1 = env.client();
        let mut a2 = env.client();
        let mut a3 = env.client();
        let mut g = env.client();
        a1.sign_in("ada@example.com", PASSWORD).await;
        env.clock.advance(Duration::from_secs(60));
        a2.sign_in("ada@example.com", PASSWORD).await;
        env.clock.advance(Duration::from_secs(60));
        a3.sign_in("ada@example.com", PASSWORD).await;
        g.sign_in("grace@example.com", PASSWORD).await;

        let page: SessionsPage = json(&a3.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(page.total, 3, "only Ada's sessions");
        assert_eq!(page.active_others, 2);
        assert!(page.sessions[0].current, "newest first, and it is this one");
        assert_eq!(page.sessions[0].device, "Chrome 140 on Linux");
        let a2_id = page.sessions[1].id;
        let grace: SessionsPage = json(&g.call::<api::ListSessions>(&[("page", "1")]).await);
        let grace_id = grace.sessions[0].id;

        // Grace cannot end Ada's session, and Ada cannot end Grace's.
        let r = g
            .call::<api::RevokeSession>(&[("session_id", &a2_id.to_string())])
            .await;
        assert!(
            matches!(r.app_error(), Some(AppError::Invalid(_))),
            "{}",
            r.body
        );
        assert_eq!(a2.get("/").await.status, 200);
        let r = a3
            .call::<api::RevokeSession>(&[("session_id", &grace_id.to_string())])
            .await;
        assert!(matches!(r.app_error(), Some(AppError::Invalid(_))));
        assert_eq!(g.get("/").await.status, 200);
        // The current session is ended with "Sign out", not from the list.
        let current = page.sessions[0].id.to_string();
        assert!(
            a3.call::<api::RevokeSession>(&[("session_id", &current)])
                .await
                .status
                >= 400
        );

        let r = a3
            .call::<api::RevokeSession>(&[("session_id", &a2_id.to_string())])
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert_eq!(
            a2.get("/").await.status,
            303,
            "a revoked session stops at its next request"
        );
        let page: SessionsPage = json(&a3.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(page.sessions[1].status, SessionStatus::Revoked);
        assert!(page.sessions[1].ended.is_some());

        let r = a3.call::<api::RevokeOtherSessions>(&[]).await;
        assert_eq!(r.body, "1");
        assert_eq!(a1.get("/").await.status, 303);
        assert_eq!(a3.get("/").await.status, 200);
        assert_eq!(
            g.get("/").await.status,
            200,
            "other people's sessions are untouched"
        );

        // Signed out and expired sessions show as such.
        a3.call::<api::SignOut>(&[]).await;
        let mut a4 = env.client();
        a4.sign_in("ada@example.com", PASSWORD).await;
        let page: SessionsPage = json(&a4.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(page.sessions[1].status, SessionStatus::SignedOut);
        let mut a5 = env.client();
        a5.sign_in("ada@example.com", PASSWORD).await;
        env.clock.advance(Duration::from_secs(59 * 60));
        a5.get("/").await;
        env.clock.advance(Duration::from_secs(30 * 60));
        let page: SessionsPage = json(&a5.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(
            page.sessions[1].status,
            SessionStatus::Expired,
            "a4 idled out"
        );
    }
);

both_backends!(
    sessions_are_paginated_and_purged_after_the_retention_period,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        for _ in 0..25 {
            let mut c = env.client();
            c.sign_in("ada@example.com", PASSWORD).await;
            c.call::<api::SignOut>(&[]).await;
            env.clock.advance(Duration::from_secs(60));
        }
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let p1: SessionsPage = json(&c.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!((p1.total, p1.page_count, p1.sessions.len()), (26, 2, 20));
        let p2: SessionsPage = json(&c.call::<api::ListSessions>(&[("page", "2")]).await);
        assert_eq!(p2.sessions.len(), 6);
        assert!(p2
            .sessions
            .iter()
            .all(|s| !p1.sessions.iter().any(|t| t.id == s.id)));

        env.clock.advance(Duration::from_secs(92 * 86_400));
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let (sessions, events) = portal::profile::purge_history(&env.state)
            .await
            .expect("purge");
        assert_eq!(sessions, 26);
        assert!(events >= 50);
        let p: SessionsPage = json(&c.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(p.total, 1, "only the new session is left");
    }
);

both_backends!(
    deleting_ones_account_refuses_the_last_admin_then_removes_everything,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(acme, "grace@example.com", "Users").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;
        let mut other = env.client();
        other.sign_in("ada@example.com", PASSWORD).await;

        let del = |pw: &'static str, email: &'static str| {
            vec![("current_password", pw), ("confirm_email", email)]
        };
        for (form, message) in [
            (del(PASSWORD, "someone@example.com"), "Type your email"),
            (del("wrong password", "ada@example.com"), "incorrect"),
            (
                del(PASSWORD, "ada@example.com"),
                "only administrator of Acme Networks",
            ),
        ] {
            match c.call::<api::DeleteAccount>(&form).await.app_error() {
                Some(AppError::Invalid(m)) => assert!(m.contains(message), "{m}"),
                other => panic!("{message}: {other:?}"),
            }
        }
        assert_eq!(env.scalar("SELECT COUNT(*) FROM users").await, 2);

        // With a second administrator the deletion goes through.
        env.user("alan@example.com", "Alan Turing").await;
        env.member(acme, "alan@example.com", "Administrators").await;
        let r = c
            .call::<api::DeleteAccount>(&del(PASSWORD, " ADA@example.com "))
            .await;
        assert!(r.status < 400, "{}", r.body);
        assert!(r
            .header("set-cookie")
            .is_some_and(|s| s.contains("Max-Age=0")));
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM users WHERE email_normalized = 'ada@example.com'")
                .await,
            0
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM memberships").await, 2);
        assert_eq!(env.scalar("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com'").await, 0);
        assert_eq!(other.get("/").await.status, 303, "every session ended");
        assert_eq!(
            env.client()
                .sign_in("ada@example.com", PASSWORD)
                .await
                .app_error(),
            Some(AppError::BadCredentials)
        );
        // The email can be used again.
        env.user("ada@example.com", "Ada Again").await;
    }
);

both_backends!(profile_functions_need_a_session, |env| {
    let mut anon = env.client();
    for (endpoint, form) in [
        (api::GeneralSettings::PATH, vec![]),
        (api::ListSessions::PATH, vec![("page", "1")]),
        (api::RevokeOtherSessions::PATH, vec![]),
        (api::SecurityActivity::PATH, vec![]),
        (
            api::ChangePassword::PATH,
            vec![
                ("current_password", "x"),
                ("new_password", "y"),
                ("confirm_password", "y"),
            ],
        ),
    ] {
        let r = anon
            .call_path(endpoint, &form, Some("same-origin"), Some(ORIGIN))
            .await;
        assert_eq!(
            r.app_error(),
            Some(AppError::Unauthenticated),
            "{endpoint}: {}",
            r.body
        );
        assert_eq!(r.status, 401);
    }
});
