//! `portal backup` and `portal restore`: real processes, real HTTP, the real clock. A
//! backup is taken while people sign in and save settings; restored into a new data
//! directory, everyone signs in (with their authenticator app where they use one) and
//! nothing committed before the backup began is missing.

use crate::harness::*;
use crate::replicas::{now_secs, start_with, Browser, Replica};
use app::models::MfaEnrolment;
use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::io::AsyncWriteExt;

const PASSPHRASE: &str = "a long backup passphrase";

/// A writer's saves: when each was answered, and its number.
type Saves = Vec<(Instant, u32)>;

/// `portal <args>` with the data directory (and database URL) given, `stdin` piped in;
/// (succeeded, standard output and error).
async fn portal(data_dir: &Path, url: Option<&str>, args: &[&str], stdin: &str) -> (bool, String) {
    portal_with(data_dir, url, args, stdin, &[]).await
}

/// [`portal`] with more settings in the environment.
async fn portal_with(
    data_dir: &Path,
    url: Option<&str>,
    args: &[&str],
    stdin: &str,
    settings: &[(&str, &str)],
) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.args(args)
        .env("PORTAL_DATA_DIR", data_dir)
        .env_remove("PORTAL_DATABASE_URL")
        .env_remove("PORTAL_SECRET_KEY")
        .env("PORTAL_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = url {
        cmd.env("PORTAL_DATABASE_URL", url);
    }
    cmd.envs(settings.iter().copied());
    let mut child = cmd.spawn().expect("run portal");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().await.expect("portal finished");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("file").permissions().mode() & 0o777
}

/// The code of an authenticator app with this secret, one step ahead (the replay guard
/// refuses the step used when it was set up; one step of skew is accepted).
fn next_code(secret: &[u8]) -> String {
    portal::mfa::code_at(totp_rs::Algorithm::SHA1, 6, secret, now_secs() + 30)
}

/// Turns on MFA for a signed-in person through the portal; the app's secret.
async fn enable_mfa(browser: &mut Browser, replica: &Replica) -> Vec<u8> {
    browser
        .call::<api::StepUp>(replica, &[("current_password", PASSWORD)])
        .await;
    let e: MfaEnrolment = serde_json::from_str(
        &browser
            .call::<api::StartMfaEnrolment>(replica, &[])
            .await
            .body,
    )
    .expect("enrolment");
    let b32: String = e.secret_grouped.split_whitespace().collect();
    let secret = totp_rs::Secret::Encoded(b32).to_bytes().expect("base32");
    let code = portal::mfa::code_at(totp_rs::Algorithm::SHA1, 6, &secret, now_secs());
    let r = browser
        .call::<api::EnableMfa>(replica, &[("code", &code)])
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    secret
}

async fn save_name(browser: &mut Browser, replica: &Replica, name: &str) -> u16 {
    browser
        .call::<api::SaveGeneral>(
            replica,
            &[
                ("name", name),
                ("time_zone", "UTC"),
                ("date_format", "iso"),
                ("time_format", "24h"),
            ],
        )
        .await
        .status
}

#[test]
fn a_backup_taken_while_busy_restores_everyone() {
    runtime().block_on(async {
        let env = sqlite().await;
        env.use_real_clock();
        const PEOPLE: usize = 9;
        const MFA: usize = 3;
        for i in 0..PEOPLE {
            env.user(&format!("p{i}@example.com"), &format!("Person {i}"))
                .await;
        }
        let live = tempfile::tempdir().expect("data dir");
        let server = Arc::new(start_with(&env.url, live.path(), &[]).await);
        let mut secrets = Vec::new();
        for i in 0..MFA {
            let mut b = Browser::new();
            b.sign_in(&server, &format!("p{i}@example.com"), PASSWORD)
                .await;
            secrets.push(enable_mfa(&mut b, &server).await);
        }

        // The load: each writer signs its person in again and again (a new session
        // each time) and saves a new name, "Person i vN"; it records when each save
        // was answered.
        let committed: Arc<Mutex<Vec<Saves>>> = Arc::new(Mutex::new(vec![Vec::new(); PEOPLE]));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for i in MFA..PEOPLE {
            let (server, committed, stop) = (server.clone(), committed.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let mut b = Browser::new();
                    let r = b
                        .sign_in(&server, &format!("p{i}@example.com"), PASSWORD)
                        .await;
                    assert!(
                        r.status < 400,
                        "sign-in under load: {} {}",
                        r.status,
                        r.body
                    );
                    let status = save_name(&mut b, &server, &format!("Person {i} v{n}")).await;
                    assert!(status < 400, "save under load: {status}");
                    committed.lock().expect("lock")[i].push((Instant::now(), n));
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let backups = tempfile::tempdir().expect("backup dir");
        let file = backups.path().join("portal.backup");
        let file_arg = file.display().to_string();
        // Too short a passphrase: refused, nothing written.
        let (ok, out) = portal(
            live.path(),
            Some(&env.url),
            &[
                "backup",
                "--output",
                &file_arg,
                "--with-key",
                "--passphrase-stdin",
            ],
            "short\n",
        )
        .await;
        assert!(!ok && out.contains("at least 12 characters"), "{out}");
        assert!(files_in(backups.path()).is_empty());

        // Over the live database (or its journal): refused.
        let live_db = std::path::PathBuf::from(portal::db::sqlite_path(&env.url).expect("a file"));
        for name in ["portal.db", "portal.db-wal"] {
            let over = live_db.with_file_name(name).display().to_string();
            let (ok, out) = portal(
                live.path(),
                Some(&env.url),
                &["backup", "--output", &over],
                "",
            )
            .await;
            assert!(!ok && out.contains("is the live database"), "{out}");
        }

        let started = Instant::now();
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [42u8; 32]);
        let (ok, said) = portal_with(
            live.path(),
            Some(&env.url),
            &[
                "backup",
                "--output",
                &file_arg,
                "--with-key",
                "--passphrase-stdin",
            ],
            &format!("{PASSPHRASE}\n"),
            &[("PORTAL_SECRET_KEY", &key)],
        )
        .await;
        assert!(ok, "{said}");
        assert!(
            said.contains(&format!("Backed up {PEOPLE} people")),
            "{said}"
        );
        assert!(said.contains("sealed with your passphrase"), "{said}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for w in writers {
            w.await.expect("writer");
        }
        drop(server);
        // What each writer had saved, and been told so, before the backup began.
        let must: Vec<u32> = committed
            .lock()
            .expect("lock")
            .iter()
            .map(|saves| {
                saves
                    .iter()
                    .filter(|(at, _)| *at < started)
                    .map(|(_, n)| *n)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        assert!(
            must[MFA..].iter().all(|n| *n > 0),
            "every writer saved before the backup: {must:?}"
        );
        assert_eq!(
            files_in(backups.path()),
            ["portal.backup"],
            "no partial file left"
        );
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600, "the backup is its owner's only");

        // Restoring where there is already a portal is refused.
        let live_dir = live_db.parent().expect("its folder");
        let (ok, out) = portal(live_dir, None, &["restore", "--input", &file_arg], "").await;
        assert!(!ok && out.contains("is not empty"), "{out}");

        // A wrong passphrase is refused, and writes nothing.
        let fresh = tempfile::tempdir().expect("fresh dir");
        let target = fresh.path().join("data");
        let (ok, out) = portal(
            &target,
            None,
            &["restore", "--input", &file_arg, "--passphrase-stdin"],
            "not the passphrase at all\n",
        )
        .await;
        assert!(!ok && out.contains("does not open the server key"), "{out}");
        assert!(files_in(&target).is_empty(), "{:?}", files_in(&target));

        // A backup of a newer schema is refused, and writes nothing.
        let newer = backups.path().join("newer.backup");
        std::fs::copy(&file, &newer).expect("copy");
        {
            use sqlx::Connection;
            let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", newer.display()))
                .await
                .expect("open copy");
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, installed_on, success, \
                 checksum, execution_time) VALUES (99991231000001, 'from the future', \
                 '2099-01-01', 1, x'00', 0)",
            )
            .execute(&mut c)
            .await
            .expect("a future migration");
            c.close().await.expect("close");
        }
        let (ok, out) = portal(
            &target,
            None,
            &["restore", "--input", &newer.display().to_string()],
            "",
        )
        .await;
        assert!(!ok && out.contains("newer schema"), "{out}");
        assert!(files_in(&target).is_empty());

        // The restore, with the key.
        let (ok, out) = portal(
            &target,
            None,
            &["restore", "--input", &file_arg, "--passphrase-stdin"],
            &format!("{PASSPHRASE}\n"),
        )
        .await;
        assert!(ok, "{out}");
        assert!(out.contains(&format!("Restored {PEOPLE} people")), "{out}");
        let mut restored = files_in(&target);
        restored.sort();
        assert_eq!(restored, ["portal.db", "secret.key"]);
        #[cfg(unix)]
        {
            assert_eq!(mode(&target.join("secret.key")), 0o600);
            assert_eq!(mode(&target.join("portal.db")), 0o600);
        }

        // The restored portal, with the restored key and no other.
        let url = format!("sqlite://{}?mode=rwc", target.join("portal.db").display());
        let back = start_with(&url, &target, &[("PORTAL_SECRET_KEY", "")]).await;
        for (i, secret) in secrets.iter().enumerate() {
            let mut b = Browser::new();
            let r = b
                .sign_in(&back, &format!("p{i}@example.com"), PASSWORD)
                .await;
            assert!(
                r.status < 400 && b.session.is_none(),
                "a code is asked: {}",
                r.body
            );
            let r = b
                .call::<api::VerifySignInCode>(&back, &[("code", &next_code(secret))])
                .await;
            assert!(
                r.status < 400 && b.session.is_some(),
                "p{i} signs in with their app: {} {}",
                r.status,
                r.body
            );
        }
        for (i, &least) in must.iter().enumerate().skip(MFA) {
            let mut b = Browser::new();
            let r = b
                .sign_in(&back, &format!("p{i}@example.com"), PASSWORD)
                .await;
            assert!(r.status < 400 && b.session.is_some(), "p{i}: {}", r.body);
            let general: app::models::GeneralSettings =
                serde_json::from_str(&b.call::<api::GeneralSettings>(&back, &[]).await.body)
                    .expect("general settings");
            let n: u32 = general
                .name
                .rsplit('v')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(
                n >= least,
                "p{i}: \"{}\" is older than v{least}, saved before the backup began",
                general.name
            );
        }
        drop(back);
        env.finish().await;
    });
}

/// The commands say what to do instead where they do not apply, and change nothing.
#[test]
fn backup_and_restore_refuse_what_they_cannot_do() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let pg = "postgres://postgres@127.0.0.1:5432/test";
        let (ok, out) = portal(
            dir.path(),
            Some(pg),
            &["backup", "--output", "x.backup"],
            "",
        )
        .await;
        assert!(!ok && out.contains("pg_dump"), "{out}");
        let (ok, out) = portal(
            dir.path(),
            Some(pg),
            &["restore", "--input", "x.backup"],
            "",
        )
        .await;
        assert!(!ok && out.contains("pg_restore"), "{out}");
        let (ok, out) = portal(dir.path(), None, &["backup", "--output", "x.backup"], "").await;
        assert!(!ok && out.contains("there is no database"), "{out}");
        // Not a backup: a plain file.
        let junk = dir.path().join("junk.backup");
        std::fs::write(&junk, b"not a database").expect("write");
        let target = dir.path().join("new");
        let (ok, out) = portal(
            &target,
            None,
            &["restore", "--input", &junk.display().to_string()],
            "",
        )
        .await;
        assert!(!ok, "{out}");
        assert!(files_in(&target).is_empty());
        assert!(files_in(dir.path())
            .iter()
            .all(|f| f == "junk.backup" || f == "new"));
    });
}

/// The PostgreSQL procedure of docs/operations.md: `pg_dump` of the running portal,
/// `pg_restore` into an empty database, the portal started on it with the same key:
/// people sign in, with their authenticator app too.
#[test]
fn the_pg_dump_procedure_restores_a_postgresql_portal() {
    runtime().block_on(async {
        let Some(env) = postgres().await else {
            return;
        };
        env.use_real_clock();
        env.user("ada@example.com", "Ada Lovelace").await;
        env.user("grace@example.com", "Grace Hopper").await;
        let data = tempfile::tempdir().expect("data dir");
        let live = start_with(&env.url, data.path(), &[]).await;
        let mut ada = Browser::new();
        ada.sign_in(&live, "ada@example.com", PASSWORD).await;
        let secret = enable_mfa(&mut ada, &live).await;
        drop(live);

        let schema = env
            .url
            .rsplit("search_path%3D")
            .next()
            .expect("the test schema")
            .to_string();
        let base = postgres_base_url();
        let dump = data.path().join("portal.dump");
        let out = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--schema", &schema, "--file"])
            .arg(&dump)
            .arg(&base)
            .output()
            .expect("pg_dump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let database = format!("pt_restore_{}", &schema[3..]);
        let admin = sqlx::AnyPool::connect(&base).await.expect("admin");
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&admin)
            .await
            .expect("create database");
        let (prefix, _) = base.rsplit_once('/').expect("a database in the URL");
        let new_base = format!("{prefix}/{database}");
        let out = std::process::Command::new("pg_restore")
            .args(["--no-owner", "--dbname", &new_base])
            .arg(&dump)
            .output()
            .expect("pg_restore");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let url = format!("{new_base}?options=-c%20search_path%3D{schema}");
        let back = start_with(&url, data.path(), &[]).await;
        let mut grace = Browser::new();
        let r = grace.sign_in(&back, "grace@example.com", PASSWORD).await;
        assert!(r.status < 400 && grace.session.is_some(), "{}", r.body);
        let mut ada = Browser::new();
        ada.sign_in(&back, "ada@example.com", PASSWORD).await;
        let r = ada
            .call::<api::VerifySignInCode>(&back, &[("code", &next_code(&secret))])
            .await;
        assert!(
            r.status < 400 && ada.session.is_some(),
            "{} {}",
            r.status,
            r.body
        );
        drop(back);
        sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
            .execute(&admin)
            .await
            .expect("drop database");
        admin.close().await;
        env.finish().await;
    });
}
