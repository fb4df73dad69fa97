//! Validation shared by the browser and the server (the server never trusts the browser:
//! it runs the same checks again).

/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest password accepted, in characters. Long passphrases are welcome; the cap only
/// bounds hashing work.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Default shortest password, in characters (NIST SP 800-63B).
pub const DEFAULT_MIN_PASSWORD_CHARS: usize = 8;
/// Longest person, account or group name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Lower-cased, trimmed form used for uniqueness and look-ups.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A pragmatic check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn validate_email(email: &str) -> Result<(), String> {
    let email = email.trim();
    if email.is_empty() {
        return Err("Enter an email address.".into());
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(format!(
            "An email address can have at most {MAX_EMAIL_LEN} characters."
        ));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!("\"{email}\" is not a valid email address."))
    }
}

/// A display name for a person, account or group: trimmed, 1 to 100 characters.
pub fn validate_name(what: &str, name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("The {what} cannot be empty."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "The {what} can have at most {MAX_NAME_CHARS} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("The {what} cannot contain control characters."));
    }
    Ok(name.to_string())
}

/// Only same-site relative paths may be used as the destination after sign-in.
/// Returns the path when it is safe, `None` otherwise.
pub fn safe_next_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/login")
        && next.len() <= 2048;
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(validate_email("ada@example.com").is_ok());
        assert!(validate_email("  ada@example.com ").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(validate_email(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(normalize_email(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("name", "  Ada  "), Ok("Ada".into()));
        assert!(validate_name("name", "   ").is_err());
        assert!(validate_name("name", &"x".repeat(101)).is_err());
        assert!(validate_name("name", &"é".repeat(100)).is_ok());
    }

    #[test]
    fn next_paths() {
        assert_eq!(safe_next_path("/profile"), Some("/profile"));
        assert_eq!(safe_next_path("/profile?x=1"), Some("/profile?x=1"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "profile",
            "",
            "/login?next=/",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next_path(bad), None, "{bad}");
        }
    }
}

/// Password rules from NIST SP 800-63B / OWASP ASVS 5.0: a minimum length, a generous
/// maximum, no composition rules, and not the email address itself. (The server also
/// rejects passwords found in its list of common passwords.)
pub fn validate_new_password(password: &str, email: &str, min_chars: usize) -> Result<(), String> {
    let n = password.chars().count();
    if n < min_chars {
        return Err(format!(
            "The password must have at least {min_chars} characters."
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!(
            "The password can have at most {MAX_PASSWORD_CHARS} characters."
        ));
    }
    if normalize_email(password) == normalize_email(email) {
        return Err("The password cannot be your email address.".into());
    }
    Ok(())
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(validate_new_password("short", "a@b.co", 8).is_err());
        assert!(validate_new_password("correct horse battery", "a@b.co", 8).is_ok());
        assert!(validate_new_password(&"x".repeat(64), "a@b.co", 8).is_ok());
        assert!(validate_new_password(&"x".repeat(257), "a@b.co", 8).is_err());
        assert!(validate_new_password("Ada@Example.com", "ada@example.com", 8).is_err());
    }
}

/// A rough strength hint shown while typing a new password (the server's checks decide).
pub fn password_strength(password: &str) -> (u8, &'static str) {
    let n = password.chars().count();
    if n == 0 {
        return (0, "");
    }
    if n < DEFAULT_MIN_PASSWORD_CHARS {
        return (0, "Too short");
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let distinct = {
        let mut v: Vec<char> = password.chars().collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    if distinct < 5 {
        return (1, "Weak: too repetitive");
    }
    match (n, classes) {
        (n, _) if n >= 20 => (4, "Very strong"),
        (n, c) if n >= 14 || (n >= 12 && c >= 3) => (3, "Strong"),
        (n, c) if n >= 10 || c >= 3 => (2, "Fair"),
        _ => (1, "Weak: longer is stronger"),
    }
}

/// The self-lockout guard: an administrator without MFA cannot save a policy that would
/// apply to themselves. `None` when the change is allowed.
pub fn policy_lockout(
    policy: crate::models::MfaPolicy,
    admin_uses_mfa: bool,
) -> Option<&'static str> {
    (policy.covers(true) && !admin_uses_mfa).then_some(
        "This policy would apply to you, and you do not use multi-factor authentication yet. Set up your own first.",
    )
}

/// The same guard for requiring passkeys: every policy that requires anything covers
/// administrators, so one without a passkey would lock themselves out.
pub fn passkey_lockout(
    policy: crate::models::MfaPolicy,
    require_passkeys: bool,
    admin_has_passkey: bool,
) -> Option<&'static str> {
    (require_passkeys && policy.covers(true) && !admin_has_passkey).then_some(
        "Requiring passkeys would apply to you, and you have no passkey yet. Add one in the Security section first.",
    )
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::models::MfaPolicy;

    #[test]
    fn grace_days_are_whole_days_within_bounds() {
        use crate::models::GraceDays;
        let days = |s: &str| GraceDays::parse(s).map(GraceDays::days);
        assert_eq!(days(""), Ok(0));
        assert_eq!(days(" 7 "), Ok(7));
        assert_eq!(days("30"), Ok(30));
        for bad in ["31", "-1", "1.5", "a week"] {
            assert!(days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lockout_only_for_policies_covering_an_admin_without_mfa() {
        assert!(policy_lockout(MfaPolicy::Optional, false).is_none());
        assert!(policy_lockout(MfaPolicy::Admins, false).is_some());
        assert!(policy_lockout(MfaPolicy::All, false).is_some());
        assert!(policy_lockout(MfaPolicy::All, true).is_none());
    }
}

/// Most email domains one account's directory may claim.
pub const MAX_SSO_DOMAINS: usize = 20;

/// Parses the email domains of an account's directory, typed as a list separated by
/// commas, spaces or new lines: lower-cased, de-duplicated, each a plausible host name.
pub fn parse_domains(value: &str) -> Result<Vec<String>, String> {
    let mut domains: Vec<String> = Vec::new();
    for raw in value.split(|c: char| c == ',' || c.is_whitespace()) {
        let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        let labels_ok = d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !d.contains('.') || d.len() > 253 || !labels_ok {
            return Err(format!(
                "\"{raw}\" is not an email domain such as example.com."
            ));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    if domains.is_empty() {
        return Err("Enter at least one email domain, such as example.com.".into());
    }
    if domains.len() > MAX_SSO_DOMAINS {
        return Err(format!("At most {MAX_SSO_DOMAINS} email domains."));
    }
    Ok(domains)
}

/// The domain of an email address, lower-cased.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

#[cfg(test)]
mod domain_tests {
    use super::*;

    #[test]
    fn domains_are_parsed_and_checked() {
        assert_eq!(
            parse_domains("Partner.test, @other.test\nPARTNER.test"),
            Ok(vec!["partner.test".to_string(), "other.test".to_string()])
        );
        assert!(parse_domains("").is_err());
        assert!(parse_domains("localhost").is_err());
        assert!(parse_domains("bad_domain.com").is_err());
        assert!(parse_domains("-a.com").is_err());
        assert_eq!(
            email_domain("Sam@Partner.Test"),
            Some("partner.test".into())
        );
        assert_eq!(email_domain("nobody"), None);
    }
}
