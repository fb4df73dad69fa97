//! Command line and environment configuration. Every flag has an environment variable;
//! invalid values stop the start with a message naming the setting.

use clap::{Args, Parser, Subcommand};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Parser)]
#[command(
    name = "portal",
    version,
    about = "Connect Portal: self-hosted identity, preferences, security and sessions for partner accounts.",
    long_about = "Connect Portal: self-hosted identity, preferences, security and sessions for partner \
accounts.\n\nWithout a subcommand, `portal` runs `serve`. Every flag can also be set with the \
environment variable shown next to it. The key that encrypts TOTP secrets comes from the \
environment variable PORTAL_SECRET_KEY (base64 of 32 bytes) or from secret.key in the data \
directory, created on first start."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every subcommand.
#[derive(Clone, Args)]
pub struct Settings {
    /// Address and port the web server listens on.
    #[arg(
        long,
        env = "PORTAL_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite database and other state.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`. Default: the SQLite
    /// file `portal.db` in the data directory.
    #[arg(long, env = "PORTAL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Largest number of database connections in the pool.
    #[arg(
        long,
        env = "PORTAL_DATABASE_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub database_max_connections: u32,
    /// The URL people use to reach the portal, e.g. `https://portal.example.com`. Its origin is
    /// the only one allowed to change state (CSRF defence); with https, cookies are `Secure`
    /// and `__Host-` prefixed and HSTS is sent. Default: `http://` + the listen address.
    #[arg(long, env = "PORTAL_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// A session ends after this long without a request (e.g. `30m`, `1h`).
    #[arg(long, env = "PORTAL_SESSION_IDLE_TIMEOUT", default_value = "1h", value_parser = parse_duration, global = true)]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active (e.g. `24h`).
    #[arg(long, env = "PORTAL_SESSION_LIFETIME", default_value = "24h", value_parser = parse_duration, global = true)]
    pub session_lifetime: Duration,
    /// How long ended sessions and security events are kept before they are purged.
    #[arg(long, env = "PORTAL_HISTORY_RETENTION", default_value = "90d", value_parser = parse_duration, global = true)]
    pub history_retention: Duration,
    /// How long rows of the accounts' audit logs are kept before they are purged.
    #[arg(long, env = "PORTAL_AUDIT_RETENTION", default_value = "365d", value_parser = parse_duration, global = true)]
    pub audit_retention: Duration,
    /// Issuer shown in authenticator apps (the entry reads "ISSUER: email").
    #[arg(
        long,
        env = "PORTAL_TOTP_ISSUER",
        default_value = "Connect Auth",
        global = true
    )]
    pub totp_issuer: String,
    /// Folder with the built site (`pkg/` with the wasm, JS and CSS, and the public
    /// assets), served instead of the copy a release binary carries. Default: the
    /// binary's own copy, else `target/site`.
    #[arg(long, env = "LEPTOS_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,
    /// Shortest password accepted, in characters (at least 8).
    #[arg(
        long,
        env = "PORTAL_MIN_PASSWORD_LENGTH",
        default_value_t = 8,
        global = true
    )]
    pub min_password_length: usize,
    /// Take the client IP from `X-Forwarded-For` (only behind proxies you run): the address
    /// that the nearest trusted proxy saw, see --trusted-proxy-hops. Addresses further left
    /// are written by the client and never trusted.
    #[arg(
        long,
        env = "PORTAL_TRUST_FORWARDED_FOR",
        default_value_t = false,
        global = true
    )]
    pub trust_forwarded_for: bool,
    /// How many proxies you run in front of the portal, each appending to
    /// `X-Forwarded-For`: the client is the address that many entries from the right.
    #[arg(
        long,
        env = "PORTAL_TRUSTED_PROXY_HOPS",
        default_value_t = 1,
        global = true
    )]
    pub trusted_proxy_hops: usize,
    /// The DNS server for proving single sign-on domains and resolving OpenID Providers,
    /// as `IP:PORT` (e.g. `127.0.0.1:5353`). Default: the system's (/etc/resolv.conf).
    #[arg(long, env = "PORTAL_DNS_SERVER", global = true)]
    pub dns_server: Option<SocketAddr>,
    /// Allow OpenID Providers on loopback and private addresses (and plain http on
    /// loopback): for tests and closed networks only. Off, issuers and every endpoint they
    /// name must be https to a public address, checked after DNS resolution.
    #[arg(
        long,
        env = "PORTAL_SSO_ALLOW_PRIVATE_ISSUERS",
        default_value_t = false,
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub sso_allow_private_issuers: bool,
    /// The SMTP server that delivers the portal's mails: `smtp://`, `smtps://` or
    /// `smtp+starttls://`, with `user:password@` when it needs them (never logged).
    /// Without it, mails are written as `.eml` files under `<data dir>/outbox-files/` and
    /// their links logged.
    #[arg(long, env = "PORTAL_SMTP_URL", global = true)]
    pub smtp_url: Option<crate::mail::SmtpUrl>,
    /// The sender of the portal's mails.
    #[arg(
        long,
        env = "PORTAL_MAIL_FROM",
        default_value = "Connect Portal <portal@localhost>",
        global = true
    )]
    pub mail_from: String,
    /// How long a server that started sending a mail holds it; if it dies meanwhile,
    /// another server (or the same one after a restart) sends it once this has passed.
    /// The SMTP conversation is given half of it (at most 20 s).
    #[arg(long, env = "PORTAL_MAIL_CLAIM_TIMEOUT", default_value = "2m", value_parser = parse_duration, global = true)]
    pub mail_claim_timeout: Duration,
    /// Serve Prometheus metrics at `/metrics` on this address (e.g. `127.0.0.1:9464`),
    /// a listener of its own, never the public port. Off unless set.
    #[arg(long, env = "PORTAL_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,
    /// At SIGTERM or Ctrl-C, how long requests in flight may take to finish before the
    /// server stops anyway.
    #[arg(long, env = "PORTAL_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = parse_duration, global = true)]
    pub shutdown_timeout: Duration,
    /// At SIGTERM or Ctrl-C, how long to go on accepting requests while `/readyz`
    /// answers 503, before closing the port: behind a load balancer, set it above the
    /// balancer's readiness check interval, so the balancer stops sending first and no
    /// request reaches a closed port.
    #[arg(long, env = "PORTAL_SHUTDOWN_DELAY", default_value = "0s", value_parser = parse_duration_or_zero, global = true)]
    pub shutdown_delay: Duration,
    /// Log lines as human-readable text, or as JSON objects for a log shipper.
    #[arg(
        long,
        env = "PORTAL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default). Applies pending migrations first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage partner accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage groups within an account.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage memberships (a person in a group of an account).
    #[command(subcommand)]
    Member(MemberCommand),
    /// Invite people to a group of an account: each gets a mailed link (7 days, single
    /// use); someone whose email domain the account proved for single sign-on, and who
    /// already uses the portal, is added at once instead.
    Invite {
        #[arg(long)]
        account: i64,
        /// One or more addresses (repeat the flag, or separate them by commas).
        #[arg(long, required = true)]
        email: Vec<String>,
        #[arg(long)]
        group: String,
    },
    /// Create a realistic demo (three accounts, four people) and print the sign-in
    /// credentials. Running it again changes nothing and prints them again.
    Demo,
    /// The mail outbox: what waits, what was sent, what was given up on.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Copy the SQLite database to a file while the portal runs and writes: a consistent
    /// copy (everything committed before it began), integrity checked, readable by its
    /// owner only, and written atomically (an existing file is replaced whole or not at
    /// all). The server key is not in it unless --with-key: keep secret.key (or
    /// PORTAL_SECRET_KEY) too. For PostgreSQL use pg_dump (docs/operations.md).
    Backup {
        /// The backup file to write.
        #[arg(long)]
        output: PathBuf,
        /// Put the server key in the backup, sealed with a passphrase read from standard
        /// input (at least 12 characters; argon2id and AES-256-GCM).
        #[arg(long, requires = "passphrase_stdin")]
        with_key: bool,
        /// Read the passphrase from standard input (one line).
        #[arg(long, requires = "with_key")]
        passphrase_stdin: bool,
    },
    /// Restore a backup made by `portal backup` into an empty (or new) data directory.
    /// Refuses a non-empty one, and a backup of a newer schema than this portal knows.
    /// Start the portal afterwards: it applies newer migrations itself.
    Restore {
        /// The backup file.
        #[arg(long)]
        input: PathBuf,
        /// Restore the server key sealed in the backup too, with the passphrase read
        /// from standard input (one line).
        #[arg(long)]
        passphrase_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// How many mails wait and were sent, and every mail given up on, with why.
    Status,
    /// Tries every mail given up on again (after fixing the mail server or the settings).
    Retry,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a person. The password is read from standard input (one line).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input (passwords never go on the command
        /// line). Required unless --sso-only.
        #[arg(long, required_unless_present = "sso_only")]
        password_stdin: bool,
        /// A person who signs in only through their account's single sign-on: no portal
        /// password is set (a random one nobody knows is stored), and "Forgot password?"
        /// sends them to their directory instead of a reset link.
        #[arg(long, conflicts_with = "password_stdin")]
        sso_only: bool,
    },
    /// Turn multi-factor authentication off for a person who lost their device; ends
    /// their sessions and records the event.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account; prints its id as the last line.
    Add {
        #[arg(long)]
        name: String,
        /// vendor, distributor or reseller.
        #[arg(long)]
        kind: String,
    },
    /// Set an account's multi-factor authentication policy.
    SetMfaPolicy {
        #[arg(long)]
        account: i64,
        /// optional, admins (required for administrators) or all (required for everyone).
        #[arg(long)]
        policy: String,
        /// Days covered members have to set up MFA (0 to 30; ignored for optional).
        #[arg(long, default_value_t = 0)]
        grace_days: i64,
        /// Require passkeys (phishing-resistant) of the people the policy covers; without
        /// it, any second factor meets the policy (ignored for optional).
        #[arg(long)]
        require_passkeys: bool,
    },
    /// Connect an account to its OpenID Provider for single sign-on (or turn it off).
    SetSso {
        #[arg(long)]
        account: i64,
        /// The provider's issuer URL (https; discovery at ISSUER/.well-known/openid-configuration).
        #[arg(long, required_unless_present = "disable")]
        issuer: Option<String>,
        #[arg(long, required_unless_present = "disable")]
        client_id: Option<String>,
        /// Read the client secret from the first line of standard input (never from
        /// the command line). Without it, the stored secret is kept.
        #[arg(long)]
        client_secret_stdin: bool,
        /// The email domains of the account's directory, separated by commas.
        #[arg(long, required_unless_present = "disable")]
        domains: Option<String>,
        /// Turn single sign-on off (the settings are kept).
        #[arg(long, conflicts_with_all = ["issuer", "client_id", "client_secret_stdin", "domains"])]
        disable: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Add a group to an account.
    Add {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        name: String,
        /// Members of this group administer the account.
        #[arg(long)]
        admin: bool,
    },
    /// Rename a group of an account.
    Rename {
        #[arg(long)]
        account: i64,
        /// The group's current name.
        #[arg(long)]
        group: String,
        #[arg(long)]
        new_name: String,
    },
    /// Delete a group that has no members.
    Delete {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        group: String,
    },
    /// Set whether a group's members administer the account (`--admin true|false`); the
    /// account keeps at least one administrator.
    SetAdmin {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        group: String,
        #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Put a person in a group of an account (one group per account).
    Add {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        group: String,
    },
    /// Remove a person from an account (the person is not deleted; they are told by
    /// mail). The account keeps at least one administrator.
    Remove {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
    },
    /// Move a member to another group of the account.
    Move {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
        #[arg(long)]
        group: String,
    },
}

/// Parses `90s`, `30m`, `1h`, `7d` or a number of seconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("\"{value}\" is not a duration like 90s, 30m, 1h or 7d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "\"{value}\" has an unknown unit (use s, m, h or d)"
            ))
        }
    };
    if secs == 0 {
        return Err("a duration must be greater than zero".into());
    }
    Ok(Duration::from_secs(secs))
}

/// [`parse_duration`], where zero (`0s`) means "none".
pub fn parse_duration_or_zero(value: &str) -> Result<Duration, String> {
    if value.trim().trim_end_matches(['s', 'm', 'h', 'd']) == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(value)
}

/// Validated configuration the server runs with.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    /// Scheme, host and port people use, without a trailing slash, e.g. `https://portal.example.com`.
    pub public_origin: String,
    pub secure_cookies: bool,
    pub session_idle_timeout: Duration,
    pub session_lifetime: Duration,
    pub history_retention: Duration,
    pub audit_retention: Duration,
    pub totp_issuer: String,
    /// Where the site's files come from.
    pub site: crate::web::site::Site,
    pub min_password_length: usize,
    pub trust_forwarded_for: bool,
    pub trusted_proxy_hops: usize,
    pub dns_server: Option<SocketAddr>,
    pub sso_allow_private_issuers: bool,
    pub smtp_url: Option<crate::mail::SmtpUrl>,
    pub mail_from: String,
    pub mail_claim_timeout: Duration,
    pub metrics_listen: Option<SocketAddr>,
    pub shutdown_timeout: Duration,
    pub shutdown_delay: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL may carry a password: show only its scheme.
        let scheme = self.database_url.split(':').next().unwrap_or("");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &scheme)
            .field("public_origin", &self.public_origin)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_lifetime", &self.session_lifetime)
            .field("totp_issuer", &self.totp_issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid {setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

impl Config {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let database_url = match &s.database_url {
            Some(url) if url.trim().is_empty() => {
                return Err(bad("--database-url (PORTAL_DATABASE_URL)", "it is empty"))
            }
            Some(url) => url.trim().to_string(),
            None => {
                let path = s.data_dir.join("portal.db");
                format!("sqlite://{}?mode=rwc", path.display())
            }
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "--database-url (PORTAL_DATABASE_URL)",
                "use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
            ));
        }
        if s.database_max_connections == 0 {
            return Err(bad(
                "--database-max-connections (PORTAL_DATABASE_MAX_CONNECTIONS)",
                "it must be at least 1",
            ));
        }
        let public = match &s.public_url {
            Some(u) => u.trim().to_string(),
            None => {
                let addr = s.listen;
                let host = if addr.ip().is_unspecified() {
                    "localhost".to_string()
                } else {
                    match addr {
                        SocketAddr::V4(a) => a.ip().to_string(),
                        SocketAddr::V6(a) => format!("[{}]", a.ip()),
                    }
                };
                format!("http://{host}:{}", addr.port())
            }
        };
        let setting = "--public-url (PORTAL_PUBLIC_URL)";
        let url =
            url::Url::parse(&public).map_err(|e| bad(setting, format!("\"{public}\": {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(setting, "it must start with http:// or https://"));
        }
        if url.host_str().is_none() {
            return Err(bad(setting, "it must name a host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                setting,
                "the portal must be served at the root of its origin (no path, query or fragment)",
            ));
        }
        let public_origin = url.origin().ascii_serialization();
        if s.mail_claim_timeout < Duration::from_secs(2) {
            return Err(bad(
                "--mail-claim-timeout (PORTAL_MAIL_CLAIM_TIMEOUT)",
                "it must be at least 2s (the SMTP conversation gets half of it)",
            ));
        }
        if s.history_retention < s.session_lifetime {
            return Err(bad(
                "--history-retention (PORTAL_HISTORY_RETENTION)",
                "it cannot be shorter than --session-lifetime (PORTAL_SESSION_LIFETIME)",
            ));
        }
        if s.session_idle_timeout > s.session_lifetime {
            return Err(bad(
                "--session-idle-timeout (PORTAL_SESSION_IDLE_TIMEOUT)",
                "it cannot be longer than --session-lifetime (PORTAL_SESSION_LIFETIME)",
            ));
        }
        let issuer = s.totp_issuer.trim().to_string();
        if issuer.is_empty() || issuer.contains(':') {
            return Err(bad(
                "PORTAL_TOTP_ISSUER (--totp-issuer)",
                "it must be non-empty and contain no colon",
            ));
        }
        if s.min_password_length < app::validation::DEFAULT_MIN_PASSWORD_CHARS
            || s.min_password_length > 64
        {
            return Err(bad(
                "--min-password-length (PORTAL_MIN_PASSWORD_LENGTH)",
                "it must be between 8 and 64",
            ));
        }
        if s.trusted_proxy_hops == 0 || s.trusted_proxy_hops > 10 {
            return Err(bad(
                "--trusted-proxy-hops (PORTAL_TRUSTED_PROXY_HOPS)",
                "it must be between 1 and 10",
            ));
        }
        Ok(Self {
            listen: s.listen,
            data_dir: s.data_dir.clone(),
            database_url,
            database_max_connections: s.database_max_connections,
            secure_cookies: url.scheme() == "https",
            public_origin,
            session_idle_timeout: s.session_idle_timeout,
            session_lifetime: s.session_lifetime,
            history_retention: s.history_retention,
            audit_retention: s.audit_retention,
            totp_issuer: issuer,
            site: crate::web::site::Site::choose(s.site_root.clone()),
            min_password_length: s.min_password_length,
            trust_forwarded_for: s.trust_forwarded_for,
            trusted_proxy_hops: s.trusted_proxy_hops,
            dns_server: s.dns_server,
            sso_allow_private_issuers: s.sso_allow_private_issuers,
            smtp_url: s.smtp_url.clone(),
            mail_from: s.mail_from.clone(),
            mail_claim_timeout: s.mail_claim_timeout,
            metrics_listen: s.metrics_listen,
            shutdown_timeout: s.shutdown_timeout,
            shutdown_delay: s.shutdown_delay,
        })
    }

    /// A configuration for tests: SQLite or PostgreSQL at `database_url`, http on loopback.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("."),
            database_url: database_url.to_string(),
            database_max_connections: 4,
            public_origin: "http://127.0.0.1:3000".into(),
            secure_cookies: false,
            session_idle_timeout: Duration::from_secs(3600),
            session_lifetime: Duration::from_secs(24 * 3600),
            history_retention: Duration::from_secs(90 * 86_400),
            audit_retention: Duration::from_secs(365 * 86_400),
            totp_issuer: "Connect Auth".into(),
            site: crate::web::site::Site::Folder(PathBuf::from("target/site")),
            min_password_length: 8,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            dns_server: None,
            // The tests' OpenID Provider runs on loopback.
            sso_allow_private_issuers: true,
            smtp_url: None,
            mail_from: "Connect Portal <portal@localhost>".into(),
            mail_claim_timeout: Duration::from_secs(120),
            metrics_listen: None,
            shutdown_timeout: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut all = vec!["portal"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.settings).expect("parse")
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("120"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_settings(&settings(&[])).expect("valid");
        assert_eq!(c.public_origin, "http://127.0.0.1:3000");
        assert!(!c.secure_cookies);
        assert!(c.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn https_public_url_secures_cookies() {
        let c = Config::from_settings(&settings(&["--public-url", "https://portal.example.com/"]))
            .expect("valid");
        assert_eq!(c.public_origin, "https://portal.example.com");
        assert!(c.secure_cookies);
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let e = Config::from_settings(&settings(&["--public-url", "ftp://x"])).unwrap_err();
        assert!(e.to_string().contains("--public-url"), "{e}");
        let e = Config::from_settings(&settings(&["--public-url", "https://x.example/portal"]))
            .unwrap_err();
        assert!(e.to_string().contains("PORTAL_PUBLIC_URL"), "{e}");
        let e = Config::from_settings(&settings(&["--database-url", "mysql://x"])).unwrap_err();
        assert!(e.to_string().contains("PORTAL_DATABASE_URL"), "{e}");
        let e = Config::from_settings(&settings(&[
            "--session-idle-timeout",
            "2d",
            "--session-lifetime",
            "1d",
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("--session-idle-timeout"), "{e}");
        assert!(Cli::try_parse_from(["portal", "--listen", "nowhere"]).is_err());
    }
}
