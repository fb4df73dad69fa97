//! Single sign-on settings per account, and the authorization requests in flight.

use crate::{
    db::{
        audit::{record_for_account, Action, Actor},
        is_unique_violation,
    },
    env::{random_hex, Random},
    secret_key::SecretKey,
};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

/// How long a person has to come back from their directory.
pub const REQUEST_TTL_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the email domain {0} already belongs to another account's single sign-on")]
    DomainTaken(String),
    #[error("there is no account with id {0}")]
    UnknownAccount(i64),
    #[error("a client secret is needed")]
    SecretMissing,
    /// The stored secret belongs to the provider and client it was issued for: a new
    /// issuer or client ID needs the secret again, so it is never sent elsewhere.
    #[error("a new issuer or client ID needs the client secret again")]
    SecretRebind,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// An account's settings, without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    pub account_id: i64,
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub domains: Vec<DomainClaim>,
}

impl SsoConfig {
    /// The names of the account's domains, proven or not.
    pub fn domain_names(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.domain.clone()).collect()
    }

    /// Is `domain` one of the account's proven domains?
    pub fn proves(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.domain == domain && d.verified)
    }
}

/// An email domain an account claims for its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainClaim {
    pub domain: String,
    /// The value of the TXT record at `_connect-portal.<domain>` that proves it.
    pub token: String,
    /// Proven (by DNS, or added by an operator): only proven domains route sign-ins.
    pub verified: bool,
}

/// The DNS name whose TXT record proves a domain.
pub fn proof_name(domain: &str) -> String {
    format!("_connect-portal.{domain}")
}

/// A change to save. `client_secret: None` keeps the stored secret (only while the
/// issuer and client ID stay the same).
pub struct SsoUpdate<'a> {
    pub enabled: bool,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
    pub domains: &'a [String],
    /// The operator's CLI: its domains count as proven.
    pub trusted_domains: bool,
}

fn aad(account_id: i64) -> Vec<u8> {
    format!("sso-client-secret:{account_id}").into_bytes()
}

pub async fn load(
    conn: &mut AnyConnection,
    account_id: i64,
) -> Result<Option<SsoConfig>, sqlx::Error> {
    let Some(row) =
        sqlx::query("SELECT enabled, issuer, client_id FROM account_sso WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    Ok(Some(SsoConfig {
        account_id,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        issuer: row.try_get("issuer")?,
        client_id: row.try_get("client_id")?,
        domains: domains(&mut *conn, account_id).await?,
    }))
}

async fn domains(
    conn: &mut AnyConnection,
    account_id: i64,
) -> Result<Vec<DomainClaim>, sqlx::Error> {
    sqlx::query(
        "SELECT domain, token, verified_at FROM account_sso_domains WHERE account_id = $1 \
         ORDER BY domain",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(DomainClaim {
            domain: r.try_get("domain")?,
            token: r.try_get("token")?,
            verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
        })
    })
    .collect()
}

/// The decrypted client secret, for the token request only.
pub async fn client_secret(
    conn: &mut AnyConnection,
    key: &SecretKey,
    account_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT client_secret FROM account_sso WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let encoded: String = row.try_get("client_secret")?;
    let plain = key
        .decrypt(&encoded, &aad(account_id))
        .map_err(|_| sqlx::Error::Decode("the SSO client secret does not decrypt".into()))?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| sqlx::Error::Decode("the SSO client secret is not text".into()))
}

/// Saves the settings and records the change, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    conn: &mut AnyConnection,
    key: &SecretKey,
    rng: &dyn Random,
    account_id: i64,
    update: SsoUpdate<'_>,
    actor: &Actor,
    now: i64,
) -> Result<(), SsoError> {
    let mut tx = super::transaction(conn).await?;
    let exists = sqlx::query("SELECT 1 AS one FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Err(SsoError::UnknownAccount(account_id));
    }
    let stored = sqlx::query("SELECT issuer, client_id FROM account_sso WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
    let had = stored.is_some();
    if let Some(row) = &stored {
        let (issuer, client_id): (String, String) =
            (row.try_get("issuer")?, row.try_get("client_id")?);
        if update.client_secret.is_none()
            && (issuer != update.issuer || client_id != update.client_id)
        {
            return Err(SsoError::SecretRebind);
        }
    }
    let secret = update
        .client_secret
        .map(|s| key.encrypt(rng, s.as_bytes(), &aad(account_id)));
    match (had, secret) {
        (false, None) => return Err(SsoError::SecretMissing),
        (false, Some(secret)) => {
            sqlx::query(
                "INSERT INTO account_sso (account_id, enabled, issuer, client_id, client_secret, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(account_id)
            .bind(i64::from(update.enabled))
            .bind(update.issuer)
            .bind(update.client_id)
            .bind(secret)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        (true, secret) => {
            sqlx::query(
                "UPDATE account_sso SET enabled = $1, issuer = $2, client_id = $3, updated_at = $4 \
                 WHERE account_id = $5",
            )
            .bind(i64::from(update.enabled))
            .bind(update.issuer)
            .bind(update.client_id)
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
            if let Some(secret) = secret {
                sqlx::query("UPDATE account_sso SET client_secret = $1 WHERE account_id = $2")
                    .bind(secret)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    // Claims no longer listed go; listed ones keep their proof; new ones start pending
    // with their own token (or proven, from the operator's CLI).
    let kept: Vec<String> =
        sqlx::query("SELECT domain FROM account_sso_domains WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| r.try_get("domain"))
            .collect::<Result<_, _>>()?;
    for d in kept.iter().filter(|d| !update.domains.contains(d)) {
        sqlx::query("DELETE FROM account_sso_domains WHERE account_id = $1 AND domain = $2")
            .bind(account_id)
            .bind(d)
            .execute(&mut *tx)
            .await?;
    }
    let verified_at = update.trusted_domains.then_some(now);
    for d in update.domains {
        // A domain another account has proven stays there: no claim on it is taken.
        let proven_elsewhere = sqlx::query(
            "SELECT 1 AS one FROM account_sso_domains \
             WHERE domain = $1 AND account_id <> $2 AND verified_at IS NOT NULL",
        )
        .bind(d)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if proven_elsewhere {
            return Err(SsoError::DomainTaken(d.clone()));
        }
        let result = if kept.contains(d) {
            sqlx::query(
                "UPDATE account_sso_domains SET verified_at = COALESCE(verified_at, $1) \
                 WHERE account_id = $2 AND domain = $3",
            )
            .bind(verified_at)
            .bind(account_id)
            .bind(d)
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query(
                "INSERT INTO account_sso_domains (account_id, domain, token, created_at, verified_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(account_id)
            .bind(d)
            .bind(random_hex(rng, 16))
            .bind(now)
            .bind(verified_at)
            .execute(&mut *tx)
            .await
        };
        match result {
            Ok(_) => {}
            // Another account has proven it: a proven domain stays with its account.
            Err(e) if is_unique_violation(&e) => return Err(SsoError::DomainTaken(d.clone())),
            Err(e) => return Err(e.into()),
        }
    }
    let summary = format!(
        "{} · issuer {} · client {} · domains {}{}",
        if update.enabled { "On" } else { "Off" },
        update.issuer,
        update.client_id,
        update.domains.join(", "),
        if update.client_secret.is_some() {
            " · new client secret"
        } else {
            ""
        }
    );
    record_for_account(
        &mut tx,
        actor,
        account_id,
        Action::SsoChanged,
        &summary,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns single sign-on off (the settings stay), recording who did it.
pub async fn disable(
    conn: &mut AnyConnection,
    account_id: i64,
    actor: &Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    let n =
        sqlx::query("UPDATE account_sso SET enabled = 0, updated_at = $1 WHERE account_id = $2")
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if n > 0 {
        record_for_account(&mut tx, actor, account_id, Action::SsoChanged, "Off", now).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// Proves a pending domain of an account (its TXT record was found) and records who did,
/// in one transaction. `Ok(false)` when the account has no such pending claim. A domain
/// another account proved first stays there.
pub async fn mark_verified(
    conn: &mut AnyConnection,
    account_id: i64,
    domain: &str,
    actor: &Actor,
    now: i64,
) -> Result<bool, SsoError> {
    let mut tx = super::transaction(conn).await?;
    let done = sqlx::query(
        "UPDATE account_sso_domains SET verified_at = $1 \
         WHERE account_id = $2 AND domain = $3 AND verified_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(domain)
    .execute(&mut *tx)
    .await;
    let n = match done {
        Ok(d) => d.rows_affected(),
        Err(e) if is_unique_violation(&e) => return Err(SsoError::DomainTaken(domain.to_string())),
        Err(e) => return Err(e.into()),
    };
    if n == 1 {
        record_for_account(
            &mut tx,
            actor,
            account_id,
            Action::DomainProven,
            domain,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

/// The account whose directory owns an email domain: the domain is proven and SSO is on.
/// An unproven claim routes nothing.
pub async fn account_for_domain(
    conn: &mut AnyConnection,
    domain: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.account_id AS account_id FROM account_sso_domains d \
         JOIN account_sso s ON s.account_id = d.account_id \
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL AND s.enabled = 1",
    )
    .bind(domain)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get("account_id")).transpose()
}

/// Is SSO on for the account?
pub async fn enabled(conn: &mut AnyConnection, account_id: i64) -> Result<bool, sqlx::Error> {
    Ok(load(&mut *conn, account_id)
        .await?
        .is_some_and(|c| c.enabled))
}

fn hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// A started authorization request: `state` travels through the provider and in a
/// cookie of this browser; `nonce` comes back inside the ID token; `verifier` is PKCE's.
pub struct Started {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

pub async fn start_request(
    conn: &mut AnyConnection,
    rng: &dyn Random,
    account_id: i64,
    next_path: &str,
    now: i64,
) -> Result<Started, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    sqlx::query("DELETE FROM sso_requests WHERE created_at < $1")
        .bind(now - REQUEST_TTL_MS)
        .execute(&mut *tx)
        .await?;
    let started = Started {
        state: random_hex(rng, 32),
        nonce: random_hex(rng, 32),
        verifier: random_hex(rng, 48),
    };
    sqlx::query(
        "INSERT INTO sso_requests (state_hash, account_id, nonce, pkce_verifier, next_path, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash(&started.state))
    .bind(account_id)
    .bind(&started.nonce)
    .bind(&started.verifier)
    .bind(next_path)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(started)
}

/// A request coming back, taken once.
#[derive(Debug, Clone)]
pub struct Pending {
    pub account_id: i64,
    pub nonce: String,
    pub verifier: String,
    pub next_path: String,
}

pub async fn take_request(
    conn: &mut AnyConnection,
    state: &str,
    now: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM sso_requests WHERE state_hash = $1 \
         RETURNING account_id, nonce, pkce_verifier, next_path, created_at",
    )
    .bind(hash(state))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let created: i64 = row.try_get("created_at")?;
    if now - created > REQUEST_TTL_MS {
        return Ok(None);
    }
    Ok(Some(Pending {
        account_id: row.try_get("account_id")?,
        nonce: row.try_get("nonce")?,
        verifier: row.try_get("pkce_verifier")?,
        next_path: row.try_get("next_path")?,
    }))
}
