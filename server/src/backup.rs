//! `portal backup` and `portal restore` for the embedded SQLite database.
//!
//! A backup is a SQLite file: a consistent copy of the live database (`VACUUM INTO`, one
//! read transaction, so everything committed before it began and nothing half-written),
//! checked with `PRAGMA integrity_check`, with a `portal_backup` table saying what made
//! it and the schema it has, and, when asked, the server key sealed with a passphrase
//! (argon2id, then AES-256-GCM). It is written beside the target under a temporary name,
//! made readable by its owner only, flushed, and renamed into place: a crash leaves the
//! old file or the new one, never half of one.
//!
//! A restore goes only into an empty data directory, refuses a backup of a schema newer
//! than this build knows, checks the file the same way, and writes the database (and the
//! key, if the passphrase opens it) under temporary names before renaming it into place.
//! PostgreSQL is backed up with `pg_dump` (docs/operations.md).

use crate::{config::Config, secret_key::SecretKey};
use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key, Nonce,
};
use app::Secret;
use base64::{engine::general_purpose::STANDARD, Engine};
use std::path::{Path, PathBuf};

/// The format of the `portal_backup` description.
const FORMAT: &str = "1";
/// What the sealed key is bound to (AES-GCM associated data).
const SEAL_AAD: &[u8] = b"connect-portal backup key v1";
/// The passphrase's key derivation: argon2id, 64 MiB, 3 passes (RFC 9106's second
/// recommendation, with one lane): a backup file can be attacked offline for as long as
/// anyone likes, so this costs more than a sign-in's hash.
const KDF: (u32, u32, u32) = (65_536, 3, 1);
/// The shortest passphrase accepted for sealing the key.
pub const MIN_PASSPHRASE: usize = 12;

/// The failures a command reports, each saying what to do.
type Result<T> = std::result::Result<T, String>;

fn db_failed(what: &str) -> impl Fn(sqlx::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// SQLite's integrity check of `what`, as the commands report it.
async fn check_integrity(conn: &mut sqlx::SqliteConnection, what: &str) -> Result<()> {
    crate::db::backup::integrity(conn)
        .await
        .map_err(|e| format!("cannot check {what}: {e}"))?
        .map_err(|problems| format!("{what} failed its integrity check: {problems}"))
}

/// The SQLite file the configuration points at, or why there is none.
fn sqlite_file(config: &Config, command: &str) -> Result<PathBuf> {
    crate::db::sqlite_path(&config.database_url)
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "portal {command} works on the embedded SQLite database; this portal uses \
                 PostgreSQL: back it up with pg_dump and restore it with pg_restore (see \
                 docs/operations.md, \"Backups\")"
            )
        })
}

/// `portal backup --output FILE [--with-key --passphrase-stdin]`.
pub async fn backup(
    config: &Config,
    env_key: Option<&str>,
    output: &Path,
    passphrase: Option<Secret>,
    now_ms: i64,
) -> Result<String> {
    let source = sqlite_file(config, "backup")?;
    if !source.exists() {
        return Err(format!(
            "there is no database at {} (check --data-dir / --database-url)",
            source.display()
        ));
    }
    if let Some(p) = &passphrase {
        if p.expose().chars().count() < MIN_PASSPHRASE {
            return Err(format!(
                "the passphrase must be at least {MIN_PASSPHRASE} characters"
            ));
        }
    }
    // The key is read and checked against the live database before anything is copied:
    // a wrong key is reported, never sealed into a backup.
    let key = match &passphrase {
        None => None,
        Some(_) => Some(
            SecretKey::read(env_key, &config.data_dir)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "--with-key: no server key found (PORTAL_SECRET_KEY, or secret.key in {})",
                        config.data_dir.display()
                    )
                })?,
        ),
    };
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "the folder {} for --output does not exist",
            dir.display()
        ));
    }
    let name = output
        .file_name()
        .ok_or_else(|| "--output must name a file".to_string())?
        .to_string_lossy()
        .to_string();
    // Never over the live database or its journal files: the server would go on
    // writing to a file no longer there, and replay its journal onto the backup.
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let source_dir = source.parent().and_then(canonical);
    let source_name = source.file_name().map(|n| n.to_string_lossy().to_string());
    if let (Some(sd), Some(sn)) = (source_dir, source_name) {
        let side = [
            sn.clone(),
            format!("{sn}-wal"),
            format!("{sn}-shm"),
            format!("{sn}-journal"),
        ];
        if canonical(&dir) == Some(sd) && side.contains(&name) {
            return Err(format!(
                "--output {} is the live database (or one of its files): write the backup elsewhere",
                output.display()
            ));
        }
    }
    let partial = dir.join(format!(
        ".{name}.partial-{}",
        crate::env::random_hex(&crate::env::OsRandom, 6)
    ));
    let result = write_backup(&source, &partial, key.as_ref(), passphrase, now_ms).await;
    let people = match result {
        Ok(people) => people,
        Err(e) => {
            remove_partial(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, output).map_err(|e| {
        remove_partial(&partial);
        format!("cannot write {}: {e}", output.display())
    })?;
    sync_dir(&dir);
    let size = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    let mut out = format!(
        "Backed up {people} {} to {} ({:.1} MB; integrity checked).\n",
        if people == 1 { "person" } else { "people" },
        output.display(),
        size as f64 / 1_000_000.0
    );
    out.push_str(if key.is_some() {
        "The server key is in the backup, sealed with your passphrase: keep the passphrase \
         apart from the backup. Without it the key cannot be restored."
    } else {
        "Keep the server key too (secret.key in the data directory, or PORTAL_SECRET_KEY): \
         it is not in this backup, and without it nobody restored from it can use their \
         authenticator app. Or back up with --with-key --passphrase-stdin."
    });
    Ok(out)
}

/// The copy, checked and described, in `partial`; returns how many people it holds.
async fn write_backup(
    source: &Path,
    partial: &Path,
    key: Option<&SecretKey>,
    passphrase: Option<Secret>,
    now_ms: i64,
) -> Result<i64> {
    let mut live = crate::db::backup::open(source, false)
        .await
        .map_err(db_failed("cannot open the database"))?;
    if crate::db::backup::applied_migrations(&mut live)
        .await
        .map_err(db_failed("cannot read the database"))?
        .is_none()
    {
        return Err(format!("{} is not a portal database", source.display()));
    }
    if let Some(key) = key {
        let check = crate::db::backup::key_check(&mut live)
            .await
            .map_err(db_failed("cannot read the database"))?;
        if !check.is_some_and(|c| key.matches(&c)) {
            return Err("--with-key: the server key found does not match this database".into());
        }
    }
    create_private(partial)?;
    crate::db::backup::copy_into(&mut live, partial)
        .await
        .map_err(db_failed("the copy failed"))?;
    drop(live);
    let mut copy = crate::db::backup::open(partial, false)
        .await
        .map_err(db_failed("cannot open the copy"))?;
    let schema = crate::db::backup::applied_migrations(&mut copy)
        .await
        .map_err(db_failed("cannot read the copy"))?
        .unwrap_or_default();
    let sealed = match (key, passphrase) {
        (Some(key), Some(passphrase)) => Some(seal(key, passphrase).await?),
        _ => None,
    };
    let created = now_ms.to_string();
    let latest = schema.last().copied().unwrap_or(0).to_string();
    let mut entries = vec![
        ("format", FORMAT),
        ("created_at_ms", created.as_str()),
        ("portal_version", env!("CARGO_PKG_VERSION")),
        ("schema_version", latest.as_str()),
    ];
    if let Some(s) = &sealed {
        entries.push(("server_key", s.as_str()));
    }
    crate::db::backup::describe(&mut copy, &entries)
        .await
        .map_err(db_failed("cannot describe the copy"))?;
    check_integrity(&mut copy, "the copy").await?;
    let people = crate::db::backup::people(&mut copy)
        .await
        .map_err(db_failed("cannot read the copy"))?;
    use sqlx::Connection;
    copy.close()
        .await
        .map_err(db_failed("cannot close the copy"))?;
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot flush the copy to disk: {e}"))?;
    Ok(people)
}

/// `portal restore --input FILE [--passphrase-stdin]` into the configured data directory.
/// `env_key_set`: `PORTAL_SECRET_KEY` is set (the portal would use it, not the restored
/// key file).
pub async fn restore(
    config: &Config,
    input: &Path,
    passphrase: Option<Secret>,
    env_key_set: bool,
) -> Result<String> {
    let target = sqlite_file(config, "restore")?;
    let data_dir = &config.data_dir;
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        // A new volume's lost+found does not count.
        if entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy() != "lost+found")
        {
            return Err(format!(
                "the data directory {} is not empty: restore only into an empty (or new) one, \
                 so nothing there is overwritten",
                data_dir.display()
            ));
        }
    }
    let side = |suffix: &str| {
        let mut p = target.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    if ["", "-wal", "-shm", "-journal"]
        .iter()
        .any(|s| side(s).exists())
    {
        return Err(format!(
            "a database (or its journal) already exists at {}: restore only where there is none",
            target.display()
        ));
    }
    if !input.is_file() {
        return Err(format!("there is no backup file at {}", input.display()));
    }
    let mut backup = crate::db::backup::open(input, true)
        .await
        .map_err(db_failed("cannot open the backup"))?;
    check_integrity(&mut backup, "the backup").await?;
    let description: std::collections::HashMap<String, String> =
        crate::db::backup::description(&mut backup)
            .await
            .map_err(db_failed("cannot read the backup"))?
            .ok_or_else(|| {
                format!(
                    "{} was not made by `portal backup` (it has no portal_backup table)",
                    input.display()
                )
            })?
            .into_iter()
            .collect();
    if description.get("format").map(String::as_str) != Some(FORMAT) {
        return Err("this backup is of a format this portal does not know: restore it with the portal version that made it".into());
    }
    let applied = crate::db::backup::applied_migrations(&mut backup)
        .await
        .map_err(db_failed("cannot read the backup"))?
        .unwrap_or_default();
    let known = crate::db::sqlite_schema_versions();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        return Err(format!(
            "this backup has a newer schema (migration {newer}, made by portal {}) than this \
             portal knows (up to {}): restore it with that version or a later one",
            description
                .get("portal_version")
                .map(|v| v
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || ".+-".contains(*c))
                    .take(32)
                    .collect::<String>())
                .unwrap_or_else(|| "?".into()),
            known.last().copied().unwrap_or(0)
        ));
    }
    let key = match (description.get("server_key"), &passphrase) {
        (Some(sealed), Some(p)) => {
            let key = open_sealed(sealed, p.clone()).await?;
            let check = crate::db::backup::key_check(&mut backup)
                .await
                .map_err(db_failed("cannot read the backup"))?;
            if !check.is_some_and(|c| key.matches(&c)) {
                return Err("the key in this backup does not match its database".into());
            }
            Some(key)
        }
        (None, Some(_)) => {
            return Err(
                "this backup holds no server key (it was made without --with-key): restore \
                 without --passphrase-stdin and put the original key in place"
                    .into(),
            )
        }
        (_, None) => None,
    };
    let has_sealed_key = description.contains_key("server_key");
    let people = crate::db::backup::people(&mut backup)
        .await
        .map_err(db_failed("cannot read the backup"))?;

    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let partial = dir.join(format!(
        ".portal-restore.partial-{}",
        crate::env::random_hex(&crate::env::OsRandom, 6)
    ));
    let written = async {
        create_private(&partial)?;
        crate::db::backup::copy_into(&mut backup, &partial)
            .await
            .map_err(db_failed("the copy failed"))?;
        let mut copy = crate::db::backup::open(&partial, false)
            .await
            .map_err(db_failed("cannot open the copy"))?;
        crate::db::backup::forget_description(&mut copy)
            .await
            .map_err(db_failed("cannot finish the copy"))?;
        use sqlx::Connection;
        copy.close()
            .await
            .map_err(db_failed("cannot close the copy"))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot flush the copy to disk: {e}"))?;
        // Published only where nothing is (a portal started meanwhile made its own):
        // a hard link fails if the name exists, where a rename would replace it.
        std::fs::hard_link(&partial, &target)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        let _ = std::fs::remove_file(&partial);
        Ok::<(), String>(())
    }
    .await;
    if let Err(e) = written {
        remove_partial(&partial);
        return Err(e);
    }
    sync_dir(&dir);
    // The key after the database: a crash between leaves a database the portal refuses
    // to start without its key, never a key beside no database (a start would then make
    // an empty portal with it).
    if let Some(key) = &key {
        key.write_file(data_dir).map_err(|e| {
            format!(
                "the database is restored, but the server key could not be written ({e}): \
                 put it in place by hand before starting"
            )
        })?;
        sync_dir(data_dir);
    }
    sync_dir(&dir);
    let mut out = format!(
        "Restored {people} {} into {}.\n",
        if people == 1 { "person" } else { "people" },
        target.display()
    );
    if key.is_some() && env_key_set {
        out.push_str(
            "PORTAL_SECRET_KEY is set, and the portal uses it before secret.key: unset it \
             (or set it to the restored key) before starting.\n",
        );
    }
    out.push_str(if key.is_some() {
        "The server key was restored too (secret.key). Start the portal: it applies any \
         newer migrations first."
    } else if has_sealed_key {
        "The backup also holds the server key, sealed; it was not restored (pass \
         --passphrase-stdin to restore it). The portal starts only once the original key is \
         in place: secret.key in the data directory, or PORTAL_SECRET_KEY."
    } else {
        "Put the original server key in place before starting (secret.key in the data \
         directory, or PORTAL_SECRET_KEY): the portal refuses to start with another one."
    });
    Ok(out)
}

/// Creates `path` empty, readable and writable by its owner only, before anything is
/// copied into it: the copy holds password hashes and sealed secrets, and is never
/// readable by others, not even while it is written.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Removes an unfinished copy and the journal SQLite may have left beside it.
fn remove_partial(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(journal);
}

/// Flushes a rename to disk (best effort: not every file system can).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The key derived from a passphrase (argon2id with the given cost), off the async
/// threads.
async fn derive(passphrase: Secret, salt: Vec<u8>, (m, t, p): (u32, u32, u32)) -> Result<[u8; 32]> {
    tokio::task::spawn_blocking(move || {
        let params = argon2::Params::new(m, t, p, Some(32))
            .map_err(|e| format!("bad key derivation parameters: {e}"))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(passphrase.expose().as_bytes(), &salt, &mut out)
            .map_err(|e| format!("the key derivation failed: {e}"))?;
        Ok(out)
    })
    .await
    .map_err(|e| format!("the key derivation failed: {e}"))?
}

/// The server key sealed with the passphrase:
/// `argon2id$<m>$<t>$<p>$<salt>$<nonce and ciphertext>` (base64).
async fn seal(key: &SecretKey, passphrase: Secret) -> Result<String> {
    use crate::env::Random;
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    crate::env::OsRandom.fill(&mut salt);
    crate::env::OsRandom.fill(&mut nonce);
    let kek = derive(passphrase, salt.to_vec(), KDF).await?;
    let ct = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&kek))
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &key.bytes(),
                aad: SEAL_AAD,
            },
        )
        .map_err(|_| "sealing the key failed".to_string())?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ct);
    let (m, t, p) = KDF;
    Ok(format!(
        "argon2id${m}${t}${p}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(sealed)
    ))
}

/// The server key from a sealed value and its passphrase.
async fn open_sealed(sealed: &str, passphrase: Secret) -> Result<SecretKey> {
    let malformed = || "the sealed key in this backup is malformed".to_string();
    let parts: Vec<&str> = sealed.split('$').collect();
    let [kind, m, t, p, salt, data] = parts.as_slice() else {
        return Err(malformed());
    };
    if *kind != "argon2id" {
        return Err(malformed());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| malformed());
    let cost = (num(m)?, num(t)?, num(p)?);
    // Format 1 seals with exactly these costs: a crafted file cannot make the restore
    // allocate or compute more.
    if cost != KDF {
        return Err(malformed());
    }
    let salt = STANDARD.decode(salt).map_err(|_| malformed())?;
    let data = STANDARD.decode(data).map_err(|_| malformed())?;
    if data.len() < 12 + 16 {
        return Err(malformed());
    }
    let kek = derive(passphrase, salt, cost).await?;
    let (nonce, ct) = data.split_at(12);
    let bytes = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&kek))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: SEAL_AAD,
            },
        )
        .map_err(|_| "the passphrase does not open the server key in this backup".to_string())?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
    Ok(SecretKey::from_bytes(bytes))
}
