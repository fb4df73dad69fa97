//! The benchmark tool behind `scripts/bench.sh` (not part of the timed tests):
//! - `seed`: a realistic population straight into the database (10,000 people, 1,000
//!   accounts, one account with 1,000 members, one person with 10,000 past sessions);
//! - `hash-rate`: the argon2id bound — hashes per second with the production parameters
//!   on this machine, one hash per core at a time, as the server does;
//! - `load`: a small HTTP load generator (keep-alive, fixed concurrency and duration)
//!   printing requests/s, p50, p99 and errors as one JSON line.

use clap::{Parser, Subcommand};
use portal::db::Db;
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
        /// signin | profile | save | sessions | policy
        #[arg(long)]
        scenario: String,
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
            } => seed(&database_url, people, accounts, sessions).await,
            Cmd::HashRate { seconds } => hash_rate(seconds).await,
            Cmd::Load {
                base,
                scenario,
                concurrency,
                seconds,
                account,
                runs,
            } => {
                let _warm_up = load(&base, &scenario, concurrency, 1, account).await?;
                let mut results = Vec::new();
                for _ in 0..runs.max(1) {
                    results.push(load(&base, &scenario, concurrency, seconds, account).await?);
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

async fn seed(url: &str, people: i64, accounts: i64, sessions: i64) -> Result<(), String> {
    use argon2::PasswordHasher;
    let err = |e: sqlx::Error| e.to_string();
    let db = Db::connect(url, 4).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let salt = argon2::password_hash::SaltString::generate(&mut rand::thread_rng());
    let hash = portal::passwords::owasp_argon2()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let now = now_ms();
    let mut tx = db.pool().begin().await.map_err(err)?;
    for a in 0..accounts {
        let kind = ["vendor", "distributor", "reseller"][usize::try_from(a % 3).unwrap_or(0)];
        sqlx::query("INSERT INTO accounts (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(a + 1)
            .bind(format!("Bench Account {a:04}"))
            .bind(kind)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for (g, (name, admin)) in [("Administrators", 1i64), ("Users", 0)].iter().enumerate() {
            sqlx::query(
                "INSERT INTO account_groups (id, account_id, name, is_admin, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind((a + 1) * 2 - 1 + i64::try_from(g).unwrap_or(0))
            .bind(a + 1)
            .bind(*name)
            .bind(*admin)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
    }
    let member = |user: i64, account: i64, admin: bool| {
        let group = account * 2 - if admin { 1 } else { 0 };
        (user, account, group)
    };
    for p in 0..people {
        let email = format!("bench{p}@example.com");
        sqlx::query(
            "INSERT INTO users (id, email, email_normalized, name, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $2, $3, $4, $5, $5)",
        )
        .bind(p + 1)
        .bind(&email)
        .bind(format!("Bench Person {p}"))
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        // Account 1 has 1,000 members (person 0 administers it); the others administer
        // one account each and belong to another.
        let mut rows = Vec::new();
        if p < 1000 {
            rows.push(member(p + 1, 1, p == 0));
        }
        if (1..accounts).contains(&p) {
            rows.push(member(p + 1, p + 1, true));
        } else if p >= 1000 {
            rows.push(member(p + 1, 2 + (p % (accounts - 1).max(1)), false));
        }
        for (u, a, g) in rows {
            sqlx::query(
                "INSERT INTO memberships (user_id, account_id, group_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(u)
            .bind(a)
            .bind(g)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
    }
    for s in 0..sessions {
        let at = now - (s + 1) * 3_600_000;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, active_account_id, created_at, last_seen_at, expires_at, \
                                   ended_at, end_reason, ip, user_agent) \
             VALUES ($1, 1, 1, $2, $3, $4, $3, 'signed_out', '192.0.2.10', $5)",
        )
        .bind(format!("bench-history-{s}"))
        .bind(at)
        .bind(at + 600_000)
        .bind(at + 86_400_000)
        .bind("Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    if url.starts_with("postgres") {
        // Explicit ids: move the identity sequences past them.
        for t in ["accounts", "account_groups", "users"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            ))
            .execute(db.pool())
            .await
            .map_err(err)?;
        }
    }
    db.close().await;
    println!(
        "seeded {people} people, {accounts} accounts, {sessions} past sessions for {BENCH_USER}"
    );
    Ok(())
}

async fn hash_rate(seconds: u64) -> Result<(), String> {
    use argon2::PasswordHasher;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..cores {
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            let argon = portal::passwords::owasp_argon2();
            while Instant::now() < deadline {
                let salt = argon2::password_hash::SaltString::generate(&mut rand::thread_rng());
                let _ = argon.hash_password(PASSWORD.as_bytes(), &salt);
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
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portal_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| format!("sign-in failed: HTTP {}", r.status()))
}

/// One measured run.
struct RunResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

async fn load(
    base: &str,
    scenario: &str,
    concurrency: usize,
    seconds: u64,
    account: i64,
) -> Result<RunResult, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = if scenario == "signin" {
        String::new()
    } else {
        session_cookie(&http, base).await?
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, base, cookie, scenario) = (
            http.clone(),
            base.to_string(),
            cookie.clone(),
            scenario.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let started = Instant::now();
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
