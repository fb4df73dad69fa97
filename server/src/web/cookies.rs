//! Every cookie the portal sets, in one place: names (`__Host-` prefixed over https),
//! attributes (HttpOnly, SameSite=Lax, Secure over https, Path=/) and lifetimes, and how
//! each is read back from a request.

use crate::{config::Config, sessions::Token};

/// A `Set-Cookie` value for the portal's cookies: host-wide path, HttpOnly, SameSite=Lax
/// (so they come back on top-level navigations, e.g. from an SSO provider), `Secure` over
/// https. `max_age_secs` 0 removes the cookie.
fn set_cookie(config: &Config, name: &str, value: &str, max_age_secs: u64) -> String {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// The session cookie's name: `__Host-` prefixed over https.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-portal_session"
    } else {
        "portal_session"
    }
}

/// `Set-Cookie` value carrying a new session token.
pub fn cookie(config: &Config, token: &Token) -> String {
    set_cookie(
        config,
        session_cookie_name(config),
        token.expose(),
        config.session_lifetime.as_secs(),
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(config: &Config) -> String {
    set_cookie(config, session_cookie_name(config), "", 0)
}

/// The session token in a request's `Cookie` headers, if well-formed.
pub fn token_from_headers(config: &Config, headers: &http::HeaderMap) -> Option<Token> {
    cookie_value(headers, session_cookie_name(config)).and_then(|v| Token::from_cookie(&v))
}

fn pending_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-portal_pending"
    } else {
        "portal_pending"
    }
}

/// `Set-Cookie` for the pending sign-in (password done, code next): five minutes.
pub fn pending_cookie(config: &Config, token: &Token) -> String {
    let ttl = u64::try_from(crate::mfa::PENDING_SIGNIN_TTL_MS / 1000).unwrap_or(300);
    set_cookie(config, pending_cookie_name(config), token.expose(), ttl)
}

pub fn clear_pending_cookie(config: &Config) -> String {
    set_cookie(config, pending_cookie_name(config), "", 0)
}

/// The pending sign-in token in a request, if well-formed.
pub fn pending_from_headers(config: &Config, headers: &http::HeaderMap) -> Option<String> {
    cookie_value(headers, pending_cookie_name(config)).filter(|v| Token::from_cookie(v).is_some())
}

/// The value of the named cookie in a request's `Cookie` headers.
fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn sso_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-portal_sso"
    } else {
        "portal_sso"
    }
}

/// `Set-Cookie` binding a single sign-on attempt to this browser: its `state`, for as
/// long as the attempt may take. SameSite=Lax so that it comes back on the provider's
/// top-level redirect.
pub fn sso_state_cookie(config: &Config, state: &str) -> String {
    let ttl = u64::try_from(crate::db::sso::REQUEST_TTL_MS / 1000).unwrap_or(600);
    set_cookie(config, sso_cookie_name(config), state, ttl)
}

pub fn clear_sso_state_cookie(config: &Config) -> String {
    set_cookie(config, sso_cookie_name(config), "", 0)
}

pub fn sso_state_from_headers(config: &Config, headers: &http::HeaderMap) -> Option<String> {
    cookie_value(headers, sso_cookie_name(config))
}

fn device_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-portal_device"
    } else {
        "portal_device"
    }
}

/// `Set-Cookie` for this browser's device token: long-lived (400 days, the most browsers
/// keep), so a person is told of sign-ins from new devices, not from new networks.
pub fn device_cookie(config: &Config, token: &Token) -> String {
    set_cookie(
        config,
        device_cookie_name(config),
        token.expose(),
        400 * 86_400,
    )
}

/// The device token in a request, if well-formed.
pub fn device_from_headers(config: &Config, headers: &http::HeaderMap) -> Option<String> {
    cookie_value(headers, device_cookie_name(config)).filter(|v| Token::from_cookie(v).is_some())
}

fn flash_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-portal_flash"
    } else {
        "portal_flash"
    }
}

/// How long a plain form's answer waits for the page it sends the browser to.
const FLASH_TTL_SECS: u64 = 120;

/// `Set-Cookie` carrying a plain form's error message for the next page: `key` is also
/// in that page's address (`?error=key`), so the message shows only there, only in this
/// browser, and a crafted link cannot make the portal say anything.
pub fn flash_cookie(config: &Config, key: &str, message: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    // Far below the 4 KB browsers keep; the portal's messages are a sentence or two.
    let message: String = message.chars().take(600).collect();
    let value = format!("{key}.{}", URL_SAFE_NO_PAD.encode(message.as_bytes()));
    set_cookie(config, flash_cookie_name(config), &value, FLASH_TTL_SECS)
}

pub fn clear_flash_cookie(config: &Config) -> String {
    set_cookie(config, flash_cookie_name(config), "", 0)
}

/// The flash message for the page at `key` (the address's `error=`), if this browser
/// carries it.
pub fn flash_from_headers(config: &Config, headers: &http::HeaderMap, key: &str) -> Option<String> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let value = cookie_value(headers, flash_cookie_name(config))?;
    let (k, message) = value.split_once('.')?;
    if k.is_empty() || k != key {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(message).ok()?).ok()
}

/// After sign-out: a short-lived flag (readable by `/pwa.js`, so not HttpOnly) that makes
/// the sign-in page delete the portal's caches and web storage, so nothing private
/// survives in the browser (ASVS 14.3.1). (The `Clear-Site-Data` header on the sign-out
/// redirect made Chromium reload the old page.)
pub fn clear_site_flag() -> String {
    "portal_clear=1; Path=/; Max-Age=60; SameSite=Lax".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_host_prefixed_over_https() {
        let mut c = Config::for_tests("sqlite::memory:");
        assert_eq!(session_cookie_name(&c), "portal_session");
        c.secure_cookies = true;
        assert_eq!(session_cookie_name(&c), "__Host-portal_session");
        assert!(clear_cookie(&c).starts_with("__Host-portal_session=;"));
        assert!(clear_cookie(&c).contains("; Secure"));
        let token = Token::from_cookie(&"x".repeat(43)).expect("token");
        assert!(pending_cookie(&c, &token).starts_with("__Host-portal_pending=xxx"));
    }
}
