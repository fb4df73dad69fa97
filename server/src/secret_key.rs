//! The server key that encrypts TOTP secrets at rest (AES-256-GCM, a random 96-bit nonce
//! per value, the owner's id as associated data so a ciphertext cannot be moved to
//! another person). The key comes from `PORTAL_SECRET_KEY` (base64 of 32 bytes) or from
//! `secret.key` in the data directory, created with mode 0600 on first start. A check value
//! in the database proves it is the key the data was written with: a missing or wrong key
//! stops the start with a clear message instead of silently making secrets unreadable.

use crate::{db::Db, env::Random};
use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use std::path::Path;

const CHECK_PLAINTEXT: &[u8] = b"connect-portal key check v1";
const CHECK_AAD: &[u8] = b"server_keys";

#[derive(Clone)]
pub struct SecretKey(Key<Aes256Gcm>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid PORTAL_SECRET_KEY: it must be the base64 encoding of 32 random bytes")]
    BadEnv,
    #[error("cannot use the key file {path}: {message}")]
    File { path: String, message: String },
    #[error(
        "the server key does not match this database (its TOTP secrets were encrypted with another key). \
         Restore the original PORTAL_SECRET_KEY or data-dir secret.key"
    )]
    WrongKey,
    #[error(
        "this database holds data encrypted with a server key, but no key was found: set \
         PORTAL_SECRET_KEY or restore secret.key in the data directory ({0})"
    )]
    Missing(String),
    #[error("database error while checking the server key: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, thiserror::Error)]
#[error("decryption failed")]
pub struct DecryptError;

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Key::<Aes256Gcm>::from(bytes))
    }

    pub fn encrypt(&self, rng: &dyn Random, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce);
        let cipher = Aes256Gcm::new(&self.0);
        // Encryption with a valid key and nonce cannot fail for inputs this small.
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, encoded: &str, aad: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let raw = STANDARD.decode(encoded).map_err(|_| DecryptError)?;
        if raw.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let (nonce, ct) = raw.split_at(12);
        Aes256Gcm::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| DecryptError)
    }

    /// Loads the key (environment first, then the key file, creating it only for a
    /// database that has no encrypted data yet) and checks it against the database.
    pub async fn load(
        env_value: Option<&str>,
        data_dir: &Path,
        db: &Db,
        rng: &dyn Random,
    ) -> Result<Self, KeyError> {
        let existing_check = crate::db::server_keys::check(&mut *db.acquire().await?).await?;
        let path = data_dir.join("secret.key");
        let key = match Self::read(env_value, data_dir)? {
            Some(key) => key,
            None if existing_check.is_some() => {
                return Err(KeyError::Missing(path.display().to_string()))
            }
            None => {
                let mut bytes = [0u8; 32];
                rng.fill(&mut bytes);
                let key = Self::from_bytes(bytes);
                key.write_file(data_dir)?;
                tracing::info!(path = %path.display(), "created a new server key");
                key
            }
        };
        match existing_check {
            Some(check) if key.matches(&check) => Ok(key),
            Some(_) => Err(KeyError::WrongKey),
            None => {
                let check = key.encrypt(rng, CHECK_PLAINTEXT, CHECK_AAD);
                crate::db::server_keys::set_check(&mut *db.acquire().await?, &check).await?;
                Ok(key)
            }
        }
    }

    /// The key the portal would use (`PORTAL_SECRET_KEY`, else `secret.key` in the data
    /// directory), without creating one: `None` when there is neither.
    pub fn read(env_value: Option<&str>, data_dir: &Path) -> Result<Option<Self>, KeyError> {
        let path = data_dir.join("secret.key");
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            let bytes = STANDARD.decode(v.trim()).map_err(|_| KeyError::BadEnv)?;
            return Ok(Some(Self::from_bytes(
                bytes.try_into().map_err(|_| KeyError::BadEnv)?,
            )));
        }
        if !path.exists() {
            return Ok(None);
        }
        let bad_file = |message: String| KeyError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad_file(e.to_string()))?;
        let bytes: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad_file("it does not hold the base64 encoding of 32 bytes".into()))?;
        Ok(Some(Self::from_bytes(bytes)))
    }

    /// Whether this is the key that wrote a database's check value
    /// ([`crate::db::server_keys::check`]).
    pub fn matches(&self, check: &str) -> bool {
        self.decrypt(check, CHECK_AAD)
            .is_ok_and(|p| p == CHECK_PLAINTEXT)
    }

    /// The key's 32 bytes, for sealing it into a backup (never logged or printed).
    pub(crate) fn bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.0.as_slice());
        bytes
    }

    /// Writes the key to `secret.key` in the data directory (mode 0600), which must not
    /// exist yet.
    pub fn write_file(&self, data_dir: &Path) -> Result<(), KeyError> {
        let path = data_dir.join("secret.key");
        write_key_file(&path, &STANDARD.encode(self.bytes())).map_err(|e| KeyError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

fn write_key_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::OsRandom;

    #[test]
    fn round_trip_and_binding() {
        let key = SecretKey::from_bytes([7; 32]);
        let ct = key.encrypt(&OsRandom, b"totp secret", b"user:1");
        assert_eq!(
            key.decrypt(&ct, b"user:1").ok(),
            Some(b"totp secret".to_vec())
        );
        assert!(key.decrypt(&ct, b"user:2").is_err(), "bound to its owner");
        assert!(SecretKey::from_bytes([8; 32])
            .decrypt(&ct, b"user:1")
            .is_err());
        assert_ne!(
            ct,
            key.encrypt(&OsRandom, b"totp secret", b"user:1"),
            "fresh nonce"
        );
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    }
}
