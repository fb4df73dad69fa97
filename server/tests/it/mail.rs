//! Mail delivery through a real SMTP server (aiosmtpd, started per test): security notices
//! are written to the outbox with their change and delivered by the sender, once, with
//! retries and backoff when the server refuses, on both databases.

use crate::{both_backends, harness::*};
use portal::{config::MailCommand, mail::deliver_due};
use std::time::Duration;

/// An instance of the portal on `env`'s database sending through `smtp`.
async fn sending_through(env: &TestEnv, smtp: &SmtpServer) -> portal::AppState {
    let mut config = test_config(&env.url);
    config.smtp_url = Some(smtp.url.parse().expect("SMTP URL"));
    env.instance_with(config).await
}

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
