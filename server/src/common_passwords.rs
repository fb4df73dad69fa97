//! Rejects passwords found in a bundled list of the 10,000 most common passwords
//! (NIST SP 800-63B: check against values known to be commonly used or compromised).

use std::{collections::HashSet, sync::OnceLock};

const LIST: &str = include_str!("common-passwords.txt");

fn list() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// `Err` with a message a person can act on when the password is a common one.
pub fn check(password: &str) -> Result<(), String> {
    if list().contains(password.to_lowercase().as_str()) {
        Err(
            "This password is too common: it appears in lists of leaked passwords. Choose another."
                .into(),
        )
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_rejected() {
        assert!(list().len() >= 10_000);
        assert!(check("password").is_err());
        assert!(check("Password1").is_err() || check("password1").is_err());
        assert!(check("iloveyou").is_err());
        assert!(check("correct horse battery staple 42").is_ok());
    }
}
