//! Mailed links through a real SMTP server: a forgotten password (the link, the code step
//! for people with MFA, the end of every session, no enumeration), the proven email
//! change (confirmation link to the new address, "If this wasn't you" to the old one),
//! and the MFA policy notices with their reminders; on both databases.

use crate::{both_backends, harness::*, mfa::code_at_time};
use app::AppError;
use portal::mail::deliver_due;
use std::time::Duration;

/// A mail's text with quoted-printable soft breaks and escapes undone.
fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.clone().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                out.push(char::from(b));
                chars.next();
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The token of the first link to `path` in `mail`.
fn token_in(mail: &str, path: &str) -> String {
    let text = decoded(mail);
    let start = text
        .find(&format!("{ORIGIN}{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in {text}"));
    let rest = &text[start + ORIGIN.len() + path.len() + "?token=".len()..];
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Waits for the reset request's background work to write its mails.
async fn outbox_holds(env: &TestEnv, n: i64) {
    for _ in 0..200 {
        if env.scalar("SELECT COUNT(*) FROM mail_outbox").await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox never held {n} mail(s)");
}

fn mail_to<'a>(mails: &'a [String], to: &str, subject: &str) -> &'a String {
    mails
        .iter()
        .find(|m| m.contains(&format!("To: {to}")) && m.contains(&format!("Subject: {subject}")))
        .unwrap_or_else(|| panic!("no mail to {to} about {subject:?} in {mails:#?}"))
}

fn invalid(r: &Response) -> String {
    match r.app_error() {
        Some(AppError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}: {} {}", r.status, r.body),
    }
}

async fn ask_reset(c: &mut Client, email: &str) -> Response {
    c.call::<api::RequestPasswordReset>(&[("email", email)])
        .await
}

async fn reset(c: &mut Client, token: &str, new: &str, code: Option<&str>) -> Response {
    let mut form = vec![
        ("token", token),
        ("new_password", new),
        ("confirm_password", new),
    ];
    form.extend(code.map(|c| ("code", c)));
    c.call::<api::ResetPassword>(&form).await
}

const NEW_PASSWORD: &str = "a fresh start in december";

both_backends!(a_forgotten_password_is_reset_by_mail, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    // A session somewhere (perhaps the thief's): the reset ends it.
    let mut elsewhere = Client::for_state(portal.clone());
    elsewhere.sign_in("ada@example.com", PASSWORD).await;
    let mut c = Client::for_state(portal.clone());
    // A few wrong passwords first: the reset clears the counter.
    for _ in 0..3 {
        c.sign_in("ada@example.com", "not my password").await;
    }
    let r = ask_reset(&mut c, "Ada@Example.com").await;
    assert!(r.status < 400, "{}", r.body);
    outbox_holds(env, 1).await;
    // Waiting, the link is sealed under the server key: the database does not show it.
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE sealed = 1 AND text_body NOT LIKE '%reset-password%'")
            .await,
        1
    );
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    let mail = mail_to(&mails, "ada@example.com", "Reset your password");
    assert!(mail.contains("Hello Ada Lovelace"), "{mail}");
    let token = token_in(mail, "/reset-password");
    // Delivered, its body is gone from the outbox.
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE sealed = 1 AND text_body = '' AND html_body = ''")
            .await,
        1
    );
    // The link's page, in any browser.
    let mut browser = Client::for_state(portal.clone());
    let page = browser.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ada@example.com"), "{}", page.body);
    assert!(
        !page.body.contains("Authentication code"),
        "no MFA, no code"
    );
    // The Security section's rules.
    let r = browser
        .call::<api::ResetPassword>(&[
            ("token", &token),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", "something else entirely"),
        ])
        .await;
    assert!(invalid(&r).contains("do not match"));
    let r = reset(&mut browser, &token, "password123", None).await;
    assert!(!invalid(&r).is_empty());
    let r = reset(&mut browser, &token, NEW_PASSWORD, None).await;
    assert!(r.status < 400, "{}", r.body);
    assert_eq!(r.header("location"), Some("/login?reset=1"));
    // Every session ended; the old password is gone, the new one works.
    let r = elsewhere.call::<api::GetViewer>(&[]).await;
    assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
    let r = Client::for_state(portal.clone())
        .sign_in("ada@example.com", PASSWORD)
        .await;
    assert_eq!(r.app_error(), Some(AppError::BadCredentials));
    assert!(
        Client::for_state(portal.clone())
            .sign_in("ada@example.com", NEW_PASSWORD)
            .await
            .status
            < 400
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM signin_throttle WHERE scope = 'email'")
            .await,
        0,
        "the failures before the reset no longer count"
    );
    // The link works once.
    let r = reset(&mut browser, &token, "yet another passphrase", None).await;
    assert!(invalid(&r).contains("expired or was already used"));
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'password_reset'")
            .await,
        1
    );
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    mail_to(&mails, "ada@example.com", "Your password was reset");
    portal.db.close().await;
});

both_backends!(a_reset_link_expires_after_30_minutes, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    ask_reset(&mut c, "ada@example.com").await;
    outbox_holds(env, 1).await;
    deliver_due(&portal).await.expect("deliver");
    let token = token_in(&smtp.received()[0], "/reset-password");
    env.clock.advance(Duration::from_secs(31 * 60));
    let r = reset(&mut c, &token, NEW_PASSWORD, None).await;
    assert!(invalid(&r).contains("expired"));
    let page = c.get(&format!("/reset-password?token={token}")).await;
    assert!(page.body.contains("Ask for a new link"), "{}", page.body);
    // Not a token at all: the same answer.
    let r = reset(&mut c, "../../etc", NEW_PASSWORD, None).await;
    assert!(invalid(&r).contains("expired"));
    portal.db.close().await;
});

both_backends!(
    a_reset_for_a_passkey_only_person_takes_a_recovery_code,
    |env| {
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        // MFA on through a passkey alone (the ceremony is tested in `passkeys`), with the
        // recovery codes it brought.
        portal::db::passkeys::insert(
            &mut *env.conn().await,
            ada,
            "cred-1",
            "Laptop",
            "{}",
            env.now(),
        )
        .await
        .expect("passkey");
        let (codes, hashes) = portal::mfa::new_recovery_codes(env.state.rng.as_ref());
        portal::db::mfa::replace_recovery_codes(&mut *env.conn().await, ada, &hashes)
            .await
            .expect("codes");
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut c = Client::for_state(portal.clone());
        ask_reset(&mut c, "ada@example.com").await;
        outbox_holds(env, 1).await;
        deliver_due(&portal).await.expect("deliver");
        let mails = smtp.received();
        let token = token_in(
            mail_to(&mails, "ada@example.com", "Reset your password"),
            "/reset-password",
        );
        // She has no app: the page asks for a recovery code, not the app's code.
        let page = c.get(&format!("/reset-password?token={token}")).await;
        assert!(
            page.body.contains("Recovery code")
                && page.body.contains("Enter one of your recovery codes"),
            "{}",
            page.body
        );
        // As the form sends it (the switch to a recovery code is not needed).
        let r = reset(&mut c, &token, NEW_PASSWORD, Some(&codes[0])).await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        portal.db.close().await;
    }
);

both_backends!(a_reset_never_bypasses_mfa, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let (_, secret, recovery) = crate::mfa::enrolled(env, "ada@example.com").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    ask_reset(&mut c, "ada@example.com").await;
    outbox_holds(env, 2).await; // the MFA notice, then the link
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    let token = token_in(
        mail_to(&mails, "ada@example.com", "Reset your password"),
        "/reset-password",
    );
    let page = c.get(&format!("/reset-password?token={token}")).await;
    assert!(page.body.contains("Authentication code"), "{}", page.body);
    let r = reset(&mut c, &token, NEW_PASSWORD, None).await;
    assert!(invalid(&r).contains("authentication code"));
    let r = reset(&mut c, &token, NEW_PASSWORD, Some("000000")).await;
    assert!(invalid(&r).contains("not valid"));
    let r = Client::for_state(portal.clone())
        .sign_in("ada@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(
        r.app_error(),
        Some(AppError::BadCredentials),
        "nothing changed"
    );
    // A recovery code does too (the person lost their phone).
    let r = c
        .call::<api::ResetPassword>(&[
            ("token", &token),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
            ("code", &recovery[0]),
            ("recovery", "on"),
        ])
        .await;
    assert!(r.status < 400, "{}", r.body);
    // The password changed, and MFA still stands at sign-in (a code not used before).
    env.clock.advance(Duration::from_secs(60));
    let mut fresh = Client::for_state(portal.clone());
    fresh.sign_in("ada@example.com", NEW_PASSWORD).await;
    assert!(fresh.pending.is_some(), "the code step follows");
    let r = fresh
        .call::<api::VerifySignInCode>(&[("code", &code_at_time(&secret, env.now()))])
        .await;
    assert!(r.status < 400, "{}", r.body);
    portal.db.close().await;
});

both_backends!(the_reset_answer_is_the_same_for_every_address, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let sso_person = env.user("sam@partner.example", "Sam Directory").await;
    portal::db::directory::set_sso_only(&mut *env.conn().await, sso_person)
        .await
        .expect("sso only");
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    let known = ask_reset(&mut c, "ada@example.com").await;
    let unknown = ask_reset(&mut c, "nobody@example.com").await;
    let directory = ask_reset(&mut c, "sam@partner.example").await;
    for r in [&unknown, &directory] {
        assert_eq!((r.status, &r.body), (known.status, &known.body));
    }
    outbox_holds(env, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    assert_eq!(mails.len(), 2, "nothing for an unknown address");
    // The directory's people are sent to their directory, with no link.
    let sam = mail_to(
        &mails,
        "sam@partner.example",
        "Your password is managed by your organisation",
    );
    assert!(!sam.contains("token="), "{sam}");
    assert!(decoded(sam).contains("Sign in with single sign-on"));

    // The answer comes before any work that depends on the address: even when writing
    // a known person's link fails, they are answered exactly like anyone else.
    env.fail_writes("no_resets", "password_resets", "INSERT", "1 = 1")
        .await;
    let mut other = Client::for_state(portal.clone());
    let failing = ask_reset(&mut other, "ada@example.com").await;
    assert_eq!((failing.status, &failing.body), (known.status, &known.body));

    // And the time it takes does not depend on the address either (loosely: the
    // medians of a few requests, from different client connections).
    let timings = |emails: [&'static str; 3]| {
        let portal = portal.clone();
        async move {
            let mut ms = Vec::new();
            for email in emails {
                let mut c = Client::for_state(portal.clone());
                let t = std::time::Instant::now();
                c.call::<api::RequestPasswordReset>(&[("email", email)])
                    .await;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            ms.sort_by(f64::total_cmp);
            ms[1]
        }
    };
    let known_ms = timings(["ada@example.com"; 3]).await;
    let unknown_ms = timings(["x1@example.com", "x2@example.com", "x3@example.com"]).await;
    assert!(
        known_ms < unknown_ms * 3.0 + 25.0 && unknown_ms < known_ms * 3.0 + 25.0,
        "known {known_ms:.1} ms, unknown {unknown_ms:.1} ms"
    );
    portal.db.close().await;
});

both_backends!(reset_requests_are_throttled_per_address, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..portal::db::throttle::RESET_FREE_REQUESTS {
            assert!(ask_reset(&mut c, email).await.status < 400);
        }
        let r = ask_reset(&mut c, email).await;
        assert!(
            matches!(r.app_error(), Some(AppError::Throttled { .. })),
            "{email}: {}",
            r.body
        );
    }
    // Asking for resets never locks the person's sign-in.
    assert!(
        env.client()
            .sign_in("ada@example.com", PASSWORD)
            .await
            .status
            < 400
    );
});

async fn ask_email_change(c: &mut Client, new: &str) -> Response {
    c.call::<api::ChangeEmail>(&[("new_email", new), ("current_password", PASSWORD)])
        .await
}

both_backends!(a_new_email_address_is_proven_by_its_link, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    let mut other_session = Client::for_state(portal.clone());
    other_session.sign_in("ada@example.com", PASSWORD).await;
    let r = ask_email_change(&mut c, "ada.lovelace@example.com").await;
    assert!(r.status < 400, "{}", r.body);
    // Not changed yet: the old address still signs in, the new one does not.
    let settings: app::models::GeneralSettings =
        crate::mfa::json(&c.call::<api::GeneralSettings>(&[]).await);
    assert_eq!(settings.email, "ada@example.com");
    let pending = settings.pending_email.expect("pending");
    assert_eq!(pending.new_email, "ada.lovelace@example.com");
    assert!(!pending.expired);
    let r = Client::for_state(portal.clone())
        .sign_in("ada.lovelace@example.com", PASSWORD)
        .await;
    assert_eq!(r.app_error(), Some(AppError::BadCredentials));
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    let confirm = mail_to(
        &mails,
        "ada.lovelace@example.com",
        "Confirm your new email address",
    );
    let notice = mail_to(
        &mails,
        "ada@example.com",
        "A change of your email address was requested",
    );
    assert!(
        decoded(notice).contains("ada.lovelace@example.com"),
        "{notice}"
    );
    token_in(notice, "/email/cancel");
    let token = token_in(confirm, "/email/confirm");
    // Followed in another browser, signed in nowhere.
    let mut phone = Client::for_state(portal.clone());
    let page = phone.get(&format!("/email/confirm?token={token}")).await;
    assert!(page.body.contains("Confirm email address"), "{}", page.body);
    assert!(page.body.contains("ada.lovelace@example.com"));
    let r = phone.call::<api::ConfirmEmail>(&[("token", &token)]).await;
    assert!(r.status < 400, "{}", r.body);
    // Changed: the new address signs in, every session ended, the old address told.
    let r = c.call::<api::GetViewer>(&[]).await;
    assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
    let r = other_session.call::<api::GetViewer>(&[]).await;
    assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
    assert!(
        Client::for_state(portal.clone())
            .sign_in("ada.lovelace@example.com", PASSWORD)
            .await
            .status
            < 400
    );
    let r = phone.call::<api::ConfirmEmail>(&[("token", &token)]).await;
    assert!(invalid(&r).contains("expired or was already used"));
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'email_changed'")
            .await,
        1
    );
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    mail_to(&mails, "ada@example.com", "Your email address was changed");
    portal.db.close().await;
});

both_backends!(
    if_it_wasnt_them_the_old_address_cancels_the_change_and_resets,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut thief = Client::for_state(portal.clone());
        thief.sign_in("ada@example.com", PASSWORD).await;
        ask_email_change(&mut thief, "thief@example.net").await;
        deliver_due(&portal).await.expect("deliver");
        let mails = smtp.received();
        let confirm = token_in(
            mail_to(
                &mails,
                "thief@example.net",
                "Confirm your new email address",
            ),
            "/email/confirm",
        );
        let cancel = token_in(
            mail_to(
                &mails,
                "ada@example.com",
                "A change of your email address was requested",
            ),
            "/email/cancel",
        );
        let mut ada = Client::for_state(portal.clone());
        let page = ada.get(&format!("/email/cancel?token={cancel}")).await;
        assert!(page.body.contains("thief@example.net"), "{}", page.body);
        let r = ada
            .call::<api::CancelEmailChange>(&[("token", &cancel)])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let next = r.header("location").expect("on to the reset").to_string();
        assert!(next.starts_with("/reset-password?token="), "{next}");
        // The thief's link no longer works.
        let r = thief
            .call::<api::ConfirmEmail>(&[("token", &confirm)])
            .await;
        assert!(invalid(&r).contains("expired or was already used"));
        // Ada sets a new password with the link she was sent on to; the thief is out.
        let token = next
            .trim_start_matches("/reset-password?token=")
            .split('&')
            .next()
            .expect("token")
            .to_string();
        let r = reset(&mut ada, &token, NEW_PASSWORD, None).await;
        assert!(r.status < 400, "{}", r.body);
        let r = thief.call::<api::GetViewer>(&[]).await;
        assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
        portal.db.close().await;
    }
);

both_backends!(a_pending_email_change_can_be_resent_and_cancelled, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    let r = ask_email_change(&mut c, "ada@example.com").await;
    assert!(invalid(&r).contains("already your email address"));
    ask_email_change(&mut c, "ada.l@example.com").await;
    deliver_due(&portal).await.expect("deliver");
    let first = token_in(
        mail_to(
            &smtp.received(),
            "ada.l@example.com",
            "Confirm your new email address",
        ),
        "/email/confirm",
    );
    // Not again at once (someone's mailbox is not a target).
    let r = c.call::<api::ResendEmailConfirmation>(&[]).await;
    assert!(invalid(&r).contains("less than a minute ago"));
    env.clock.advance(Duration::from_secs(61));
    let r = c.call::<api::ResendEmailConfirmation>(&[]).await;
    assert!(r.status < 400, "{}", r.body);
    deliver_due(&portal).await.expect("deliver");
    let confirms: Vec<String> = smtp
        .received()
        .into_iter()
        .filter(|m| m.contains("Subject: Confirm your new email address"))
        .collect();
    assert_eq!(confirms.len(), 2);
    let second = token_in(&confirms[1], "/email/confirm");
    assert_ne!(first, second);
    let mut other = Client::for_state(portal.clone());
    let r = other.call::<api::ConfirmEmail>(&[("token", &first)]).await;
    assert!(
        invalid(&r).contains("expired"),
        "the first link was replaced"
    );
    // After 24 hours the link expires; the page says so and offers "Resend".
    env.clock.advance(Duration::from_secs(24 * 3600));
    c.sign_in("ada@example.com", PASSWORD).await;
    let settings: app::models::GeneralSettings =
        crate::mfa::json(&c.call::<api::GeneralSettings>(&[]).await);
    assert!(settings.pending_email.expect("still shown").expired);
    let r = other.call::<api::ConfirmEmail>(&[("token", &second)]).await;
    assert!(invalid(&r).contains("expired"));
    // Cancelled: nothing pending, the address unchanged.
    let r = c.call::<api::CancelPendingEmail>(&[]).await;
    assert!(r.status < 400, "{}", r.body);
    let r = c.call::<api::CancelPendingEmail>(&[]).await;
    assert!(invalid(&r).contains("no email change waiting"));
    let settings: app::models::GeneralSettings =
        crate::mfa::json(&c.call::<api::GeneralSettings>(&[]).await);
    assert!(settings.pending_email.is_none());
    assert_eq!(settings.email, "ada@example.com");
    portal.db.close().await;
});

both_backends!(
    an_address_taken_while_pending_is_not_given_to_the_person,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut c = Client::for_state(portal.clone());
        c.sign_in("ada@example.com", PASSWORD).await;
        ask_email_change(&mut c, "shared@example.com").await;
        deliver_due(&portal).await.expect("deliver");
        let token = token_in(
            mail_to(
                &smtp.received(),
                "shared@example.com",
                "Confirm your new email address",
            ),
            "/email/confirm",
        );
        // An operator gives the address to someone else meanwhile.
        env.user("shared@example.com", "Someone Else").await;
        let r = Client::for_state(portal.clone())
            .call::<api::ConfirmEmail>(&[("token", &token)])
            .await;
        assert!(invalid(&r).contains("now used by another person"));
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            1
        );
        portal.db.close().await;
    }
);

both_backends!(mfa_policy_notices_and_reminders_are_sent_once, |env| {
    use app::models::AccountKind;
    let acme = env
        .account("Acme Distribution", AccountKind::Distributor)
        .await;
    env.user("ada@example.com", "Ada Lovelace").await;
    env.user("bob@example.com", "Bob Builder").await;
    env.member(acme, "ada@example.com", "Users").await;
    env.member(acme, "bob@example.com", "Users").await;
    let (_, _, _) = crate::mfa::enrolled(env, "bob@example.com").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let policy_mails = |smtp: &SmtpServer| {
        smtp.received()
            .into_iter()
            .filter(|m| m.contains("multi-factor authentication") && m.contains("Acme"))
            .collect::<Vec<_>>()
    };
    portal::db::policy::set(
        &mut *env.conn().await,
        acme,
        app::models::MfaPolicy::All,
        app::models::GraceDays::new(7).expect("grace"),
        &portal::db::audit::Actor::Operator,
        env.now(),
    )
    .await
    .expect("policy");
    let sweep = || async {
        let n = portal::policy_notices::send_due(&portal)
            .await
            .expect("sweep");
        deliver_due(&portal).await.expect("deliver");
        n
    };
    // Two replicas sweeping at once: one notice.
    let second = env.second_instance().await;
    let (a, b) = tokio::join!(
        portal::policy_notices::send_due(&portal),
        portal::policy_notices::send_due(&second)
    );
    assert_eq!(a.expect("a") + b.expect("b"), 1, "only Ada lacks MFA");
    deliver_due(&portal).await.expect("deliver");
    let mails = policy_mails(&smtp);
    assert_eq!(mails.len(), 1);
    let first = decoded(&mails[0]);
    assert!(first.contains("To: ada@example.com"), "{first}");
    assert!(
        first.contains("Subject: Acme Distribution requires multi-factor authentication"),
        "{first}"
    );
    assert!(first.contains("/profile/security?mfa_required="), "{first}");
    assert_eq!(sweep().await, 0, "sent once");
    // 4 days later: the 3-day reminder; 6.5 days: the 1-day one; then nothing.
    env.clock.advance(Duration::from_secs(4 * 86_400 + 60));
    assert_eq!(sweep().await, 1);
    assert_eq!(sweep().await, 0);
    env.clock.advance(Duration::from_secs(2 * 86_400 + 43_200));
    assert_eq!(sweep().await, 1);
    let mails = policy_mails(&smtp);
    assert_eq!(mails.len(), 3);
    assert!(decoded(&mails[2])
        .contains("Subject: Reminder: set up multi-factor authentication for Acme Distribution"));
    env.clock.advance(Duration::from_secs(86_400));
    assert_eq!(sweep().await, 0, "past the deadline");
    second.db.close().await;
    portal.db.close().await;
});

both_backends!(a_member_who_complies_gets_no_reminder, |env| {
    use app::models::AccountKind;
    let acme = env
        .account("Acme Distribution", AccountKind::Distributor)
        .await;
    env.user("ada@example.com", "Ada Lovelace").await;
    env.member(acme, "ada@example.com", "Users").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    portal::db::policy::set(
        &mut *env.conn().await,
        acme,
        app::models::MfaPolicy::All,
        app::models::GraceDays::new(7).expect("grace"),
        &portal::db::audit::Actor::Operator,
        env.now(),
    )
    .await
    .expect("policy");
    assert_eq!(
        portal::policy_notices::send_due(&portal)
            .await
            .expect("sweep"),
        1
    );
    crate::mfa::enrolled(env, "ada@example.com").await;
    env.clock.advance(Duration::from_secs(5 * 86_400));
    assert_eq!(
        portal::policy_notices::send_due(&portal)
            .await
            .expect("sweep"),
        0
    );
    portal.db.close().await;
});

both_backends!(
    an_account_that_requires_passkeys_tells_its_app_users_to_add_one,
    |env| {
        use app::models::AccountKind;
        let acme = env
            .account("Acme Distribution", AccountKind::Distributor)
            .await;
        env.user("ada@example.com", "Ada Lovelace").await;
        let bob = env.user("bob@example.com", "Bob Builder").await;
        env.member(acme, "ada@example.com", "Users").await;
        env.member(acme, "bob@example.com", "Users").await;
        // Ada uses an authenticator app; Bob has a passkey (the ceremony is tested in
        // `passkeys`).
        crate::mfa::enrolled(env, "ada@example.com").await;
        portal::db::passkeys::insert(
            &mut *env.conn().await,
            bob,
            "cred-1",
            "Laptop",
            "{}",
            env.now(),
        )
        .await
        .expect("passkey");
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut conn = env.conn().await;
        portal::db::policy::set(
            &mut conn,
            acme,
            app::models::MfaPolicy::All,
            app::models::GraceDays::new(7).expect("grace"),
            &portal::db::audit::Actor::Operator,
            env.now(),
        )
        .await
        .expect("policy");
        portal::db::policy::set_require_passkeys(
            &mut conn,
            acme,
            true,
            &portal::db::audit::Actor::Operator,
            env.now(),
        )
        .await
        .expect("passkeys");
        drop(conn);
        let sweep = || async {
            let n = portal::policy_notices::send_due(&portal)
                .await
                .expect("sweep");
            deliver_due(&portal).await.expect("deliver");
            n
        };
        // Her app is not enough there: she is told to add a passkey; Bob complies.
        assert_eq!(sweep().await, 1);
        let mails: Vec<String> = smtp
            .received()
            .into_iter()
            .map(|m| decoded(&m))
            .filter(|m| m.contains("Subject: Acme Distribution requires passkeys"))
            .collect();
        assert_eq!(mails.len(), 1);
        assert!(mails[0].contains("To: ada@example.com"), "{}", mails[0]);
        assert!(
            mails[0].contains("/profile/security?passkey_required="),
            "{}",
            mails[0]
        );
        assert_eq!(sweep().await, 0, "sent once");
        env.clock.advance(Duration::from_secs(4 * 86_400 + 60));
        assert_eq!(sweep().await, 1);
        assert!(
            smtp.received()
                .iter()
                .any(|m| decoded(m)
                    .contains("Subject: Reminder: add a passkey for Acme Distribution"))
        );
        portal.db.close().await;
    }
);

both_backends!(
    requiring_passkeys_after_the_deadline_tells_members_once,
    |env| {
        use app::models::AccountKind;
        let acme = env
            .account("Acme Distribution", AccountKind::Distributor)
            .await;
        env.user("ada@example.com", "Ada Lovelace").await;
        env.member(acme, "ada@example.com", "Users").await;
        crate::mfa::enrolled(env, "ada@example.com").await;
        // A policy long in force (Ada complies with her app); then passkeys are required.
        sqlx::query(
        "UPDATE accounts SET mfa_policy = 'all', mfa_grace_days = 3, mfa_policy_changed_at = 1, \
         mfa_require_passkeys = 1",
    )
    .execute(&mut *env.conn().await)
    .await
    .expect("policy");
        // She joined long ago too: her grace period ended long ago.
        sqlx::query("UPDATE memberships SET created_at = 1")
            .execute(&mut *env.conn().await)
            .await
            .expect("joined");
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let sweep = || async {
            let n = portal::policy_notices::send_due(&portal)
                .await
                .expect("sweep");
            deliver_due(&portal).await.expect("deliver");
            n
        };
        assert_eq!(
            sweep().await,
            1,
            "told at once, though her deadline is long past"
        );
        let mail = decoded(mail_to(
            &smtp.received(),
            "ada@example.com",
            "Acme Distribution requires passkeys",
        ));
        assert!(mail.contains("Add one now"), "{mail}");
        assert_eq!(sweep().await, 0, "once");
        env.clock.advance(Duration::from_secs(3 * 86_400));
        assert_eq!(sweep().await, 0, "no reminders of a past deadline");
        portal.db.close().await;
    }
);

both_backends!(a_password_change_drops_a_waiting_email_change, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut thief = Client::for_state(portal.clone());
    thief.sign_in("ada@example.com", PASSWORD).await;
    ask_email_change(&mut thief, "thief@example.net").await;
    deliver_due(&portal).await.expect("deliver");
    let confirm = token_in(
        mail_to(
            &smtp.received(),
            "thief@example.net",
            "Confirm your new email address",
        ),
        "/email/confirm",
    );
    // Ada follows the notice's advice and changes her password.
    let mut ada = Client::for_state(portal.clone());
    ada.sign_in("ada@example.com", PASSWORD).await;
    let new = "a password only ada knows";
    let r = ada
        .call::<api::ChangePassword>(&[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("confirm_password", new),
        ])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let r = thief
        .call::<api::ConfirmEmail>(&[("token", &confirm)])
        .await;
    assert!(invalid(&r).contains("expired or was already used"));
    portal.db.close().await;
});

both_backends!(
    a_change_confirmed_by_a_thief_is_undone_from_the_old_address,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut thief = Client::for_state(portal.clone());
        thief.sign_in("ada@example.com", PASSWORD).await;
        ask_email_change(&mut thief, "thief@example.net").await;
        deliver_due(&portal).await.expect("deliver");
        let mails = smtp.received();
        let confirm = token_in(
            mail_to(
                &mails,
                "thief@example.net",
                "Confirm your new email address",
            ),
            "/email/confirm",
        );
        let cancel = token_in(
            mail_to(
                &mails,
                "ada@example.com",
                "A change of your email address was requested",
            ),
            "/email/cancel",
        );
        // The thief confirms at once, and cannot start another change for a day.
        let r = thief
            .call::<api::ConfirmEmail>(&[("token", &confirm)])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let r = ask_email_change(&mut thief, "thief2@example.net").await;
        assert!(invalid(&r).contains("less than a day ago"));
        deliver_due(&portal).await.expect("deliver");
        let changed = mail_to(
            &smtp.received(),
            "ada@example.com",
            "Your email address was changed",
        )
        .clone();
        assert!(
            decoded(&changed).contains("A change of your email address was requested"),
            "{changed}"
        );
        // Ada's link from the first mail still works: her address comes back, the thief is out.
        let mut ada = Client::for_state(portal.clone());
        let page = ada.get(&format!("/email/cancel?token={cancel}")).await;
        assert!(
            page.body.contains("ada@example.com") && page.body.contains("thief@example.net"),
            "{}",
            page.body
        );
        let r = ada
            .call::<api::CancelEmailChange>(&[("token", &cancel)])
            .await;
        assert!(r.status < 400, "{}", r.body);
        let next = r.header("location").expect("on to the reset").to_string();
        assert!(next.starts_with("/reset-password?token="), "{next}");
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
                .await,
            1
        );
        let r = thief.call::<api::GetViewer>(&[]).await;
        assert_eq!(r.app_error(), Some(AppError::Unauthenticated));
        let r = Client::for_state(portal.clone())
            .sign_in("thief@example.net", PASSWORD)
            .await;
        assert_eq!(r.app_error(), Some(AppError::BadCredentials));
        // Once: the link is used up.
        let r = ada
            .call::<api::CancelEmailChange>(&[("token", &cancel)])
            .await;
        assert!(invalid(&r).contains("expired or was already used"));
        portal.db.close().await;
    }
);

both_backends!(parallel_resends_send_one_link, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    ask_email_change(&mut c, "ada.l@example.com").await;
    env.clock.advance(Duration::from_secs(61));
    let ok = at_once(&env.state, 8, |mut c, _| async move {
        c.sign_in("ada@example.com", PASSWORD).await;
        c.call::<api::ResendEmailConfirmation>(&[]).await.status < 400
    })
    .await;
    assert_eq!(ok.iter().filter(|ok| **ok).count(), 1, "{ok:?}");
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE subject = 'Confirm your new email address'"
        )
        .await,
        2,
        "the first link and one resend"
    );
});
