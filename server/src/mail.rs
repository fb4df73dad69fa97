//! Email: notices rendered from templates (plain text and HTML), written to the durable
//! outbox in the transaction of the change that causes them ([`crate::db::outbox`]), and
//! delivered by a background sender with retries and backoff, through SMTP (lettre) or,
//! without an SMTP URL, as `.eml` files under `<data dir>/outbox-files/`.

use crate::{
    db::outbox::{self, Claimed, NewMail},
    state::AppState,
};
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::path::PathBuf;

/// The product name in every mail.
pub const PRODUCT: &str = "Connect Portal";

/// Waits before the 2nd, 3rd, … attempt; after the last, the mail is given up on (and
/// shown by `portal mail status`).
pub const BACKOFF_MS: [i64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 43_200_000];

/// An SMTP URL as configured (`smtp://`, `smtps://`, `smtp+starttls://`, with optional
/// credentials). Never printed with its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl std::str::FromStr for SmtpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let known = ["smtp://", "smtps://", "smtp+starttls://"];
        if !known.iter().any(|p| s.starts_with(p)) {
            return Err(
                "use smtp://, smtps:// or smtp+starttls:// (host, port, credentials)".into(),
            );
        }
        let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL names no host".into());
        }
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.0.split("://").next().unwrap_or("");
        let host = url::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        write!(f, "SmtpUrl({scheme}://{host}, credentials redacted)")
    }
}

impl std::fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Where mails go.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Delivers mails from the outbox.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// How long a sender holds a claimed mail before another may take it over.
    claim_ms: i64,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let via = match &self.transport {
            Transport::Smtp(_) => "smtp".to_string(),
            Transport::Files(dir) => dir.display().to_string(),
        };
        f.debug_struct("Mailer")
            .field("via", &via)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// Through the SMTP server at `url`, or into `files` without one.
    pub fn new(
        url: Option<&SmtpUrl>,
        from: &str,
        files: PathBuf,
        claim: std::time::Duration,
    ) -> Result<Self, String> {
        // The conversation must end well before the claim does, or a second sender
        // could take the mail over while the first is still sending it.
        let smtp_timeout = (claim / 2).min(std::time::Duration::from_secs(20));
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("--mail-from is not a mail address ({e})"))?;
        let transport = match url {
            None => Transport::Files(files),
            Some(SmtpUrl(url)) => {
                // lettre's own spelling of STARTTLS: `smtp://…?tls=required`.
                let url = match url.strip_prefix("smtp+starttls://") {
                    Some(rest) if rest.contains('?') => format!("smtp://{rest}&tls=required"),
                    Some(rest) => format!("smtp://{rest}?tls=required"),
                    None => url.clone(),
                };
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| format!("--smtp-url cannot be used ({e})"))?
                    .timeout(Some(smtp_timeout))
                    .build();
                Transport::Smtp(transport)
            }
        };
        Ok(Self {
            transport,
            from,
            claim_ms: i64::try_from(claim.as_millis()).unwrap_or(i64::MAX / 2),
        })
    }

    /// Sends one mail; the error says why not (for the outbox's record).
    async fn send(&self, mail: &Claimed) -> Result<(), String> {
        let to: Mailbox = mail
            .to_address
            .parse()
            .map_err(|e| format!("the address is not valid ({e})"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text_body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html_body.clone()),
                    ),
            )
            .map_err(|e| format!("the mail could not be built ({e})"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Transport::Files(dir) => {
                let path = dir.join(format!("{:08}.eml", mail.id));
                let bytes = message.formatted();
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(&path, bytes)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                // Without a mail server, the links a person needs are in the log.
                for link in links(&mail.text_body) {
                    tracing::info!(to = %mail.to_address, %link, "mail written to the file outbox");
                }
                Ok(())
            }
        }
    }
}

/// The http(s) links of a plain-text body.
fn links(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .collect()
}

/// Delivers the mails due now; how many were sent. Each is claimed first, so several
/// senders (replicas) never send one twice.
pub async fn deliver_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.now();
    let claimed = {
        let mut conn = state.db.acquire().await?;
        outbox::claim_due(
            &mut conn,
            state.db.backend(),
            now,
            20,
            state.mailer.claim_ms,
        )
        .await?
    };
    let mut sent = 0;
    for mail in claimed {
        // No connection is held while the mail server answers.
        let result = match unseal(state, mail.clone()) {
            Ok(mail) => state.mailer.send(&mail).await,
            Err(e) => Err(e),
        };
        let now = state.now();
        let mut conn = state.db.acquire().await?;
        match result {
            Ok(()) => {
                outbox::mark_sent(&mut conn, mail.id, now).await?;
                tracing::info!(mail_id = mail.id, "mail delivered");
                sent += 1;
            }
            Err(e) => {
                state.metrics.mail_failures.inc();
                let retry_at = usize::try_from(mail.attempts)
                    .ok()
                    .and_then(|n| BACKOFF_MS.get(n))
                    .map(|wait| now + wait);
                tracing::warn!(mail_id = mail.id, attempts = mail.attempts + 1, error = %e, gave_up = retry_at.is_none(), "mail not delivered");
                outbox::mark_failed_attempt(&mut conn, mail.id, &e, retry_at, now).await?;
            }
        }
    }
    Ok(sent)
}

/// A sealed mail's bodies, opened with the server key (a mail that does not open is not
/// sent: it fails like a refused one and is reported).
fn unseal(state: &AppState, mut mail: Claimed) -> Result<Claimed, String> {
    if mail.sealed == 0 {
        return Ok(mail);
    }
    let to = mail.to_address.clone();
    let open = |body: &str, part: &str| {
        state
            .secret_key
            .decrypt(body, &outbox::sealed_aad(part, &to))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| "the sealed mail does not open with this server's key".to_string())
    };
    mail.text_body = open(&mail.text_body, "text_body")?;
    mail.html_body = open(&mail.html_body, "html_body")?;
    Ok(mail)
}

/// The templates, compiled into the binary and parsed once (constant data, not state).
fn templates() -> &'static minijinja::Environment<'static> {
    static TEMPLATES: std::sync::OnceLock<minijinja::Environment<'static>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(parse_templates)
}

fn parse_templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("mail_templates/layout.html")),
        ("help.txt", include_str!("mail_templates/help.txt")),
        ("notice.txt", include_str!("mail_templates/notice.txt")),
        ("notice.html", include_str!("mail_templates/notice.html")),
        (
            "password_changed.txt",
            include_str!("mail_templates/password_changed.txt"),
        ),
        (
            "password_changed.html",
            include_str!("mail_templates/password_changed.html"),
        ),
        (
            "email_confirm.txt",
            include_str!("mail_templates/email_confirm.txt"),
        ),
        (
            "email_confirm.html",
            include_str!("mail_templates/email_confirm.html"),
        ),
        (
            "email_change_requested.txt",
            include_str!("mail_templates/email_change_requested.txt"),
        ),
        (
            "email_change_requested.html",
            include_str!("mail_templates/email_change_requested.html"),
        ),
        (
            "password_reset.txt",
            include_str!("mail_templates/password_reset.txt"),
        ),
        (
            "password_reset.html",
            include_str!("mail_templates/password_reset.html"),
        ),
        (
            "reset_directory.txt",
            include_str!("mail_templates/reset_directory.txt"),
        ),
        (
            "reset_directory.html",
            include_str!("mail_templates/reset_directory.html"),
        ),
        (
            "mfa_policy.txt",
            include_str!("mail_templates/mfa_policy.txt"),
        ),
        (
            "mfa_policy.html",
            include_str!("mail_templates/mfa_policy.html"),
        ),
        (
            "invitation.txt",
            include_str!("mail_templates/invitation.txt"),
        ),
        (
            "invitation.html",
            include_str!("mail_templates/invitation.html"),
        ),
    ] {
        // The templates are part of the build: one that does not parse fails the tests
        // (every notice is rendered by a unit test).
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "mail template does not parse");
        }
    }
    env
}

/// Renders the plain-text and HTML parts of notice `name` (`name.txt`, `name.html`).
pub fn render(
    name: &str,
    to: &str,
    subject: &str,
    context: minijinja::Value,
) -> Result<NewMail, minijinja::Error> {
    let env = templates();
    let ctx = minijinja::context! { product => PRODUCT, subject => subject, ..context };
    Ok(NewMail {
        to: to.to_string(),
        subject: subject.to_string(),
        text: env.get_template(&format!("{name}.txt"))?.render(&ctx)?,
        html: env.get_template(&format!("{name}.html"))?.render(&ctx)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_checked_and_never_print_their_credentials() {
        let url: SmtpUrl = "smtp://portal:s3cret@mail.example.com:587"
            .parse()
            .expect("valid");
        let shown = format!("{url:?} {url}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("portal:"),
            "{shown}"
        );
        assert!(shown.contains("mail.example.com"));
        assert!("http://mail.example.com".parse::<SmtpUrl>().is_err());
        assert!("smtp://".parse::<SmtpUrl>().is_err());
        assert!("smtp+starttls://mail.example.com:587"
            .parse::<SmtpUrl>()
            .is_ok());
    }

    #[test]
    fn notices_render_both_parts_and_escape_the_html() {
        let mail = render(
            "password_changed",
            "ada@example.com",
            "Your password was changed",
            minijinja::context! { name => "Ada <b>", email => "ada@example.com", when => "2026-12-01 10:00", from => "" },
        )
        .expect("renders");
        assert!(mail.text.contains("Hello Ada <b>,"));
        assert!(mail.html.contains("Hello Ada &lt;b&gt;,"), "{}", mail.html);
        assert!(mail.text.contains("2026-12-01 10:00") && mail.html.contains(PRODUCT));
    }
}
