//! OpenID Connect relying party: discovery, keys, the authorization code flow with PKCE,
//! and ID token verification (RS256 signature, issuer, audience, expiry, nonce).
//!
//! Only what the portal needs, written against the OpenID Connect Core and Discovery
//! specifications; tested against the certified `oidc-provider`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How far clocks may disagree when checking `exp` and `iat`.
pub const CLOCK_SKEW_SECS: i64 = 60;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read from a provider; anything longer is refused unread.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long a provider's discovery document and keys are reused.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// What went wrong, in words an administrator can act on. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("the issuer URL must be an absolute https URL without query or fragment")]
    BadIssuerUrl,
    #[error("the {what} {url} is not an https address on the public internet")]
    NotPublic { what: &'static str, url: String },
    #[error("{url} answered more than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge { url: String },
    #[error("could not reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("{url} did not return a valid {what}: {reason}")]
    BadDocument {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error("the discovery document names the issuer {found}, not {expected}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider does not offer {0}")]
    Unsupported(&'static str),
    #[error("the provider's keys contain no RSA signing key for RS256")]
    NoUsableKey,
    #[error("the token endpoint refused the code: {0}")]
    TokenRefused(String),
    #[error("the ID token is invalid: {0}")]
    InvalidToken(&'static str),
}

/// The parts of the discovery document the portal uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// One JSON Web Key (RSA public parameters only).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Keys usable to verify RS256 signatures.
    pub fn rs256_keys(&self) -> impl Iterator<Item = &Jwk> {
        self.keys.iter().filter(|k| {
            k.kty == "RSA"
                && k.n.is_some()
                && k.e.is_some()
                && k.alg.as_deref().is_none_or(|a| a == "RS256")
                && k.use_.as_deref().is_none_or(|u| u == "sig")
        })
    }
}

/// An HTTP client for talking to providers: bounded time, no redirects followed
/// silently to other hosts, and names resolved by `resolver`, which refuses internal
/// addresses (the address is checked where the connection is made, after resolution).
pub fn http_client(
    resolver: crate::dns::GuardedResolver,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve the provider's name itself, past
        // the resolver below that refuses internal addresses.
        .no_proxy()
        .user_agent("Connect Portal")
        .dns_resolver(std::sync::Arc::new(resolver))
        .build()
}

/// Is `url` an address the portal may send a request to? https to a host name (whose
/// addresses the client's resolver checks) or to a public IP address; with
/// `allow_private`, also loopback and private addresses, and plain http on loopback.
pub fn check_url(url: &url::Url, allow_private: bool) -> bool {
    let host = match url.host() {
        Some(h) => h,
        None => return false,
    };
    let ip = match host {
        url::Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
            Some(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
        url::Host::Domain(_) => None,
    };
    let loopback = ip.is_some_and(|ip| ip.is_loopback());
    let scheme_ok =
        url.scheme() == "https" || (url.scheme() == "http" && loopback && allow_private);
    let address_ok = allow_private || ip.is_none_or(crate::dns::is_public);
    scheme_ok && address_ok && url.username().is_empty() && url.password().is_none()
}

/// Checks an issuer URL as typed by an administrator and returns it normalised (no
/// trailing slash, which the discovery document's `issuer` must match exactly).
pub fn normalize_issuer(issuer: &str, allow_private: bool) -> Result<String, OidcError> {
    let trimmed = issuer.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|_| OidcError::BadIssuerUrl)?;
    if url.query().is_some() || url.fragment().is_some() || trimmed.chars().any(char::is_control) {
        return Err(OidcError::BadIssuerUrl);
    }
    if !check_url(&url, allow_private) {
        return Err(OidcError::NotPublic {
            what: "issuer",
            url: trimmed.to_string(),
        });
    }
    Ok(trimmed.to_string())
}

/// Text a provider sent, made fit for the log and for messages: at most 100 characters,
/// control characters escaped (no forged log lines, no terminal escapes); other text,
/// accented letters included, as it came.
pub fn provider_text(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An endpoint named by a discovery document, checked like the issuer and returned in
/// its serialised form (so it can go into a `Location` header as it is).
fn checked_endpoint(
    what: &'static str,
    raw: &str,
    allow_private: bool,
) -> Result<String, OidcError> {
    let not_public = || OidcError::NotPublic {
        what,
        url: provider_text(raw),
    };
    if raw.chars().any(char::is_control) {
        return Err(not_public());
    }
    let url = url::Url::parse(raw).map_err(|_| not_public())?;
    if url.fragment().is_some() || !check_url(&url, allow_private) {
        return Err(not_public());
    }
    Ok(url.to_string())
}

/// Records one request to a provider: which (`discovery`, `keys`, `token`, `userinfo`),
/// its outcome ([`OidcError::kind`], or `success`) and its seconds (the metrics).
pub type Timing = std::sync::Arc<dyn Fn(&'static str, &'static str, f64) + Send + Sync>;

/// `call`, one request to a provider, timed by `timing`.
pub async fn timed<T>(
    timing: Option<&Timing>,
    request: &'static str,
    call: impl std::future::Future<Output = Result<T, OidcError>>,
) -> Result<T, OidcError> {
    let started = std::time::Instant::now();
    let result = call.await;
    if let Some(record) = timing {
        let outcome = result.as_ref().map_or_else(OidcError::kind, |_| "success");
        record(request, outcome, started.elapsed().as_secs_f64());
    }
    result
}

impl OidcError {
    /// A short, fixed name of what went wrong (a metrics label: no URL, no text).
    pub fn kind(&self) -> &'static str {
        match self {
            OidcError::Unreachable { .. } => "unreachable",
            OidcError::HttpStatus { .. } => "http_error",
            OidcError::TooLarge { .. } => "too_large",
            OidcError::TokenRefused(_) => "refused",
            OidcError::BadIssuerUrl | OidcError::NotPublic { .. } => "not_allowed",
            OidcError::BadDocument { .. }
            | OidcError::IssuerMismatch { .. }
            | OidcError::Unsupported(_)
            | OidcError::NoUsableKey
            | OidcError::InvalidToken(_) => "invalid",
        }
    }
}

/// Discovery documents and key sets, per issuer, for [`CACHE_TTL`]: the unauthenticated
/// single sign-on start does not make the portal fetch them on every call. The requests
/// it makes are timed.
#[derive(Default, Clone)]
pub struct Cache {
    entries: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, CacheEntry>>>,
    timing: Option<Timing>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// When an issuer's documents were fetched, and what they said.
type CacheEntry = (std::time::Instant, Discovery, Jwks);

impl Cache {
    /// A cache whose requests are recorded by `timing`.
    pub fn timed(timing: Timing) -> Self {
        Self {
            timing: Some(timing),
            ..Self::default()
        }
    }

    /// How the requests it makes are recorded (for the caller's own requests).
    pub fn timing(&self) -> Option<&Timing> {
        self.timing.as_ref()
    }

    fn get(&self, issuer: &str) -> Option<(Discovery, Jwks)> {
        let entries = self.entries.lock().ok()?;
        let (at, d, k) = entries.get(issuer)?;
        (at.elapsed() < CACHE_TTL).then(|| (d.clone(), k.clone()))
    }

    fn put(&self, issuer: &str, d: &Discovery, k: &Jwks) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (at, _, _)| at.elapsed() < CACHE_TTL);
            entries.insert(
                issuer.to_string(),
                (std::time::Instant::now(), d.clone(), k.clone()),
            );
        }
    }

    /// Forgets an issuer (after its settings change, or when its keys fail a token).
    pub fn forget(&self, issuer: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(issuer);
        }
    }

    /// The provider's discovery document and keys, from the cache or fetched.
    pub async fn provider(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        allow_private: bool,
    ) -> Result<(Discovery, Jwks), OidcError> {
        if let Some(found) = self.get(issuer) {
            return Ok(found);
        }
        let timing = self.timing.as_ref();
        let d = timed(timing, "discovery", discover(http, issuer, allow_private)).await?;
        let k = timed(timing, "keys", fetch_keys(http, &d)).await?;
        self.put(issuer, &d, &k);
        Ok((d, k))
    }
}

fn unreachable(url: &str, e: &reqwest::Error) -> OidcError {
    // The resolver's refusal, wherever reqwest wrapped it.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<crate::dns::InternalAddress>().is_some() {
            return OidcError::Unreachable {
                url: url.to_string(),
                reason: "its name resolves only to internal addresses".into(),
            };
        }
        source = s.source();
    }
    let reason = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    OidcError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

/// Reads a provider's answer, refusing more than [`MAX_RESPONSE_BYTES`].
async fn capped_body(url: &str, mut r: reqwest::Response) -> Result<Vec<u8>, OidcError> {
    let too_large = || OidcError::TooLarge {
        url: url.to_string(),
    };
    if r.content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| unreachable(url, &e))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<T, OidcError> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    if !r.status().is_success() {
        return Err(OidcError::HttpStatus {
            url: url.to_string(),
            status: r.status().as_u16(),
        });
    }
    let bytes = capped_body(url, r).await?;
    serde_json::from_slice(&bytes).map_err(|e| OidcError::BadDocument {
        url: url.to_string(),
        what,
        reason: provider_text(&e.to_string()),
    })
}

/// Fetches and checks the discovery document of `issuer` (already normalised): every
/// endpoint it names must pass the same address rules as the issuer.
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    allow_private: bool,
) -> Result<Discovery, OidcError> {
    // The stored issuer passes the same rules again: settings saved under other rules
    // (or written to the database by hand) reach no internal address.
    let issuer = normalize_issuer(issuer, allow_private)?;
    let issuer = issuer.as_str();
    let url = format!("{issuer}/.well-known/openid-configuration");
    let mut d: Discovery = get_json(http, &url, "discovery document").await?;
    d.authorization_endpoint = checked_endpoint(
        "authorization endpoint",
        &d.authorization_endpoint,
        allow_private,
    )?;
    d.token_endpoint = checked_endpoint("token endpoint", &d.token_endpoint, allow_private)?;
    d.jwks_uri = checked_endpoint("key set address", &d.jwks_uri, allow_private)?;
    d.userinfo_endpoint = d
        .userinfo_endpoint
        .as_deref()
        .map(|u| checked_endpoint("UserInfo endpoint", u, allow_private))
        .transpose()?;
    if d.issuer != issuer {
        return Err(OidcError::IssuerMismatch {
            expected: issuer.to_string(),
            found: provider_text(&d.issuer),
        });
    }
    if !d.code_challenge_methods_supported.is_empty()
        && !d
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(OidcError::Unsupported("PKCE with S256"));
    }
    if !d.id_token_signing_alg_values_supported.is_empty()
        && !d
            .id_token_signing_alg_values_supported
            .iter()
            .any(|a| a == "RS256")
    {
        return Err(OidcError::Unsupported("RS256-signed ID tokens"));
    }
    Ok(d)
}

pub async fn fetch_keys(http: &reqwest::Client, d: &Discovery) -> Result<Jwks, OidcError> {
    let jwks: Jwks = get_json(http, &d.jwks_uri, "key set").await?;
    if jwks.rs256_keys().next().is_none() {
        return Err(OidcError::NoUsableKey);
    }
    Ok(jwks)
}

/// The PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization request URL (code flow, PKCE S256, state and nonce).
pub fn authorization_url(
    d: &Discovery,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    verifier: &str,
    login_hint: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &pkce_challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", login_hint)
        .finish();
    let sep = if d.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{query}", d.authorization_endpoint)
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// What the token endpoint returned. Never printed.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

/// Exchanges the authorization code for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    d: &Discovery,
    client_id: &str,
    client_secret: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, OidcError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    // client_secret_basic unless the provider only takes client_secret_post.
    let post_only = !d.token_endpoint_auth_methods_supported.is_empty()
        && !d
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "client_secret_basic")
        && d.token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "client_secret_post");
    let mut request = http.post(&d.token_endpoint);
    if post_only {
        form.push(("client_id", client_id));
        form.push(("client_secret", client_secret));
    } else {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        request = request.basic_auth(enc(client_id), Some(enc(client_secret)));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = request
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(&d.token_endpoint, &e))?;
    let status = r.status();
    let bytes = capped_body(&d.token_endpoint, r).await?;
    if !status.is_success() {
        // The provider's words reach the log: escaped and cut short.
        let reason = serde_json::from_slice::<TokenError>(&bytes)
            .map(|e| provider_text(&e.error))
            .unwrap_or_else(|_| format!("HTTP {}", status.as_u16()));
        return Err(OidcError::TokenRefused(reason));
    }
    let t = serde_json::from_slice::<TokenResponse>(&bytes)
        .map_err(|_| OidcError::TokenRefused("unreadable answer".into()))?;
    Ok(Tokens {
        id_token: t
            .id_token
            .ok_or(OidcError::TokenRefused("no ID token in the answer".into()))?,
        access_token: t.access_token,
    })
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
}

/// The verified email from the UserInfo endpoint, for providers that keep it out of the
/// ID token. Its `sub` must be the ID token's subject (OpenID Connect Core 5.3.2).
pub async fn userinfo_email(
    http: &reqwest::Client,
    d: &Discovery,
    access_token: &str,
    subject: &str,
) -> Result<Option<String>, OidcError> {
    let Some(url) = d.userinfo_endpoint.as_deref() else {
        return Ok(None);
    };
    let r = http
        .get(url)
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    if !r.status().is_success() {
        return Err(OidcError::HttpStatus {
            url: url.to_string(),
            status: r.status().as_u16(),
        });
    }
    let bytes = capped_body(url, r).await?;
    let info: UserInfo = serde_json::from_slice(&bytes).map_err(|e| OidcError::BadDocument {
        url: url.to_string(),
        what: "UserInfo answer",
        reason: provider_text(&e.to_string()),
    })?;
    if info.sub != subject {
        return Err(OidcError::InvalidToken("UserInfo is about another subject"));
    }
    Ok(match (info.email, info.email_verified) {
        (Some(e), Some(true)) => Some(e),
        _ => None,
    })
}

/// The verified claims the portal uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaims {
    pub subject: String,
    /// Present when the ID token carries a verified email.
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
}

/// What the verifier expects of an ID token.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
}

fn verify_rs256(key: &Jwk, message: &[u8], signature: &[u8]) -> bool {
    use rsa::{pkcs1v15::VerifyingKey, signature::Verifier, BigUint, RsaPublicKey};
    let decode = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let (Some(n), Some(e)) = (decode(&key.n), decode(&key.e)) else {
        return false;
    };
    let Ok(public) = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
    else {
        return false;
    };
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(public)
        .verify(message, &signature)
        .is_ok()
}

/// Verifies an ID token: RS256 signature by one of the provider's keys, issuer, audience
/// (and authorized party), expiry and issue time within the clock skew, and the nonce.
pub fn verify_id_token(
    token: &str,
    keys: &Jwks,
    expected: Expected<'_>,
) -> Result<IdentityClaims, OidcError> {
    let bad = OidcError::InvalidToken;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a signed JWT"));
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(bad("unreadable header"))?;
    if header.alg != "RS256" {
        return Err(bad("unexpected signature algorithm"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad("unreadable signature"))?;
    let message = &token.as_bytes()[..h.len() + 1 + p.len()];
    let signed = keys
        .rs256_keys()
        .filter(|k| match (&header.kid, &k.kid) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        })
        .any(|k| verify_rs256(k, message, &signature));
    if !signed {
        return Err(bad("signature does not verify"));
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(bad("unreadable claims"))?;
    if claims.iss != expected.issuer {
        return Err(bad("wrong issuer"));
    }
    let audiences = match &claims.aud {
        Audience::One(a) => vec![a.as_str()],
        Audience::Many(v) => v.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(bad("issued for another client"));
    }
    if audiences.len() > 1 && claims.azp.as_deref() != Some(expected.client_id) {
        return Err(bad("issued for another client"));
    }
    if expected.now >= claims.exp + CLOCK_SKEW_SECS {
        return Err(bad("expired"));
    }
    if claims.iat > expected.now + CLOCK_SKEW_SECS {
        return Err(bad("issued in the future"));
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(bad("wrong nonce"));
    }
    let email = match (claims.email, claims.email_verified) {
        (Some(e), Some(true)) => Some(e),
        _ => None,
    };
    Ok(IdentityClaims {
        subject: claims.sub,
        email,
        name: claims.name,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rsa::{
        pkcs1v15::SigningKey, signature::SignatureEncoding, signature::Signer,
        traits::PublicKeyParts, RsaPrivateKey,
    };
    use serde_json::{json, Value};

    const NOW: i64 = 1_795_521_600;
    const ISS: &str = "https://login.partner.test";

    fn key(n: usize) -> &'static (RsaPrivateKey, Jwks) {
        static KEYS: std::sync::OnceLock<Vec<(RsaPrivateKey, Jwks)>> = std::sync::OnceLock::new();
        &KEYS.get_or_init(|| {
            (0..2)
                .map(|i| {
                    let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
                    let jwk = Jwk {
                        kty: "RSA".into(),
                        kid: Some(format!("k{i}")),
                        alg: Some("RS256".into()),
                        use_: Some("sig".into()),
                        n: Some(URL_SAFE_NO_PAD.encode(private.n().to_bytes_be())),
                        e: Some(URL_SAFE_NO_PAD.encode(private.e().to_bytes_be())),
                    };
                    (private, Jwks { keys: vec![jwk] })
                })
                .collect()
        })[n]
    }

    fn sign_with(n: usize, header: Value, claims: &Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signer = SigningKey::<Sha256>::new(key(n).0.clone());
        let sig = signer.sign(format!("{h}.{p}").as_bytes()).to_vec();
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn sign(claims: &Value) -> String {
        sign_with(0, json!({"alg": "RS256", "kid": "k0"}), claims)
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "sub": "u1", "aud": "connect-portal", "exp": NOW + 300, "iat": NOW,
            "nonce": "n1", "email": "sam@partner.test", "email_verified": true, "name": "Sam",
        })
    }

    fn check(token: &str) -> Result<IdentityClaims, OidcError> {
        verify_id_token(
            token,
            &key(0).1,
            Expected {
                issuer: ISS,
                client_id: "connect-portal",
                nonce: "n1",
                now: NOW,
            },
        )
    }

    fn with(field: &str, value: Value) -> Value {
        let mut c = claims();
        c[field] = value;
        c
    }

    #[test]
    fn a_valid_token_gives_the_verified_email() {
        let c = check(&sign(&claims())).unwrap();
        assert_eq!(c.email.as_deref(), Some("sam@partner.test"));
        assert_eq!(c.subject, "u1");
        // Unverified email: no email (the caller refuses the sign-in).
        let c = check(&sign(&with("email_verified", json!(false)))).unwrap();
        assert_eq!(c.email, None);
    }

    #[test]
    fn tampered_or_foreign_signatures_are_refused() {
        let token = sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(with("email", json!("boss@partner.test")).to_string());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(
            check(&tampered),
            Err(OidcError::InvalidToken("signature does not verify"))
        );
        // Signed by a key the provider does not publish.
        let other = sign_with(1, json!({"alg": "RS256", "kid": "k0"}), &claims());
        assert_eq!(
            check(&other),
            Err(OidcError::InvalidToken("signature does not verify"))
        );
        // No signature, or a symmetric one.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert!(check(&none).is_err());
        let hs = sign_with(0, json!({"alg": "HS256"}), &claims());
        assert_eq!(
            check(&hs),
            Err(OidcError::InvalidToken("unexpected signature algorithm"))
        );
        assert!(check("not-a-jwt").is_err());
    }

    #[test]
    fn expiry_and_issue_time_allow_only_bounded_skew() {
        assert!(
            check(&sign(&with("exp", json!(NOW - 30)))).is_ok(),
            "within the skew"
        );
        assert_eq!(
            check(&sign(&with("exp", json!(NOW - CLOCK_SKEW_SECS - 1)))),
            Err(OidcError::InvalidToken("expired"))
        );
        assert_eq!(
            check(&sign(&with("iat", json!(NOW + CLOCK_SKEW_SECS + 5)))),
            Err(OidcError::InvalidToken("issued in the future"))
        );
    }

    #[test]
    fn issuer_audience_and_nonce_must_match() {
        assert_eq!(
            check(&sign(&with("iss", json!("https://evil.test")))),
            Err(OidcError::InvalidToken("wrong issuer"))
        );
        assert_eq!(
            check(&sign(&with("aud", json!("someone-else")))),
            Err(OidcError::InvalidToken("issued for another client"))
        );
        assert_eq!(
            check(&sign(&with("aud", json!(["connect-portal", "x"])))),
            Err(OidcError::InvalidToken("issued for another client")),
            "several audiences need azp"
        );
        let mut c = with("aud", json!(["connect-portal", "x"]));
        c["azp"] = json!("connect-portal");
        assert!(check(&sign(&c)).is_ok());
        assert_eq!(
            check(&sign(&with("nonce", json!("n2")))),
            Err(OidcError::InvalidToken("wrong nonce"))
        );
    }

    #[test]
    fn issuer_urls_must_be_https_except_on_loopback() {
        assert_eq!(
            normalize_issuer(" https://login.partner.test/ ", false),
            Ok("https://login.partner.test".into())
        );
        assert!(normalize_issuer("http://127.0.0.1:4400", true).is_ok());
        assert!(normalize_issuer("http://127.0.0.1:4400", false).is_err());
        assert!(normalize_issuer("https://127.0.0.1:4400", false).is_err());
        assert!(normalize_issuer("https://10.0.0.5", false).is_err());
        assert!(normalize_issuer("https://[::1]", false).is_err());
        assert!(normalize_issuer("https://169.254.169.254", false).is_err());
        assert!(normalize_issuer("https://localhost", false).is_err());
        assert!(normalize_issuer("http://login.partner.test", true).is_err());
        assert!(normalize_issuer("https://login.partner.test/?x=1", true).is_err());
        assert!(normalize_issuer("https://93.184.216.34", false).is_ok());
        assert!(normalize_issuer("login.partner.test", true).is_err());
    }

    #[test]
    fn every_endpoint_of_a_discovery_document_passes_the_issuers_rules() {
        let ok = |u: &str, private: bool| checked_endpoint("token endpoint", u, private);
        assert_eq!(
            ok("https://login.partner.test/token", false),
            Ok("https://login.partner.test/token".into())
        );
        for refused in [
            "http://login.partner.test/token",
            "https://10.0.0.1/token",
            "https://[fd00::1]/token",
            "https://169.254.169.254/latest/meta-data",
            "https://user:pw@login.partner.test/token",
            "https://login.partner.test/auth\u{7}",
            "https://login.partner.test/auth\r\nSet-Cookie: x=1",
            "not a url",
        ] {
            assert!(
                matches!(ok(refused, false), Err(OidcError::NotPublic { .. })),
                "{refused:?}"
            );
        }
        // Private addresses may be allowed; control characters never are.
        assert!(ok("http://127.0.0.1:4400/token", true).is_ok());
        assert!(ok("http://127.0.0.1:4400/auth\u{0}", true).is_err());
        // What reaches the log and the report is escaped.
        match ok("https://x.test/\u{1b}[31m", false) {
            Err(OidcError::NotPublic { url, .. }) => assert!(!url.contains('\u{1b}'), "{url}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn provider_text_is_short_and_escaped() {
        let t = provider_text(&format!("bad\nline\u{1b}{}", "x".repeat(500)));
        assert!(!t.contains('\n') && !t.contains('\u{1b}'), "{t}");
        assert!(t.starts_with("bad\\nline\\u{1b}"), "{t}");
        assert!(t.len() < 120, "{}", t.len());
        assert_eq!(provider_text("Université d'été"), "Université d'été");
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
