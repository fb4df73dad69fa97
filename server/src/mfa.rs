//! TOTP (RFC 6238: SHA1, 6 digits, 30-second steps, ±1 step of skew), recovery codes, and
//! the pending state between a correct password and the code.

use crate::env::Random;
use sha2::{Digest, Sha256};

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
/// 160-bit secrets (RFC 4226 recommends at least 128, ideally 160).
pub const SECRET_BYTES: usize = 20;
pub const ENROLMENT_TTL_MS: i64 = 10 * 60_000;
pub const PENDING_SIGNIN_TTL_MS: i64 = 5 * 60_000;
/// How long a password re-entry counts for sensitive actions.
pub const ELEVATION_MS: i64 = 5 * 60_000;
pub const RECOVERY_CODE_COUNT: usize = 10;
const RECOVERY_CODE_GROUPS: usize = 5;
const RECOVERY_GROUP_LEN: usize = 5;

/// The code for the step containing `unix_secs`, with any RFC 6238 algorithm and length.
pub fn code_at(
    algorithm: totp_rs::Algorithm,
    digits: usize,
    secret: &[u8],
    unix_secs: u64,
) -> String {
    totp_rs::TOTP::new_unchecked(algorithm, digits, 0, STEP_SECS, secret.to_vec())
        .generate(unix_secs)
}

/// Digits only, spaces tolerated: "123 456" → "123456".
pub fn normalize_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The step (current ±1) whose code matches, if any.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<u64> {
    let code = normalize_code(code)?;
    let now = u64::try_from(now_ms / 1000).ok()?;
    let t = now / STEP_SECS;
    [t.saturating_sub(1), t, t + 1]
        .into_iter()
        .filter(|s| *s > 0 || t == 0)
        .find(|s| {
            let expected = code_at(totp_rs::Algorithm::SHA1, DIGITS, secret, s * STEP_SECS);
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

pub fn base32(secret: &[u8]) -> String {
    match totp_rs::Secret::Raw(secret.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => s,
        totp_rs::Secret::Raw(_) => String::new(),
    }
}

/// "ABCD EFGH IJKL …" for reading aloud or typing.
pub fn grouped(b32: &str) -> String {
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `otpauth://totp/ISSUER:EMAIL?secret=…&issuer=ISSUER&…`: the app shows "ISSUER: EMAIL".
pub fn otpauth_uri(issuer: &str, email: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        encode_component(issuer),
        encode_component(email),
        encode_component(issuer),
    )
}

/// The URI as an SVG QR code (rendered on the server).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// Ten recovery codes like `k7qmz-2xha4-9pwdr-fh3km-u8vte` (25 symbols from 31: about
/// 124 random bits each, past the 112 that ASVS 6.5.2 asks of a secret stored with a fast
/// hash) and their hashes.
pub fn new_recovery_codes(rng: &dyn Random) -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789"; // no look-alikes
    let symbol = || loop {
        let mut b = [0u8; 1];
        rng.fill(&mut b);
        // Rejection sampling keeps every symbol equally likely.
        if let Some(c) = ALPHABET.get(usize::from(b[0] & 31)) {
            return char::from(*c);
        }
    };
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            (0..RECOVERY_CODE_GROUPS)
                .map(|_| {
                    (0..RECOVERY_GROUP_LEN)
                        .map(|_| symbol())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// Recovery codes are compared case- and separator-insensitively.
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use totp_rs::Algorithm;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let cases: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in cases {
            assert_eq!(
                code_at(Algorithm::SHA1, 8, SHA1_SEED, t),
                sha1,
                "SHA1 at {t}"
            );
            assert_eq!(
                code_at(Algorithm::SHA256, 8, SHA256_SEED, t),
                sha256,
                "SHA256 at {t}"
            );
            assert_eq!(
                code_at(Algorithm::SHA512, 8, SHA512_SEED, t),
                sha512,
                "SHA512 at {t}"
            );
        }
    }

    #[test]
    fn rfc4226_hotp_values() {
        // HOTP(counter) is TOTP at time counter * 30 with 6 digits.
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                code_at(Algorithm::SHA1, 6, SHA1_SEED, counter as u64 * 30),
                *code
            );
        }
    }

    #[test]
    fn skew_of_one_step_is_accepted_two_is_not() {
        let now_ms = 1_795_521_600_000i64; // a multiple of 30 s
        let t = (now_ms / 1000) as u64 / STEP_SECS;
        let at = |step: u64| code_at(Algorithm::SHA1, 6, SHA1_SEED, step * STEP_SECS);
        assert_eq!(matching_step(SHA1_SEED, &at(t), now_ms), Some(t));
        assert_eq!(matching_step(SHA1_SEED, &at(t - 1), now_ms), Some(t - 1));
        assert_eq!(matching_step(SHA1_SEED, &at(t + 1), now_ms), Some(t + 1));
        assert_eq!(matching_step(SHA1_SEED, &at(t - 2), now_ms), None);
        assert_eq!(matching_step(SHA1_SEED, &at(t + 2), now_ms), None);
        let spaced = format!("{} {}", &at(t)[..3], &at(t)[3..]);
        assert_eq!(matching_step(SHA1_SEED, &spaced, now_ms), Some(t));
        assert_eq!(matching_step(SHA1_SEED, "12345", now_ms), None);
        assert_eq!(matching_step(SHA1_SEED, "abcdef", now_ms), None);
    }

    #[test]
    fn uri_and_qr() {
        let uri = otpauth_uri("Connect Auth", "ada@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Connect%20Auth:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Connect%20Auth&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_svg(&uri).is_some_and(|s| s.contains("<svg")));
        assert_eq!(base32(SHA1_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }

    #[test]
    fn recovery_codes_have_enough_entropy_and_hash_loosely() {
        let (codes, hashes) = new_recovery_codes(&crate::env::OsRandom);
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 29, "{c}");
            let symbols = c.chars().filter(|ch| *ch != '-').count();
            // ASVS 6.5.2: at least 112 bits when stored with a fast hash.
            assert!(symbols as f64 * 31f64.log2() >= 112.0, "{c}");
        }
        assert_eq!(
            recovery_hash(&codes[0].to_uppercase().replace('-', " ")),
            hashes[0]
        );
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }
}
