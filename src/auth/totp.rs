//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s) and recovery codes.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const STEP_SECONDS: u64 = 30;
pub const RECOVERY_CODES: usize = 10;

fn totp(secret_base32: &str, account: &str, issuer: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP_SECONDS)
        .with_skew(1)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .ok()
}

/// A fresh 160-bit secret, base32 without padding.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

/// Checks `code` at `unix_time` (± one step of clock skew). Returns the matched time step, which the
/// caller must store and refuse to accept again.
pub fn check(secret_base32: &str, code: &str, unix_time: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp(secret_base32, "x", "x")?.check(&code, unix_time)
}

/// The code for `unix_time` (tests and the demo printout).
pub fn code_at(secret_base32: &str, unix_time: u64) -> Option<String> {
    Some(totp(secret_base32, "x", "x")?.generate(unix_time).to_string())
}

/// The `otpauth://` URI and a PNG QR code of it as base64, for enrolment.
pub fn enrolment(secret_base32: &str, account: &str, issuer: &str) -> Option<(String, String)> {
    let t = totp(secret_base32, account, issuer)?;
    Some((t.to_url().ok()?, t.to_qr_base64().ok()?))
}

/// Ten recovery codes like `k7mq-x2pd-9hwt` (about 60 bits each), from an alphabet without
/// look-alike characters.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..12)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!(
                "{}-{}-{}",
                chars[0..4].iter().collect::<String>(),
                chars[4..8].iter().collect::<String>(),
                chars[8..12].iter().collect::<String>()
            )
        })
        .collect()
}

/// Normalises what a person typed (case, spaces, dashes) and hashes it for storage/lookup.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normalised.as_bytes()).to_vec()
}

/// Whether the input looks like a recovery code rather than a 6-digit TOTP code.
pub fn looks_like_recovery_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 12
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (base32 below), truncated to 6 digits.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        assert_eq!(code_at(RFC_SECRET, 59).unwrap(), "287082");
        assert_eq!(code_at(RFC_SECRET, 1111111109).unwrap(), "081804");
        assert_eq!(code_at(RFC_SECRET, 1234567890).unwrap(), "005924");
    }

    #[test]
    fn check_returns_the_step_and_tolerates_one_step_of_skew() {
        let t = 1_700_000_000u64;
        let code = code_at(RFC_SECRET, t).unwrap();
        assert_eq!(check(RFC_SECRET, &code, t), Some(t / 30));
        assert_eq!(check(RFC_SECRET, &code, t + 30), Some(t / 30));
        assert_eq!(check(RFC_SECRET, &code, t + 90), None);
        assert_eq!(check(RFC_SECRET, "12345", t), None);
        assert_eq!(check(RFC_SECRET, "abcdef", t), None);
        assert_eq!(
            check(RFC_SECRET, &format!("{} {}", &code[..3], &code[3..]), t),
            Some(t / 30)
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(looks_like_recovery_code(&codes[0]));
        assert!(!looks_like_recovery_code("123456"));
        assert_eq!(
            recovery_code_hash("ABCD-efgh-2345"),
            recovery_code_hash("abcd efgh 2345")
        );
    }

    #[test]
    fn enrolment_uri() {
        let secret = new_secret();
        let (uri, png) = enrolment(&secret, "mario@example.org", "Ordine Ingegneri").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&secret));
        assert!(!png.is_empty());
    }
}
