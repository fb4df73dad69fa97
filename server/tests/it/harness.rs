//! A fresh database per test, on SQLite and on PostgreSQL, and a client that drives the
//! real router (pages, server functions, middleware) without a network.

use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use portal::{
    config::Config,
    db::Db,
    env::{ManualClock, OsRandom},
    state::AppState,
};
use std::sync::Arc;
use tower::ServiceExt;

/// 2026-11-24T12:00:00Z, a fixed start for the manual clock.
pub const T0: i64 = 1_795_521_600_000;
pub const ORIGIN: &str = "http://127.0.0.1:3000";
pub const PASSWORD: &str = "correct horse battery";

/// One runtime for the whole test binary. Leptos and sqlx keep process-wide state (the
/// task spawner, driver threads); with a runtime per test, a test could wait on a task
/// handed to the runtime of a test that had already finished, and hang.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

pub fn postgres_base_url() -> String {
    std::env::var("PORTAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestEnv {
    pub state: AppState,
    /// The database URL, to start a second server instance on the same database.
    pub url: String,
    pub clock: ManualClock,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { schema: String },
}

/// Cheap argon2 parameters: the tests exercise the flow, not the cost (the production
/// parameters are checked in a unit test).
fn test_params() -> argon2::Params {
    argon2::Params::new(1024, 1, 1, None).expect("params")
}

/// The tests' configuration: loopback OpenID Providers allowed, and the tests' own DNS
/// server for domain proofs.
pub fn test_config(url: &str) -> Config {
    let mut config = Config::for_tests(url);
    config.dns_server = Some(dns_server().addr);
    config
}

async fn build(url: &str, cleanup: Cleanup) -> TestEnv {
    let db = Db::connect(url, 4).await.expect("connect");
    db.migrate().await.expect("migrate");
    let clock = ManualClock::new(T0);
    let state = AppState::with(
        db,
        test_config(url),
        Arc::new(clock.clone()),
        Arc::new(OsRandom),
        test_params(),
        portal::secret_key::SecretKey::from_bytes([42; 32]),
    )
    .expect("state");
    TestEnv {
        state,
        url: url.to_string(),
        clock,
        cleanup,
    }
}

pub async fn sqlite() -> TestEnv {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("portal.db").display()
    );
    build(&url, Cleanup::Sqlite(dir)).await
}

/// A fresh schema on the tests' PostgreSQL, or `None` when it cannot be reached and
/// `PORTAL_TEST_REQUIRE_POSTGRES` is not set: the PostgreSQL half is then skipped, and
/// standard error says so once (`scripts/test.sh`, and so CI, sets it: both halves are
/// required there).
pub async fn postgres() -> Option<TestEnv> {
    sqlx::any::install_default_drivers();
    let base = postgres_base_url();
    // Found unreachable once: not tried again by every test (each try waits).
    static UNREACHABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let require = std::env::var_os("PORTAL_TEST_REQUIRE_POSTGRES").is_some();
    if !require && UNREACHABLE.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let admin = match sqlx::any::AnyPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&base)
        .await
    {
        Ok(admin) => admin,
        Err(e) if require => {
            panic!("PostgreSQL at {base} is required for these tests: {e}")
        }
        Err(e) => {
            UNREACHABLE.store(true, std::sync::atomic::Ordering::Relaxed);
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                // Straight to standard error: the test harness would hide `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nPostgreSQL at {base} is not reachable ({e}): the PostgreSQL half of \
                     the tests is SKIPPED (they pass without running). Start it with \
                     scripts/postgres.sh, or set PORTAL_TEST_REQUIRE_POSTGRES=1 to fail \
                     instead.\n"
                );
            });
            return None;
        }
    };
    let schema = format!("pt_{}", portal::env::random_hex(&OsRandom, 8));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some(build(&url, Cleanup::Postgres { schema }).await)
}

impl TestEnv {
    pub async fn finish(self) {
        self.state.db.close().await;
        if let Cleanup::Postgres { schema } = &self.cleanup {
            if let Ok(admin) = sqlx::AnyPool::connect(&postgres_base_url()).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            }
        }
    }

    pub fn client(&self) -> Client {
        Client {
            router: portal::web::router(self.state.clone()),
            cookie: None,
            pending: None,
            sso: None,
            device: None,
            flash: None,
        }
    }

    /// A second server instance on the same database (its own pool, same clock and key).
    pub async fn second_instance(&self) -> AppState {
        self.instance_with((*self.state.config).clone()).await
    }

    /// Another server instance on the same database with its own configuration.
    pub async fn instance_with(&self, config: portal::config::Config) -> AppState {
        let db = Db::connect(&self.url, 4).await.expect("connect");
        AppState::with(
            db,
            config,
            Arc::new(self.clock.clone()),
            Arc::new(OsRandom),
            test_params(),
            self.state.secret_key.clone(),
        )
        .expect("state")
    }

    /// Sets the test clock to the real time (for tests with real processes, providers or
    /// authenticator codes, which use the real clock).
    pub fn use_real_clock(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(T0, |d| i64::try_from(d.as_millis()).unwrap_or(T0));
        self.clock.set(now);
    }

    pub fn now(&self) -> i64 {
        self.state.now()
    }

    /// A pooled connection, for calling the data layer directly.
    pub async fn conn(&self) -> sqlx::pool::PoolConnection<sqlx::Any> {
        self.state
            .db
            .acquire()
            .await
            .expect("a database connection")
    }

    /// Adds a person with [`PASSWORD`].
    pub async fn user(&self, email: &str, name: &str) -> i64 {
        portal::people::add(
            &self.state.db,
            &self.state.passwords,
            email,
            name,
            &app::Secret::new(PASSWORD),
            8,
            self.now(),
        )
        .await
        .expect("create user")
    }

    /// Adds an account with an "Administrators" and a "Users" group.
    pub async fn account(&self, name: &str, kind: app::models::AccountKind) -> i64 {
        let id =
            portal::db::directory::create_account(&mut *self.conn().await, name, kind, self.now())
                .await
                .expect("account");
        for (g, admin) in [("Administrators", true), ("Users", false)] {
            portal::db::directory::create_group(&mut *self.conn().await, id, g, admin, self.now())
                .await
                .expect("group");
        }
        id
    }

    pub async fn member(&self, account: i64, email: &str, group: &str) {
        portal::db::directory::add_member(
            &mut *self.conn().await,
            account,
            email,
            group,
            self.now(),
        )
        .await
        .expect("member");
    }

    /// Makes the database refuse one kind of write from now on, as a failing disk or a
    /// constraint would: `table` and `op` (`INSERT` or `UPDATE`) with a condition on the
    /// new row (`when`, in SQL common to both databases). For proving that a use case's
    /// writes are one transaction.
    pub async fn fail_writes(&self, name: &str, table: &str, op: &str, when: &str) {
        let sql = match self.state.db.backend() {
            portal::db::Backend::Sqlite => vec![format!(
                "CREATE TRIGGER {name} BEFORE {op} ON {table} WHEN {when} \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )],
            portal::db::Backend::Postgres => vec![
                "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                    .to_string(),
                format!(
                    "CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW \
                     WHEN ({when}) EXECUTE FUNCTION injected_failure()"
                ),
            ],
        };
        for statement in sql {
            sqlx::raw_sql(&statement)
                .execute(self.state.db.pool())
                .await
                .expect("install the failure");
        }
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(self.state.db.pool())
            .await
            .expect("query")
            .try_get::<i64, _>(0)
            .expect("i64")
    }
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn app_error(&self) -> Option<app::AppError> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A browser stand-in: keeps the session cookie and sends same-origin headers.
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    /// The pending sign-in cookie (password done, code next).
    pub pending: Option<String>,
    /// The single sign-on attempt's state cookie.
    pub sso: Option<String>,
    /// This browser's device cookie.
    pub device: Option<String>,
    /// A plain form's answer for the next page (see the server's `web::forms`).
    pub flash: Option<String>,
}

impl Client {
    pub fn for_state(state: AppState) -> Self {
        Self {
            router: portal::web::router(state),
            cookie: None,
            pending: None,
            sso: None,
            device: None,
            flash: None,
        }
    }

    pub async fn send(&mut self, req: Request<Body>) -> Response {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for set in headers.get_all(http::header::SET_COOKIE) {
            let set = set.to_str().expect("ascii");
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if name.contains("portal_session") {
                    self.cookie = (!value.is_empty()).then(|| format!("{name}={value}"));
                }
                if name.contains("portal_pending") {
                    self.pending = (!value.is_empty()).then(|| format!("{name}={value}"));
                }
                if name.contains("portal_sso") {
                    self.sso = (!value.is_empty()).then(|| format!("{name}={value}"));
                }
                if name.contains("portal_device") {
                    self.device = (!value.is_empty()).then(|| format!("{name}={value}"));
                }
                if name.contains("portal_flash") {
                    self.flash = (!value.is_empty()).then(|| format!("{name}={value}"));
                }
            }
        }
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    fn builder(&self, method: &str, uri: &str) -> http::request::Builder {
        let mut b = Request::builder().method(method).uri(uri).header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36",
        );
        let cookies: Vec<&str> = [
            &self.cookie,
            &self.pending,
            &self.sso,
            &self.device,
            &self.flash,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        if !cookies.is_empty() {
            b = b.header("cookie", cookies.join("; "));
        }
        b
    }

    pub async fn get(&mut self, uri: &str) -> Response {
        let req = self
            .builder("GET", uri)
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// Posts a plain HTML form (no script) from the portal's own pages.
    pub async fn post_form(&mut self, uri: &str, form: &[(&str, &str)]) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .builder("POST", uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header("origin", ORIGIN)
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Calls the server function `F` the way the hydrated app does: its address comes
    /// from its type (a renamed or removed function does not compile), the fields are the
    /// form the browser sends.
    pub async fn call<F: ServerFn>(&mut self, form: &[(&str, &str)]) -> Response {
        self.call_path(F::PATH, form, Some("same-origin"), Some(ORIGIN))
            .await
    }

    /// [`Client::call`] with the given `Sec-Fetch-Site` and `Origin` headers (or none).
    pub async fn call_from<F: ServerFn>(
        &mut self,
        form: &[(&str, &str)],
        fetch_site: Option<&str>,
        origin: Option<&str>,
    ) -> Response {
        self.call_path(F::PATH, form, fetch_site, origin).await
    }

    pub async fn call_path(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        fetch_site: Option<&str>,
        origin: Option<&str>,
    ) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut b = self
            .builder("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(site) = fetch_site {
            b = b.header("sec-fetch-site", site);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        self.call::<api::SignIn>(&[("email", email), ("password", password)])
            .await
    }

    /// "Confirm it's you" with [`PASSWORD`] (and `code`, when MFA is on).
    pub async fn step_up(&mut self, code: Option<&str>) -> Response {
        let mut form = vec![("current_password", PASSWORD)];
        form.extend(code.map(|c| ("code", c)));
        let r = self.call::<api::StepUp>(&form).await;
        assert!(r.status < 400, "step-up refused: {} {}", r.status, r.body);
        r
    }
}

/// Runs the same test body on SQLite and on PostgreSQL.
pub use app::api;
pub use leptos::server_fn::ServerFn;

#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$env:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($env: &$crate::harness::TestEnv) $body

            #[test]
            fn sqlite() {
                $crate::harness::runtime().block_on(async {
                    let env = $crate::harness::sqlite().await;
                    run(&env).await;
                    env.finish().await;
                })
            }

            #[test]
            fn postgres() {
                $crate::harness::runtime().block_on(async {
                    let Some(env) = $crate::harness::postgres().await else {
                        return;
                    };
                    run(&env).await;
                    env.finish().await;
                })
            }
        }
    };
}

/// The DNS server of the domain-proof tests: `end2end/dns/server.py` (dnslib, installed
/// by `scripts/setup.sh --tests`), started once per test run on free loopback ports,
/// ending with this process. Records are set through its HTTP control port.
pub struct DnsServer {
    pub addr: std::net::SocketAddr,
    control: String,
}

pub fn dns_server() -> &'static DnsServer {
    static DNS: std::sync::OnceLock<DnsServer> = std::sync::OnceLock::new();
    DNS.get_or_init(|| {
        use std::io::BufRead;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = std::process::Command::new("python3")
            .arg(root.join("end2end/dns/server.py"))
            .args(["0", "0"])
            .env("PYTHONPATH", root.join(".tools/python"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start the DNS server (python3)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("DNS server output");
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert!(
            parts.len() == 3 && parts[0] == "ready",
            "the DNS server did not start (run scripts/setup.sh --tests): {line}"
        );
        std::mem::forget(child);
        DnsServer {
            addr: format!("127.0.0.1:{}", parts[1]).parse().expect("addr"),
            control: format!("http://127.0.0.1:{}", parts[2]),
        }
    })
}

impl DnsServer {
    /// Adds TXT records to `name` (or, with no values, removes them all).
    pub async fn set_txt(&self, name: &str, values: &[&str]) {
        self.set("txt", name, values).await
    }

    /// Adds A records (IPv4 addresses) to `name`.
    pub async fn set_a(&self, name: &str, values: &[&str]) {
        self.set("a", name, values).await
    }

    async fn set(&self, kind: &str, name: &str, values: &[&str]) {
        let r = reqwest::Client::new()
            .post(format!("{}/{kind}", self.control))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "name": name, "values": values }).to_string())
            .send()
            .await
            .expect("DNS control");
        assert_eq!(r.status().as_u16(), 204);
    }
}

/// The OpenID Provider of the SSO tests: the certified `oidc-provider` package from npm
/// (installed by `scripts/setup.sh --tests`), started once per test run on a free
/// loopback port, ending with this process.
pub struct Provider {
    pub issuer: String,
    pub client_secret: &'static str,
}

/// The tests' directory (end2end/oidc/provider.mjs), started once per test process.
pub fn oidc_provider() -> &'static Provider {
    static OP: std::sync::OnceLock<Provider> = std::sync::OnceLock::new();
    OP.get_or_init(|| start_provider(false))
}

/// A second, hostile directory: its own issuer and keys, and it vouches for any email
/// typed at its login form (what an administrator's own provider could do).
pub fn hostile_provider() -> &'static Provider {
    static OP: std::sync::OnceLock<Provider> = std::sync::OnceLock::new();
    OP.get_or_init(|| start_provider(true))
}

fn start_provider(hostile: bool) -> Provider {
    {
        use std::io::BufRead;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let script = root.join("end2end/oidc/provider.mjs");
        assert!(
            root.join("end2end/node_modules/oidc-provider").exists(),
            "the SSO tests need end2end/node_modules (run scripts/setup.sh --tests)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = std::process::Command::new("node")
            .arg(&script)
            .arg(port.to_string())
            .arg(format!("{ORIGIN}/sso/callback"))
            .env("OIDC_CLIENT_SECRET", "it-client-secret")
            .env("OIDC_EXIT_ON_STDIN_END", "1")
            .env("OIDC_VOUCH_FOR_ANYONE", if hostile { "1" } else { "0" })
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("provider output");
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("provider did not start: {line}"))
            .to_string();
        // Keep stdin open for as long as this process lives.
        std::mem::forget(child);
        Provider {
            issuer,
            client_secret: "it-client-secret",
        }
    }
}

/// Plays the person at the provider: follows the authorization request, signs in at the
/// development login form as `email`, and returns the callback address the provider
/// sends the browser to (not followed).
pub async fn directory_sign_in(authorization_url: &str, email: &str) -> String {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut url = reqwest::Url::parse(authorization_url).expect("url");
    for _ in 0..12 {
        let r = http.get(url.clone()).send().await.expect("provider");
        if r.status().is_redirection() {
            let loc = r.headers()["location"].to_str().expect("location");
            let next = url.join(loc).expect("join");
            if next.as_str().starts_with(&format!("{ORIGIN}/sso/callback")) {
                return next.to_string();
            }
            url = next;
            continue;
        }
        let body = r.text().await.expect("body");
        // The development interactions post back to their own address.
        let form: Vec<(&str, &str)> = if body.contains("value=\"consent\"") {
            vec![("prompt", "consent")]
        } else if body.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", email), ("password", "any")]
        } else {
            panic!("unexpected page at {url}: {body}");
        };
        let r = http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .expect("post");
        assert!(r.status().is_redirection(), "login not accepted");
        url = url
            .join(r.headers()["location"].to_str().expect("location"))
            .expect("join");
    }
    panic!("the provider never sent the browser back");
}

/// `n` requests at once, each from its own browser on `state`: `call` gets the client
/// and its index. Returns what each call returned, in index order.
pub async fn at_once<T, F, Fut>(state: &portal::state::AppState, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Client, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(call(Client::for_state(state.clone()), i)))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    results
}

/// A real SMTP server for one test (`end2end/smtp/server.py`, aiosmtpd, installed by
/// `scripts/setup.sh --tests`) on a free loopback port; it keeps every mail it accepts as
/// an `.eml` file, or refuses them all (`reject`), and ends with this process.
pub struct SmtpServer {
    pub url: String,
    dir: tempfile::TempDir,
}

pub fn smtp_server(reject: bool) -> SmtpServer {
    use std::io::BufRead;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("mail dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(root.join("end2end/smtp/server.py"))
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir.path())
        .env("PYTHONPATH", root.join(".tools/python"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    if reject {
        cmd.arg("--reject");
    }
    let mut child = cmd.spawn().expect("start the SMTP server (python3)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("SMTP server output");
    assert_eq!(
        line.trim(),
        "ready",
        "the SMTP server did not start (run scripts/setup.sh --tests)"
    );
    std::mem::forget(child);
    SmtpServer {
        url: format!("smtp://127.0.0.1:{port}"),
        dir,
    }
}

/// An instance of the portal on `env`'s database sending its mail through `smtp`.
pub async fn sending_through(env: &TestEnv, smtp: &SmtpServer) -> portal::AppState {
    let mut config = test_config(&env.url);
    config.smtp_url = Some(smtp.url.parse().expect("SMTP URL"));
    env.instance_with(config).await
}

impl SmtpServer {
    /// Every mail received so far, as its raw text, oldest first.
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("mail dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("mail"))
            .collect()
    }
}

/// "Confirm it's you", asking for a code or not, for a person without passkeys.
pub fn step_up(code: bool) -> app::AppError {
    app::AppError::StepUpRequired {
        code,
        passkey: false,
        only_passkey: false,
    }
}
