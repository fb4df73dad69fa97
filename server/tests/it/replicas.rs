//! Scale-out: two `portal serve` processes on different ports sharing one PostgreSQL
//! behave as one portal. Real processes, real HTTP, the real clock.

use crate::harness::*;
use app::models::{AccountKind, MfaEnrolment};
use base64::Engine;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// A running `portal serve`, killed when dropped.
pub(crate) struct Replica {
    pub child: Child,
    pub base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(url: &str, data_dir: &std::path::Path) -> Replica {
    start_with(url, data_dir, &[]).await
}

/// [`start`] with more settings in the environment.
pub(crate) async fn start_with(
    url: &str,
    data_dir: &std::path::Path,
    settings: &[(&str, &str)],
) -> Replica {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("serve")
        .env("PORTAL_DATABASE_URL", url)
        .env("PORTAL_DATA_DIR", data_dir)
        .env("PORTAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTAL_SECRET_KEY", key)
        .env("PORTAL_LOG", "warn")
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start portal serve");
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{}/readyz", replica.base)).send().await {
            if r.status().is_success() {
                return replica;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("replica on port {port} did not become ready");
}

/// A browser stand-in talking HTTP to whichever replica it is pointed at.
pub(crate) struct Browser {
    pub http: reqwest::Client,
    pub session: Option<String>,
    pub pending: Option<String>,
}

pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            session: None,
            pending: None,
        }
    }

    fn cookies(&self) -> String {
        [&self.session, &self.pending]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let pair = v
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let slot = match name {
                    "portal_session" => &mut self.session,
                    "portal_pending" => &mut self.pending,
                    _ => continue,
                };
                *slot = (!value.is_empty()).then(|| pair.to_string());
            }
        }
    }

    async fn answer(&mut self, r: reqwest::Response) -> Answer {
        self.keep(&r);
        Answer {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: r.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&mut self, replica: &Replica, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", replica.base))
            .header("cookie", self.cookies())
            .send()
            .await
            .expect("get");
        self.answer(r).await
    }

    pub async fn call<F: ServerFn>(&mut self, replica: &Replica, form: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .post(format!("{}{}", replica.base, F::PATH))
            .header("cookie", self.cookies())
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("post");
        self.answer(r).await
    }

    pub async fn sign_in(&mut self, replica: &Replica, email: &str, password: &str) -> Answer {
        self.call::<api::SignIn>(replica, &[("email", email), ("password", password)])
            .await
    }
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[test]
fn two_replicas_on_one_postgresql_behave_as_one() {
    runtime().block_on(async {
        let Some(env) = postgres().await else {
            return;
        };
        env.use_real_clock(); // the processes use the real clock
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        env.user("alan@example.com", "Alan Turing").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(acme, "grace@example.com", "Users").await;
        let data = tempfile::tempdir().expect("data dir");
        let a = start(&env.url, data.path()).await;
        let b = start(&env.url, data.path()).await;

        // A session made through one replica works on the other.
        let mut grace = Browser::new();
        assert!(
            grace
                .sign_in(&a, "grace@example.com", PASSWORD)
                .await
                .status
                < 400
        );
        assert_eq!(grace.get(&b, "/").await.status, 200);

        // Revoking through one replica ends it on the other.
        let mut other = Browser::new();
        other.sign_in(&b, "grace@example.com", PASSWORD).await;
        let sessions = grace.call::<api::ListSessions>(&a, &[("page", "1")]).await;
        let page: app::models::SessionsPage =
            serde_json::from_str(&sessions.body).expect("sessions");
        let victim = page
            .sessions
            .iter()
            .find(|s| !s.current)
            .expect("other session")
            .id;
        let r = grace
            .call::<api::RevokeSession>(&b, &[("session_id", &victim.to_string())])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        let r = other.get(&a, "/").await;
        assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));

        // Signing out through one replica ends the session on the other.
        let before = grace.session.clone();
        grace.call::<api::SignOut>(&b, &[]).await;
        grace.session = before;
        assert_eq!(grace.get(&a, "/").await.status, 303);

        // Sign-in throttling counts failures from both replicas.
        let mut attacker = Browser::new();
        for i in 0..5 {
            let replica = if i % 2 == 0 { &a } else { &b };
            assert_eq!(
                attacker
                    .sign_in(replica, "alan@example.com", "wrong")
                    .await
                    .status,
                401
            );
        }
        for replica in [&a, &b] {
            let r = attacker
                .sign_in(replica, "alan@example.com", PASSWORD)
                .await;
            assert_eq!(r.status, 429, "throttled on every replica");
        }

        // The TOTP replay guard holds across replicas.
        let mut ada = Browser::new();
        ada.sign_in(&a, "ada@example.com", PASSWORD).await;
        ada.call::<api::StepUp>(&a, &[("current_password", PASSWORD)])
            .await;
        let e: MfaEnrolment =
            serde_json::from_str(&ada.call::<api::StartMfaEnrolment>(&b, &[]).await.body)
                .expect("enrolment");
        let b32: String = e.secret_grouped.split_whitespace().collect();
        let secret = totp_rs::Secret::Encoded(b32).to_bytes().expect("base32");
        let code_for = |t: u64| portal::mfa::code_at(totp_rs::Algorithm::SHA1, 6, &secret, t);
        let r = ada
            .call::<api::EnableMfa>(&a, &[("code", &code_for(now_secs()))])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        // Wait for a fresh time step, use its code on A, then replay it on B.
        let step = now_secs() / 30;
        while now_secs() / 30 == step {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let code = code_for(now_secs());
        let mut first = Browser::new();
        first.sign_in(&a, "ada@example.com", PASSWORD).await;
        let r = first
            .call::<api::VerifySignInCode>(&a, &[("code", &code)])
            .await;
        assert!(
            r.status < 400 && first.session.is_some(),
            "{} {}",
            r.status,
            r.body
        );
        let mut second = Browser::new();
        second.sign_in(&b, "ada@example.com", PASSWORD).await;
        let r = second
            .call::<api::VerifySignInCode>(&b, &[("code", &code)])
            .await;
        assert_eq!(
            r.status, 422,
            "the same code is refused on the other replica: {}",
            r.body
        );
        assert!(second.session.is_none());

        // A policy change through one replica applies at once on the other.
        let mut member = Browser::new();
        member.sign_in(&b, "grace@example.com", PASSWORD).await;
        assert_eq!(member.get(&b, "/").await.status, 200);
        // (by Ada's first browser: it confirmed her password minutes ago)
        let r = ada
            .call::<api::SetAccountMfaPolicy>(
                &a,
                &[
                    ("account_id", &acme.to_string()),
                    ("policy", "all"),
                    ("grace_days", "0"),
                ],
            )
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        let r = member.get(&b, "/").await;
        assert_eq!(r.status, 303);
        assert!(r.location.unwrap_or_default().contains("mfa_required="));

        drop((a, b));
        env.finish().await;
    });
}

/// A mail server that accepts connections and never answers: a delivery to it hangs
/// until the sender gives up. Its port.
fn hanging_smtp() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

/// Waits until `check` holds, for at most `secs` seconds.
async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..secs * 10 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {secs} s");
}

/// A change, then the server is killed (SIGKILL) while it is sending the change's mail:
/// the mail is not lost; after the restart it is delivered, once.
async fn killed_while_sending(env: &TestEnv) {
    env.use_real_clock();
    env.user("ada@example.com", "Ada Lovelace").await;
    let data = tempfile::tempdir().expect("data dir");
    let hung = format!("smtp://127.0.0.1:{}", hanging_smtp());
    let claim = ("PORTAL_MAIL_CLAIM_TIMEOUT", "4s");
    let a = start_with(&env.url, data.path(), &[("PORTAL_SMTP_URL", &hung), claim]).await;
    let mut ada = Browser::new();
    ada.sign_in(&a, "ada@example.com", PASSWORD).await;
    let new = "a brand new passphrase 7";
    let r = ada
        .call::<api::ChangePassword>(
            &a,
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    // The server has taken the mail and is talking to the mail server: kill it there.
    for _ in 0..100 {
        if env
            .scalar("SELECT COUNT(*) FROM mail_outbox WHERE claimed_until IS NOT NULL")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE claimed_until IS NOT NULL AND sent_at IS NULL"
        )
        .await,
        1,
        "the mail is being sent"
    );
    drop(a); // SIGKILL
    let smtp = smtp_server(false);
    let _b = start_with(
        &env.url,
        data.path(),
        &[("PORTAL_SMTP_URL", &smtp.url), claim],
    )
    .await;
    eventually(20, "delivery after the restart", || {
        !smtp.received().is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "once");
    assert!(
        mails[0].contains("Subject: Your password was changed"),
        "{}",
        mails[0]
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL")
            .await,
        1
    );
}

#[test]
fn a_server_killed_while_sending_delivers_after_restart_sqlite() {
    runtime().block_on(async {
        let env = sqlite().await;
        killed_while_sending(&env).await;
        env.finish().await;
    });
}

#[test]
fn a_server_killed_while_sending_delivers_after_restart_postgres() {
    runtime().block_on(async {
        let Some(env) = postgres().await else {
            return;
        };
        killed_while_sending(&env).await;
        env.finish().await;
    });
}

#[test]
fn two_replicas_on_postgresql_deliver_each_mail_once() {
    runtime().block_on(async {
        let Some(env) = postgres().await else {
            return;
        };
        env.use_real_clock();
        let smtp = smtp_server(false);
        let data = tempfile::tempdir().expect("data dir");
        let settings = [("PORTAL_SMTP_URL", smtp.url.as_str())];
        let a = start_with(&env.url, data.path(), &settings).await;
        let b = start_with(&env.url, data.path(), &settings).await;
        const MAILS: usize = 60;
        for i in 0..MAILS {
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
        eventually(30, "every delivery", || smtp.received().len() >= MAILS).await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let mut subjects: Vec<String> = smtp
            .received()
            .iter()
            .filter_map(|m| {
                m.lines()
                    .find(|l| l.starts_with("Subject: "))
                    .map(str::to_string)
            })
            .collect();
        assert_eq!(subjects.len(), MAILS, "no mail twice");
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), MAILS);
        drop((a, b));
        env.finish().await;
    });
}

/// Sends SIGTERM to the replica.
fn send_term(replica: &Replica) {
    let sent = Command::new("kill")
        .args(["-TERM", &replica.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Waits for a replica sent SIGTERM to end; its exit status.
async fn exit_status(mut replica: Replica) -> std::process::ExitStatus {
    for _ in 0..300 {
        if let Some(status) = replica.child.try_wait().expect("wait") {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the replica did not stop within 30 s of SIGTERM");
}

/// A load balancer as the docs configure one: it sends each request to the next replica
/// whose `/readyz` answered 200 at its last check (every 100 ms), and passes a request
/// whose connection was refused to the next replica (the request was never sent). Each
/// request on a connection of its own.
#[derive(Clone, Default)]
struct Balancer {
    /// (base URL, ready at the last check)
    replicas: Arc<std::sync::Mutex<Vec<(String, bool)>>>,
    next: Arc<std::sync::atomic::AtomicUsize>,
}

impl Balancer {
    fn set(&self, replicas: &[&Replica]) {
        let mut list = self.replicas.lock().expect("lock");
        let ready: std::collections::HashMap<String, bool> = list.iter().cloned().collect();
        *list = replicas
            .iter()
            .map(|r| (r.base.clone(), ready.get(&r.base).copied().unwrap_or(true)))
            .collect();
    }

    fn check_readiness(
        &self,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(std::time::Duration::from_millis(200))
                .build()
                .expect("client");
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let bases: Vec<String> = this
                    .replicas
                    .lock()
                    .expect("lock")
                    .iter()
                    .map(|(b, _)| b.clone())
                    .collect();
                // All replicas at once: a round takes one timeout at most.
                let checks = bases.iter().map(|base| {
                    let http = http.clone();
                    async move {
                        matches!(
                            http.get(format!("{base}/readyz")).send().await,
                            Ok(r) if r.status().is_success()
                        )
                    }
                });
                let ready = futures_util::future::join_all(checks).await;
                for (base, ready) in bases.iter().zip(ready) {
                    for entry in this.replicas.lock().expect("lock").iter_mut() {
                        if &entry.0 == base {
                            entry.1 = ready;
                        }
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    }

    fn pick(&self, skip: usize) -> Option<String> {
        let list = self.replicas.lock().expect("lock");
        let ready: Vec<&String> = list.iter().filter(|(_, r)| *r).map(|(b, _)| b).collect();
        if ready.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + skip;
        Some(ready[n % ready.len()].clone())
    }

    /// Sends a request built for a replica's base URL; the answer's status.
    async fn send(&self, build: impl Fn(&str) -> reqwest::RequestBuilder) -> Result<u16, String> {
        for attempt in 0..4 {
            let Some(base) = self.pick(attempt) else {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            match build(&base).send().await {
                Ok(r) => return Ok(r.status().as_u16()),
                Err(e) if e.is_connect() => continue,
                Err(e) => return Err(format!("{base}: {e}")),
            }
        }
        Err("no replica accepted the connection".into())
    }
}

/// Stop one replica, start the new build in its place, then the other, while traffic
/// runs through a load balancer: every request is answered 200, each client's last save
/// is what the portal holds, a stopping replica says it is not ready while it still
/// serves (the shutdown delay), and each stopped replica exits 0.
#[test]
fn a_rolling_upgrade_of_two_replicas_loses_no_request() {
    runtime().block_on(async {
        let Some(env) = postgres().await else {
            return;
        };
        env.use_real_clock();
        const CLIENTS: usize = 4;
        for i in 0..CLIENTS {
            env.user(&format!("p{i}@example.com"), &format!("Person {i}"))
                .await;
        }
        let data = tempfile::tempdir().expect("data dir");
        // The balancer checks readiness every 100 ms: a second of delay is ample.
        let delay = [("PORTAL_SHUTDOWN_DELAY", "1s")];
        let a = start_with(&env.url, data.path(), &delay).await;
        let b = start_with(&env.url, data.path(), &delay).await;
        let balancer = Balancer::default();
        balancer.set(&[&a, &b]);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checker = balancer.check_readiness(stop.clone());

        // Each client signs in once (its session is good on every replica), then views
        // its profile and saves its name, again and again.
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let mut browser = Browser::new();
            let r = browser
                .sign_in(
                    if i % 2 == 0 { &a } else { &b },
                    &format!("p{i}@example.com"),
                    PASSWORD,
                )
                .await;
            assert!(r.status < 400, "{}", r.body);
            let cookie = browser.session.clone().expect("session");
            let (balancer, stop) = (balancer.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client");
                let (mut answered, mut failed) = (0u32, Vec::new());
                let (mut n, mut saved) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let page = balancer
                        .send(|base| http.get(format!("{base}/")).header("cookie", &cookie))
                        .await;
                    let name = format!("Person {i} v{n}");
                    let save = balancer
                        .send(|base| {
                            http.post(format!("{base}{}", api::SaveGeneral::PATH))
                                .header("cookie", &cookie)
                                .header("sec-fetch-site", "same-origin")
                                .header("accept", "application/json")
                                .form(&[
                                    ("name", name.as_str()),
                                    ("time_zone", "UTC"),
                                    ("date_format", "iso"),
                                    ("time_format", "24h"),
                                ])
                        })
                        .await;
                    if save == Ok(200) {
                        saved = n;
                    }
                    for (what, r) in [("page", page), ("save", save)] {
                        match r {
                            Ok(200) => answered += 1,
                            Ok(status) => failed.push(format!("{what}: HTTP {status}")),
                            Err(e) => failed.push(format!("{what}: {e}")),
                        }
                    }
                }
                (answered, failed, cookie, saved)
            }));
        }

        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        // Replica A: stopped, and the new build started in its place. During its
        // shutdown delay it says it is not ready, and still answers.
        send_term(&a);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut probe = Browser::new();
        assert_eq!(
            probe.get(&a, "/readyz").await.status,
            503,
            "not ready at once"
        );
        assert_eq!(probe.get(&a, "/login").await.status, 200, "still serving");
        let status = exit_status(a).await;
        assert!(status.success(), "A exited with {status}");
        let a2 = start_with(&env.url, data.path(), &delay).await;
        balancer.set(&[&a2, &b]);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        // Then replica B.
        send_term(&b);
        let status = exit_status(b).await;
        assert!(status.success(), "B exited with {status}");
        let b2 = start_with(&env.url, data.path(), &delay).await;
        balancer.set(&[&a2, &b2]);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;

        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut total = 0;
        for (i, c) in clients.into_iter().enumerate() {
            let (answered, failed, cookie, saved) = c.await.expect("client");
            assert!(failed.is_empty(), "requests lost: {failed:?}");
            total += answered;
            // The last save is what the portal holds.
            let mut browser = Browser::new();
            browser.session = Some(cookie);
            let general: app::models::GeneralSettings =
                serde_json::from_str(&browser.call::<api::GeneralSettings>(&a2, &[]).await.body)
                    .expect("general settings");
            assert_eq!(general.name, format!("Person {i} v{saved}"));
        }
        checker.await.expect("checker");
        assert!(total > 40, "traffic kept running: {total} answers");
        drop((a2, b2));
        env.finish().await;
    });
}
