//! The benchmark tool behind `scripts/bench.sh` (not part of the timed tests):
//! - `seed`: a realistic population straight into the database (10,000 people, 1,000
//!   accounts, one account with 1,000 members, one person with 10,000 past sessions, and
//!   7,500 people with TOTP MFA on for the sign-in + code scenario);
//! - `hash-rate`: the argon2id bound — hashes per second with the production parameters
//!   on this machine, one hash per core at a time, as the server does;
//! - `load`: a small HTTP load generator (keep-alive, fixed concurrency and duration)
//!   printing requests/s, p50, p99 and errors as one JSON line;
//! - `soak`: mixed traffic for a long time (`scripts/soak.sh`), one JSON line per interval
//!   (throughput, p99, errors, the server's resident memory) and a verdict.

use clap::{Parser, Subcommand};

/// The server's allocator, so the argon2 bound is measured as the server hashes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use app::models::AccountKind;
use portal::db::{directory, Db};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Connect Portal benchmark helper (see scripts/bench.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Seed the benchmark population into a migrated, empty database.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 10_000)]
        people: i64,
        #[arg(long, default_value_t = 1_000)]
        accounts: i64,
        #[arg(long, default_value_t = 10_000)]
        sessions: i64,
        /// People with MFA on (`mfa{i}@example.com`); each code is accepted once per
        /// 30-second step, so every measured cell uses its own range of them.
        #[arg(long, default_value_t = 7_500)]
        mfa_people: i64,
        /// The server's key (base64 of 32 bytes) that encrypts their TOTP secrets: the
        /// same PORTAL_SECRET_KEY the server is started with.
        #[arg(long, env = "PORTAL_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
    },
    /// argon2id hashes per second with the production parameters.
    HashRate {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Drive one scenario against a running server.
    Load {
        #[arg(long)]
        base: String,
        /// signin | signin-mfa | profile | save | sessions | policy
        #[arg(long)]
        scenario: String,
        /// signin-mfa: the first of the MFA people this cell signs in (one each).
        #[arg(long, default_value_t = 0)]
        first_user: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The account whose policy page is loaded (scenario policy).
        #[arg(long, default_value_t = 1)]
        account: i64,
        /// Measured runs after a one-second warm-up; the run with the median
        /// throughput is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Mixed traffic for a long time: sign-ins with and without MFA, page views,
    /// settings saves, session revocations. One JSON line per interval; exits non-zero
    /// on any error, or when resident memory grew by 10 % or more after the warm-up.
    Soak(SoakPlan),
}

/// What `soak` runs.
#[derive(clap::Args)]
struct SoakPlan {
    #[arg(long)]
    base: String,
    /// The server's process id (its resident memory is read from /proc).
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// Memory growth is counted from the end of the warm-up.
    #[arg(long, default_value_t = 60)]
    warm_up: u64,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub const PASSWORD: &str = "bench-password-2026";
const BENCH_USER: &str = "bench0@example.com";

fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        match cli.command {
            Cmd::Seed {
                database_url,
                people,
                accounts,
                sessions,
                mfa_people,
                secret_key,
            } => {
                let population = Population {
                    people,
                    accounts,
                    sessions,
                    mfa_people,
                };
                seed(&database_url, population, &secret_key).await
            }
            Cmd::HashRate { seconds } => hash_rate(seconds).await,
            Cmd::Soak(plan) => soak(plan).await,
            Cmd::Load {
                base,
                scenario,
                concurrency,
                seconds,
                account,
                runs,
                first_user,
            } => {
                // One counter across the warm-up and the runs: no MFA person signs in twice.
                let next_user = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(first_user));
                let target = Target {
                    base: &base,
                    scenario: &scenario,
                    account,
                    next_user,
                };
                let _warm_up = load(&target, concurrency, 1).await?;
                let mut results = Vec::new();
                for _ in 0..runs.max(1) {
                    results.push(load(&target, concurrency, seconds).await?);
                }
                results.sort_by(|a, b| a.rps.total_cmp(&b.rps));
                let all: Vec<String> = results.iter().map(|r| format!("{:.1}", r.rps)).collect();
                let m = &results[results.len() / 2];
                println!(
                    "{{\"scenario\":\"{scenario}\",\"concurrency\":{concurrency},\"rps\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"errors\":{},\"runs\":[{}]}}",
                    m.rps,
                    m.p50_ms,
                    m.p99_ms,
                    results.iter().map(|r| r.errors).sum::<u64>(),
                    all.join(",")
                );
                Ok(())
            }
        }
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

struct Population {
    people: i64,
    accounts: i64,
    sessions: i64,
    mfa_people: i64,
}

/// The TOTP secret of MFA person `i`: derived from `i`, so the load generator can compute
/// their codes (benchmark data only).
fn mfa_secret(i: u64) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("portal-bench-mfa:{i}").as_bytes())[..portal::mfa::SECRET_BYTES].to_vec()
}

async fn seed(url: &str, population: Population, secret_key: &str) -> Result<(), String> {
    use argon2::PasswordHasher;
    let Population {
        people,
        accounts,
        sessions,
        mfa_people,
    } = population;
    let err = |e: sqlx::Error| e.to_string();
    let db = Db::connect(url, 4).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    // Records the key's check value, so the server accepts this key for this database.
    let key = portal::secret_key::SecretKey::load(
        Some(secret_key),
        &std::env::temp_dir(),
        &db,
        &portal::env::OsRandom,
    )
    .await
    .map_err(|e| e.to_string())?;
    let salt = argon2::password_hash::SaltString::generate(&mut rand::thread_rng());
    let hash = portal::passwords::owasp_argon2()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let now = now_ms();
    // Through the data layer, in one transaction. On a fresh database the ids come out
    // 1, 2, 3, … in this order, as the load generator expects.
    let dir_err = |e: portal::db::directory::DirectoryError| e.to_string();
    let mut tx = db.begin().await.map_err(err)?;
    // Per account: (account id, administrators' group id, users' group id).
    let mut groups = Vec::new();
    for a in 0..accounts {
        let kind = [
            AccountKind::Vendor,
            AccountKind::Distributor,
            AccountKind::Reseller,
        ][usize::try_from(a % 3).unwrap_or(0)];
        let id = directory::create_account(&mut tx, &format!("Bench Account {a:04}"), kind, now)
            .await
            .map_err(dir_err)?;
        let admins = directory::create_group(&mut tx, id, "Administrators", true, now)
            .await
            .map_err(dir_err)?;
        let users = directory::create_group(&mut tx, id, "Users", false, now)
            .await
            .map_err(dir_err)?;
        groups.push((id, admins, users));
    }
    let group_of = |account: i64, admin: bool| {
        let (id, admins, users) = groups[usize::try_from(account - 1).unwrap_or(0)];
        (id, if admin { admins } else { users })
    };
    for p in 0..people {
        let user = directory::insert_user(
            &mut tx,
            &format!("bench{p}@example.com"),
            &format!("Bench Person {p}"),
            &hash,
            now,
        )
        .await
        .map_err(dir_err)?;
        // Account 1 has 1,000 members (person 0 administers it); the others administer
        // one account each and belong to another.
        let mut rows = Vec::new();
        if p < 1000 {
            rows.push(group_of(1, p == 0));
        }
        if (1..accounts).contains(&p) {
            rows.push(group_of(p + 1, true));
        } else if p >= 1000 {
            rows.push(group_of(2 + (p % (accounts - 1).max(1)), false));
        }
        for (account, group) in rows {
            directory::insert_membership(&mut tx, user, account, group, now)
                .await
                .map_err(err)?;
        }
    }
    // People with MFA on, each a member of one account.
    for i in 0..mfa_people {
        let user = directory::insert_user(
            &mut tx,
            &format!("mfa{i}@example.com"),
            &format!("Bench MFA Person {i}"),
            &hash,
            now,
        )
        .await
        .map_err(dir_err)?;
        let (account, group) = group_of(2 + (i % (accounts - 1).max(1)), false);
        directory::insert_membership(&mut tx, user, account, group, now)
            .await
            .map_err(err)?;
        let secret = mfa_secret(u64::try_from(i).unwrap_or(0));
        portal::db::mfa::insert_enabled(&mut tx, &key, &portal::env::OsRandom, user, &secret, now)
            .await
            .map_err(err)?;
    }
    // Past sessions of the first person: the Sessions page's history.
    let config = portal::config::Config::for_tests(url);
    for s in 0..sessions {
        let at = now - (s + 1) * 3_600_000;
        let (_, id) = portal::db::sessions::create(
            &mut tx,
            &portal::env::OsRandom,
            &config,
            portal::db::sessions::NewSession {
                user_id: 1,
                active_account_id: Some(1),
                ip: Some("192.0.2.10"),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36"),
                factors: portal::sessions::Factors::PASSWORD,
                sso_account_id: None,
            },
            at,
        )
        .await
        .map_err(err)?;
        portal::db::sessions::end(
            &mut tx,
            id,
            portal::sessions::EndReason::SignedOut,
            at + 600_000,
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    db.close().await;
    println!(
        "seeded {people} people, {accounts} accounts, {sessions} past sessions for {BENCH_USER}, \
         {mfa_people} people with MFA"
    );
    Ok(())
}

/// As the server verifies: one thread per core, each reusing its working memory.
async fn hash_rate(seconds: u64) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..cores {
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            let params = portal::passwords::owasp_params();
            let argon = portal::passwords::owasp_argon2();
            let mut blocks = vec![argon2::Block::default(); params.block_count()];
            let mut out = [0u8; 32];
            while Instant::now() < deadline {
                let mut salt = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
                let _ = argon.hash_password_into_with_memory(
                    PASSWORD.as_bytes(),
                    &salt,
                    &mut out,
                    &mut blocks,
                );
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())?;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / seconds as f64;
    println!("{{\"scenario\":\"argon2id\",\"threads\":{cores},\"rps\":{rate:.1}}}");
    Ok(())
}

/// Signs in once (for scenarios that need a session) and returns the cookie.
async fn session_cookie(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let r = http
        .post(format!("{base}/api/sign_in"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("email", BENCH_USER), ("password", PASSWORD)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    set_cookie(&r, "portal_session").ok_or_else(|| format!("sign-in failed: HTTP {}", r.status()))
}

/// One measured run.
struct RunResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// What a load run drives.
struct Target<'a> {
    base: &'a str,
    scenario: &'a str,
    /// The account whose policy page is loaded.
    account: i64,
    /// The next MFA person to sign in (signin-mfa).
    next_user: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The value of cookie `name` from a response's `Set-Cookie` headers.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Password then code for MFA person `i`: both steps must succeed and end in a session.
async fn sign_in_with_code(http: &reqwest::Client, base: &str, i: u64) -> bool {
    let password = http
        .post(format!("{base}/api/sign_in"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[
            ("email", format!("mfa{i}@example.com").as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    let Some(pending) = password.ok().and_then(|r| set_cookie(&r, "portal_pending")) else {
        return false;
    };
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let code = portal::mfa::code_at(
        totp_rs::Algorithm::SHA1,
        portal::mfa::DIGITS,
        &mfa_secret(i),
        now,
    );
    let verified = http
        .post(format!("{base}/api/verify_sign_in_code"))
        .header("cookie", pending)
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("code", code)])
        .send()
        .await;
    verified
        .ok()
        .is_some_and(|r| set_cookie(&r, "portal_session").is_some())
}

async fn load(target: &Target<'_>, concurrency: usize, seconds: u64) -> Result<RunResult, String> {
    let (base, scenario, account) = (target.base, target.scenario, target.account);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = if scenario.starts_with("signin") {
        String::new()
    } else {
        session_cookie(&http, base).await?
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, base, cookie, scenario, next_user) = (
            http.clone(),
            base.to_string(),
            cookie.clone(),
            scenario.to_string(),
            target.next_user.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let started = Instant::now();
                if scenario == "signin-mfa" {
                    let who = next_user.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if sign_in_with_code(&http, &base, who).await {
                        latencies.push(started.elapsed());
                    } else {
                        errors += 1;
                    }
                    continue;
                }
                let request = match scenario.as_str() {
                    "signin" => http
                        .post(format!("{base}/api/sign_in"))
                        .header("sec-fetch-site", "same-origin")
                        .header("accept", "application/json")
                        .form(&[("email", BENCH_USER), ("password", PASSWORD)]),
                    "profile" => http
                        .get(format!("{base}/profile/general"))
                        .header("cookie", &cookie),
                    "sessions" => http
                        .get(format!("{base}/profile/sessions"))
                        .header("cookie", &cookie),
                    "policy" => http
                        .get(format!("{base}/accounts/{account}/settings/mfa"))
                        .header("cookie", &cookie),
                    "save" => http
                        .post(format!("{base}/api/save_general"))
                        .header("cookie", &cookie)
                        .header("sec-fetch-site", "same-origin")
                        .header("accept", "application/json")
                        .form(&[
                            ("name", format!("Bench Person {worker}-{}", i % 7)),
                            ("time_zone", "Europe/Paris".into()),
                            ("date_format", "iso".into()),
                            ("time_format", "24h".into()),
                        ]),
                    other => return Err(format!("unknown scenario {other}")),
                };
                match request.send().await {
                    Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            Ok((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(|e| e.to_string())??;
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((all.len() as f64 - 1.0) * p).round().max(0.0) as usize;
        all.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    #[allow(clippy::cast_precision_loss)]
    let rps = all.len() as f64 / seconds as f64;
    Ok(RunResult {
        rps,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        errors,
    })
}

/// The process's resident memory in KiB (VmRSS), 0 if unreadable.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// What the workers measured in the current interval.
#[derive(Default)]
struct Window {
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

/// One soak worker: signs its own person in (`bench{w+1}`, who administers account
/// `w+2` in the seed), then cycles through page views (that account's MFA policy page
/// among them), saves, extra sign-ins (whose sessions the revocations end) and MFA
/// sign-ins.
async fn soak_worker(
    http: reqwest::Client,
    base: String,
    worker: usize,
    deadline: Instant,
    window: std::sync::Arc<std::sync::Mutex<Window>>,
    next_mfa: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let email = format!("bench{}@example.com", worker + 1);
    let account = worker + 2;
    let sign_in = |http: reqwest::Client, base: String, email: String| async move {
        let r = http
            .post(format!("{base}/api/sign_in"))
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(&[("email", email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        set_cookie(&r, "portal_session").ok_or_else(|| format!("sign-in: HTTP {}", r.status()))
    };
    let record = |started: Instant, outcome: Result<(), String>| {
        if let Ok(mut w) = window.lock() {
            match outcome {
                Ok(()) => w.latencies.push(started.elapsed()),
                Err(e) => w.errors.push(e),
            }
        }
    };
    let started = Instant::now();
    let cookie = match sign_in(http.clone(), base.clone(), email.clone()).await {
        Ok(c) => {
            record(started, Ok(()));
            c
        }
        Err(e) => {
            record(started, Err(e));
            return;
        }
    };
    let mut step = 0u64;
    while Instant::now() < deadline {
        step += 1;
        let started = Instant::now();
        let ok = |r: Result<reqwest::Response, reqwest::Error>, what: &str| match r {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) => Err(format!("{what}: HTTP {}", r.status())),
            Err(e) => Err(format!("{what}: {e}")),
        };
        let post = |path: &str| {
            http.post(format!("{base}{path}"))
                .header("cookie", &cookie)
                .header("sec-fetch-site", "same-origin")
                .header("accept", "application/json")
        };
        let outcome = match step % 20 {
            // Another sign-in of the same person: a session the revocation ends.
            0 => sign_in(http.clone(), base.clone(), email.clone())
                .await
                .map(|_| ()),
            10 => {
                let who = next_mfa.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if sign_in_with_code(&http, &base, who).await {
                    Ok(())
                } else {
                    Err(format!("sign-in with code (mfa{who})"))
                }
            }
            15 => ok(
                post("/api/revoke_other_sessions").send().await,
                "revoke other sessions",
            )
            .map(|_| ()),
            n if n % 4 == 1 => ok(
                post("/api/save_general")
                    .form(&[
                        ("name", format!("Soak Person {worker}-{}", step % 7)),
                        ("time_zone", "Europe/Paris".into()),
                        ("date_format", "iso".into()),
                        ("time_format", "24h".into()),
                    ])
                    .send()
                    .await,
                "save",
            )
            .map(|_| ()),
            n => {
                let path = match n % 3 {
                    0 => "/profile/general".to_string(),
                    1 => "/profile/sessions".to_string(),
                    _ => format!("/accounts/{account}/settings/mfa"),
                };
                match ok(
                    http.get(format!("{base}{path}"))
                        .header("cookie", &cookie)
                        .send()
                        .await,
                    &path,
                ) {
                    Ok(r) => r
                        .bytes()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{path}: {e}")),
                    Err(e) => Err(e),
                }
            }
        };
        record(started, outcome);
    }
}

async fn soak(plan: SoakPlan) -> Result<(), String> {
    let base = plan.base.as_str();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(plan.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs(plan.seconds);
    let window = std::sync::Arc::new(std::sync::Mutex::new(Window::default()));
    let next_mfa = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..plan.concurrency {
        workers.push(tokio::spawn(soak_worker(
            http.clone(),
            base.to_string(),
            w,
            deadline,
            window.clone(),
            next_mfa.clone(),
        )));
    }
    let (mut errors, mut total) = (0usize, 0usize);
    let mut baseline: Option<u64> = None;
    let mut peak_after = 0u64;
    let mut ticks = tokio::time::interval(Duration::from_secs(plan.interval.max(1)));
    ticks.tick().await;
    let mut window_start = Instant::now();
    loop {
        let finished = Instant::now() >= deadline;
        if finished {
            for w in workers.drain(..) {
                let _ = w.await;
            }
        } else {
            ticks.tick().await;
        }
        let Window {
            mut latencies,
            errors: errs,
        } = std::mem::take(&mut *window.lock().map_err(|_| "lock poisoned".to_string())?);
        latencies.sort();
        let elapsed = begun.elapsed().as_secs();
        let rss = rss_kib(plan.pid);
        if elapsed >= plan.warm_up {
            match baseline {
                None => baseline = Some(rss),
                Some(_) => peak_after = peak_after.max(rss),
            }
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let p99 = latencies
            .get(((latencies.len() as f64 - 1.0) * 0.99).round().max(0.0) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        #[allow(clippy::cast_precision_loss)]
        let rps = latencies.len() as f64 / window_start.elapsed().as_secs_f64().max(0.001);
        window_start = Instant::now();
        println!(
            "{{\"t\":{elapsed},\"rps\":{rps:.1},\"p99_ms\":{p99:.1},\"errors\":{},\"rss_mb\":{:.1}}}",
            errs.len(),
            rss as f64 / 1024.0
        );
        for e in errs.iter().take(5) {
            eprintln!("error: {e}");
        }
        errors += errs.len();
        total += latencies.len();
        if finished {
            break;
        }
    }
    let base_kib = baseline.unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let growth = if base_kib > 0 && peak_after > 0 {
        100.0 * (peak_after as f64 - base_kib as f64) / base_kib as f64
    } else {
        0.0
    };
    println!(
        "{{\"summary\":true,\"requests\":{total},\"errors\":{errors},\"rss_after_warm_up_mb\":{:.1},\"rss_peak_after_mb\":{:.1},\"growth_pct\":{growth:.1}}}",
        base_kib as f64 / 1024.0,
        peak_after as f64 / 1024.0
    );
    if errors > 0 {
        return Err(format!("{errors} request(s) failed"));
    }
    if growth >= 10.0 {
        return Err(format!(
            "resident memory grew by {growth:.1} % after the warm-up"
        ));
    }
    Ok(())
}
