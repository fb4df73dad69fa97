//! Mail delivery through a real SMTP server (aiosmtpd, started per test): security notices
//! are written to the outbox with their change and delivered by the sender, once, with
//! retries and backoff when the server refuses, on both databases.

use crate::{both_backends, harness::*};
use portal::{config::MailCommand, mail::deliver_due};
use std::time::Duration;

async fn change_password(c: &mut Client, new: &str) -> Response {
    c.call::<api::ChangePassword>(&[
        ("current_password", PASSWORD),
        ("new_password", new),
        ("confirm_password", new),
    ])
    .await
}

both_backends!(a_password_change_is_announced_by_mail, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    assert!(
        change_password(&mut c, "a brand new passphrase 7")
            .await
            .status
            < 400
    );
    // Written with the change, delivered by the sender.
    assert_eq!(deliver_due(&portal).await.expect("deliver"), 1);
    assert_eq!(deliver_due(&portal).await.expect("deliver"), 0, "sent once");
    let mails = smtp.received();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: Your password was changed"),
        "{mail}"
    );
    assert!(mail.contains("Content-Type: text/plain"), "{mail}");
    assert!(mail.contains("Content-Type: text/html"), "{mail}");
    assert!(mail.contains("Hello Ada Lovelace"), "{mail}");
    assert!(
        !mail.contains("brand new passphrase"),
        "no secret in the mail"
    );
    portal.db.close().await;
});

both_backends!(a_refusing_mail_server_is_retried_then_reported, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(true);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    assert!(
        change_password(&mut c, "a brand new passphrase 7")
            .await
            .status
            < 400
    );
    let attempts = "SELECT attempts FROM mail_outbox";
    assert_eq!(deliver_due(&portal).await.expect("deliver"), 0);
    assert_eq!(env.scalar(attempts).await, 1);
    // Not due again until the backoff has passed.
    assert_eq!(deliver_due(&portal).await.expect("deliver"), 0);
    assert_eq!(env.scalar(attempts).await, 1);
    for wait in portal::mail::BACKOFF_MS {
        env.clock
            .advance(Duration::from_millis(u64::try_from(wait).expect("wait")));
        deliver_due(&portal).await.expect("deliver");
    }
    assert_eq!(
        env.scalar(attempts).await,
        1 + portal::mail::BACKOFF_MS.len() as i64
    );
    let status = portal::cli::mail(&portal, MailCommand::Status)
        .await
        .expect("status");
    assert!(status.contains("1 given up on"), "{status}");
    assert!(status.contains("ada@example.com"), "{status}");
    assert!(
        status.contains("451"),
        "the server's answer is kept: {status}"
    );
    // The operator fixes the mail server and tries again.
    let fixed = smtp_server(false);
    let portal2 = sending_through(env, &fixed).await;
    let retry = portal::cli::mail(&portal2, MailCommand::Retry)
        .await
        .expect("retry");
    assert!(retry.starts_with("1 mail"), "{retry}");
    assert_eq!(deliver_due(&portal2).await.expect("deliver"), 1);
    assert_eq!(fixed.received().len(), 1);
    portal.db.close().await;
    portal2.db.close().await;
});

both_backends!(two_senders_deliver_each_mail_once, |env| {
    let smtp = smtp_server(false);
    let (a, b) = (
        sending_through(env, &smtp).await,
        sending_through(env, &smtp).await,
    );
    for i in 0..12 {
        let mail = portal::db::outbox::NewMail {
            to: format!("p{i}@example.com"),
            subject: format!("Mail {i}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        portal::db::outbox::enqueue(&mut *env.conn().await, &mail, env.now())
            .await
            .expect("enqueue");
    }
    let (x, y) = tokio::join!(deliver_due(&a), deliver_due(&b));
    let (x, y) = (x.expect("a"), y.expect("b"));
    let (x2, y2) = tokio::join!(deliver_due(&a), deliver_due(&b));
    assert_eq!(x + y + x2.expect("a") + y2.expect("b"), 12);
    assert_eq!(smtp.received().len(), 12, "each mail once");
    a.db.close().await;
    b.db.close().await;
});

/// The subjects of the mails `smtp` received, in order, but for new-device notices.
fn subjects(smtp: &SmtpServer) -> Vec<String> {
    smtp.received()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        })
        .filter(|s| s != NEW_DEVICE)
        .collect()
}

const NEW_DEVICE: &str = "New sign-in to your account";

both_backends!(a_sign_in_from_a_new_browser_is_announced, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    // The first browser ever: nothing to announce; it is known from now on.
    let mut laptop = Client::for_state(portal.clone());
    laptop.sign_in("ada@example.com", PASSWORD).await;
    assert!(laptop.device.is_some(), "the browser got its device cookie");
    laptop.call::<api::SignOut>(&[]).await;
    laptop.sign_in("ada@example.com", PASSWORD).await;
    deliver_due(&portal).await.expect("deliver");
    assert!(smtp.received().is_empty(), "the same browser again");
    // Another browser: announced, with where it came from.
    let mut phone = Client::for_state(portal.clone());
    phone.sign_in("ada@example.com", PASSWORD).await;
    deliver_due(&portal).await.expect("deliver");
    let mails = smtp.received();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains(&format!("Subject: {NEW_DEVICE}")),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("Chrome 140"), "{}", mails[0]);
    portal.db.close().await;
});

both_backends!(every_change_to_the_second_factor_is_announced, |env| {
    use crate::mfa::code_at_time;
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    c.step_up(None).await;
    let e: app::models::MfaEnrolment =
        crate::mfa::json(&c.call::<api::StartMfaEnrolment>(&[]).await);
    let b32: String = e.secret_grouped.split_whitespace().collect();
    let secret = totp_rs::Secret::Encoded(b32).to_bytes().expect("base32");
    let next_code = |env: &TestEnv| {
        env.clock.advance(Duration::from_secs(60));
        code_at_time(&secret, env.now())
    };
    let r = c
        .call::<api::EnableMfa>(&[("code", &code_at_time(&secret, env.now()))])
        .await;
    let codes: app::models::RecoveryCodes = crate::mfa::json(&r);
    // A recovery code at the next sign-in: how many are left is said.
    let mut other = Client::for_state(portal.clone());
    other.sign_in("ada@example.com", PASSWORD).await;
    let r = other
        .call::<api::VerifySignInCode>(&[("code", &codes.0[0]), ("recovery", "on")])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let r = c
        .call::<api::RegenerateRecoveryCodes>(&[("code", &next_code(env))])
        .await;
    assert!(r.status < 400, "{}", r.body);
    let r = c
        .call::<api::DisableMfa>(&[("current_password", PASSWORD), ("code", &next_code(env))])
        .await;
    assert!(r.status < 400, "{}", r.body);
    deliver_due(&portal).await.expect("deliver");
    assert_eq!(
        subjects(&smtp),
        [
            "Multi-factor authentication was turned on",
            "A recovery code was used",
            "New recovery codes were created",
            "Multi-factor authentication was turned off",
        ]
    );
    let used = smtp
        .received()
        .into_iter()
        .find(|m| m.contains("Subject: A recovery code was used"))
        .expect("recovery code notice");
    assert!(used.contains("You have 9 recovery codes left."), "{used}");
    portal.db.close().await;
});

both_backends!(an_operator_reset_and_a_deletion_are_announced, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let (_, _, _) = crate::mfa::enrolled(env, "ada@example.com").await;
    portal::cli::user(
        &portal,
        portal::config::UserCommand::ResetMfa {
            email: "ada@example.com".into(),
        },
        &mut std::io::empty(),
    )
    .await
    .expect("reset");
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    let r = c
        .call::<api::DeleteAccount>(&[
            ("current_password", PASSWORD),
            ("confirm_email", "ada@example.com"),
        ])
        .await;
    assert!(r.status < 400, "{}", r.body);
    deliver_due(&portal).await.expect("deliver");
    let subjects = subjects(&smtp);
    // The enrolment on `env` was announced too (written to its outbox, sent here).
    assert_eq!(
        subjects[subjects.len() - 2..],
        [
            "Your multi-factor authentication was reset",
            "Your account was deleted"
        ]
    );
    let reset = smtp
        .received()
        .into_iter()
        .find(|m| m.contains("Subject: Your multi-factor authentication was reset"))
        .expect("reset notice");
    assert!(reset.contains("the operator's command line"), "{reset}");
    portal.db.close().await;
});

both_backends!(an_email_change_is_announced_to_the_old_address, |env| {
    env.user("ada@example.com", "Ada Lovelace").await;
    let smtp = smtp_server(false);
    let portal = sending_through(env, &smtp).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    let r = c
        .call::<api::ChangeEmail>(&[
            ("new_email", "ada.lovelace@example.com"),
            ("current_password", PASSWORD),
        ])
        .await;
    assert!(r.status < 400, "{}", r.body);
    deliver_due(&portal).await.expect("deliver");
    // The link to the new address, and the notice to the old one (the change itself is
    // announced when the link is followed: recovery.rs).
    assert_eq!(
        subjects(&smtp),
        [
            "Confirm your new email address",
            "A change of your email address was requested"
        ]
    );
    let mails = smtp.received();
    assert!(mails[1].contains("To: ada@example.com"), "{}", mails[1]);
    assert!(
        mails[1].contains("ada.lovelace@example.com"),
        "{}",
        mails[1]
    );
    portal.db.close().await;
});

both_backends!(
    two_sign_ins_from_one_new_browser_at_once_both_succeed,
    |env| {
        // Two sign-in transactions remember the same new browser for the same person: the
        // second waits for the first and finds it known, instead of failing on the key.
        let bob = env.user("bob@example.com", "Bob Builder").await;
        let mut first = env.state.db.begin().await.expect("begin");
        assert!(
            portal::db::devices::remember(&mut first, bob, "d1", env.now())
                .await
                .expect("remember")
        );
        let db = env.state.db.clone();
        let now = env.now();
        let second = tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin");
            let new = portal::db::devices::remember(&mut tx, bob, "d1", now).await;
            tx.commit().await.expect("commit");
            new
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        first.commit().await.expect("commit");
        let second = second
            .await
            .expect("task")
            .expect("the second sign-in succeeds");
        assert!(!second, "known by then");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM known_devices").await, 1);
    }
);

both_backends!(
    delivered_mails_are_purged_after_the_retention_period,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let smtp = smtp_server(false);
        let portal = sending_through(env, &smtp).await;
        let mut c = Client::for_state(portal.clone());
        c.sign_in("ada@example.com", PASSWORD).await;
        assert!(
            change_password(&mut c, "a brand new passphrase 7")
                .await
                .status
                < 400
        );
        deliver_due(&portal).await.expect("deliver");
        let kept = "SELECT COUNT(*) FROM mail_outbox";
        portal::profile::purge_history(&portal)
            .await
            .expect("purge");
        assert_eq!(env.scalar(kept).await, 1, "within the retention period");
        env.clock
            .advance(portal.config.history_retention + Duration::from_secs(60));
        portal::profile::purge_history(&portal)
            .await
            .expect("purge");
        assert_eq!(env.scalar(kept).await, 0, "gone after it");
        portal.db.close().await;
    }
);
